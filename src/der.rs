//! A minimal DER reader for the X.509 fields wancert needs: validity, serial,
//! public key, authority key identifier and DNS names. Pure and bounds-checked:
//! malformed input gives `None`, never a panic. And the writer of the one
//! structure wancert sends: the PKCS#10 certificate request (RFC 2986), which
//! is a few fixed TLVs, far smaller than a general X.509 builder.

/// One TLV: tag, contents, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// Read a TLV that must carry `want` as its tag.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, body, rest) = tlv(input)?;
    (tag == want).then_some((body, rest))
}

/// The whole TLV (header included) at the start of `input`, and the rest.
fn raw(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = tlv(input)?;
    Some((&input[..input.len() - rest.len()], rest))
}

const SEQUENCE: u8 = 0x30;
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// What wancert reads from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Serial number, as encoded (big-endian, two's complement).
    pub serial: Vec<u8>,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// The whole SubjectPublicKeyInfo, to compare with a private key's.
    pub spki: Vec<u8>,
    /// Authority Key Identifier `keyIdentifier`, if present.
    pub aki: Option<Vec<u8>>,
    /// dNSName entries of the Subject Alternative Name extension.
    pub dns_names: Vec<String>,
}

/// Parse an X.509 certificate (DER).
pub fn parse_cert(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2; // [0] version
    }
    let (serial, rest) = expect(rest, 0x02)?;
    let (_, rest) = expect(rest, SEQUENCE)?; // signature algorithm
    let (_, rest) = expect(rest, SEQUENCE)?; // issuer
    let (validity, rest) = expect(rest, SEQUENCE)?;
    let (not_before, v) = time(validity)?;
    let (not_after, _) = time(v)?;
    let (_, rest) = expect(rest, SEQUENCE)?; // subject
    let (spki, mut rest) = raw(rest)?;
    let mut info = CertInfo {
        serial: serial.to_vec(),
        not_before,
        not_after,
        spki: spki.to_vec(),
        aki: None,
        dns_names: Vec::new(),
    };
    while let Some((tag, body, next)) = tlv(rest) {
        if tag == 0xa3 {
            extensions(body, &mut info)?;
        }
        rest = next;
    }
    Some(info)
}

fn extensions(explicit: &[u8], info: &mut CertInfo) -> Option<()> {
    let (mut list, _) = expect(explicit, SEQUENCE)?;
    while !list.is_empty() {
        let (ext, next) = expect(list, SEQUENCE)?;
        list = next;
        let (oid, mut body) = expect(ext, 0x06)?;
        if body.first() == Some(&0x01) {
            body = tlv(body)?.2; // critical
        }
        let (value, _) = expect(body, 0x04)?;
        if oid == OID_AKI {
            let (mut seq, _) = expect(value, SEQUENCE)?;
            while let Some((tag, v, next)) = tlv(seq) {
                if tag == 0x80 {
                    info.aki = Some(v.to_vec());
                }
                seq = next;
            }
        } else if oid == OID_SAN {
            let (mut seq, _) = expect(value, SEQUENCE)?;
            while let Some((tag, v, next)) = tlv(seq) {
                if tag == 0x82 {
                    info.dns_names.push(String::from_utf8_lossy(v).into_owned());
                }
                seq = next;
            }
        }
    }
    Some(())
}

/// UTCTime (tag 0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18,
/// `YYYYMMDDHHMMSSZ`), as Unix seconds.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, body, rest) = tlv(input)?;
    let digits = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, tail) = match (tag, body.len()) {
        (0x17, 13) => {
            let yy = digits(&body[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &body[2..])
        }
        (0x18, 15) => (digits(&body[..4])?, &body[4..]),
        _ => return None,
    };
    if tail[10] != b'Z' {
        return None;
    }
    let f = |i: usize| digits(&tail[i..i + 2]);
    let (month, day, h, m, s) = (f(0)?, f(2)?, f(4)?, f(6)?, f(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((
        days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s,
        rest,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339), for status output.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Inverse of days_from_civil.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parse an RFC 3339 timestamp as ACME servers send them (fractional seconds
/// and offsets accepted) into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let secs = days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?) * 86400
        + n(11..13)? * 3600
        + n(14..16)? * 60
        + n(17..19)?;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => Some(secs),
        // Matched byte by byte, not sliced: the text comes from the CA, and
        // a slice inside a multi-byte character would panic (found by
        // fuzzing, see `fuzz_regressions`).
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let digit = |c: &u8| i64::from(c - b'0');
            let off = (digit(h1) * 10 + digit(h2)) * 3600 + (digit(m1) * 10 + digit(m2)) * 60;
            Some(if *sign == b'+' {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

/// A TLV: `tag`, the DER length of `parts` together, then `parts`.
pub fn tlv_of(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// `AlgorithmIdentifier` of ecdsa-with-SHA256 (RFC 5758 §3.2; no parameters).
pub const ALG_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// `AlgorithmIdentifier` of ecdsa-with-SHA384 (RFC 5758 §3.2).
pub const ALG_ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
/// `AlgorithmIdentifier` of sha256WithRSAEncryption (RFC 4055 §5; NULL parameters).
pub const ALG_RSA_SHA256: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
/// The `algorithm` of an EC SubjectPublicKeyInfo: id-ecPublicKey and the
/// named curve (RFC 5480 §2.1.1), P-256 or P-384.
pub const SPKI_ALG_P256: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];
pub const SPKI_ALG_P384: &[u8] = &[
    0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
    0x00, 0x22,
];
/// rsaEncryption with NULL parameters (RFC 3279 §2.3.1).
pub const SPKI_ALG_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// A BIT STRING with no unused bits: how keys and signatures are wrapped.
fn bit_string(bytes: &[u8]) -> Vec<u8> {
    tlv_of(0x03, &[&[0], bytes])
}

/// SubjectPublicKeyInfo: the key's `algorithm` (one of the `SPKI_ALG_*`)
/// and its public key (an EC point, or an RSAPublicKey).
pub fn spki(algorithm: &[u8], public_key: &[u8]) -> Vec<u8> {
    tlv_of(SEQUENCE, &[algorithm, &bit_string(public_key)])
}

/// The to-be-signed part of a certificate request (RFC 2986 §4.1): subject
/// CN = the first name, the key, and an extensionRequest attribute (RFC 2985
/// §5.4.2) with the subjectAltName of every name (RFC 5280 §4.2.1.6). The
/// names are ASCII DNS names (the config checks them), so they fit the
/// UTF8String of the CN and the IA5String of a dNSName as they are.
pub fn csr_info(names: &[String], spki: &[u8]) -> Vec<u8> {
    const VERSION_0: &[u8] = &[0x02, 0x01, 0x00];
    const OID_CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    const OID_EXTENSION_REQUEST: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e,
    ];
    let subject = match names.first() {
        Some(cn) => {
            let atv = tlv_of(SEQUENCE, &[OID_CN, &tlv_of(0x0c, &[cn.as_bytes()])]);
            tlv_of(SEQUENCE, &[&tlv_of(0x31, &[&atv])])
        }
        None => tlv_of(SEQUENCE, &[]),
    };
    let dns_names: Vec<Vec<u8>> = names
        .iter()
        .map(|n| tlv_of(0x82, &[n.as_bytes()]))
        .collect();
    let dns_names: Vec<&[u8]> = dns_names.iter().map(Vec::as_slice).collect();
    let san = tlv_of(SEQUENCE, &dns_names);
    let extension = tlv_of(
        SEQUENCE,
        &[&tlv_of(0x06, &[OID_SAN]), &tlv_of(0x04, &[&san])],
    );
    let extensions = tlv_of(SEQUENCE, &[&extension]);
    let attribute = tlv_of(
        SEQUENCE,
        &[OID_EXTENSION_REQUEST, &tlv_of(0x31, &[&extensions])],
    );
    tlv_of(
        SEQUENCE,
        &[VERSION_0, &subject, spki, &tlv_of(0xa0, &[&attribute])],
    )
}

/// The certificate request: `info` from [`csr_info`], the signature
/// `algorithm` (one of the `ALG_*`) and the signature over `info`.
pub fn csr(info: &[u8], algorithm: &[u8], signature: &[u8]) -> Vec<u8> {
    tlv_of(SEQUENCE, &[info, algorithm, &bit_string(signature)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(rfc3339(951782400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4102444799), "2099-12-31T23:59:59Z");
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951782400));
        assert_eq!(parse_rfc3339("2016-01-20T14:09:07.99Z"), Some(1453298947));
        assert_eq!(parse_rfc3339("2016-01-20T16:09:07+02:00"), Some(1453298947));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    /// Inputs the fuzz targets (fuzz/fuzz_targets/pem_der.rs) crashed on.
    #[test]
    fn fuzz_regressions() {
        // An offset with a multi-byte character where its hour digits are.
        let crash = b"2016-01-20T16:09:07.9-6\xd1\xaa\x1ep";
        assert_eq!(parse_rfc3339(std::str::from_utf8(crash).unwrap()), None);
        assert_eq!(parse_rfc3339("2016-01-20T16:09:07+0\u{e9}00"), None);
        assert_eq!(parse_rfc3339("2016-01-20T16:09:07+02:0x"), None);
    }

    #[test]
    fn reads_a_certificate_made_by_rcgen() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["a.example".into(), "*.a.example".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 2);
        params.not_after = rcgen::date_time_ymd(2051, 3, 4);
        params.serial_number = Some(rcgen::SerialNumber::from(vec![0x01, 0x02, 0x03]));
        params.use_authority_key_identifier_extension = true;
        let issuer_key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::new(
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap(),
            &issuer_key,
        );
        let cert = params.signed_by(&key, &issuer).unwrap();
        let info = parse_cert(cert.der()).unwrap();
        assert_eq!(info.serial, [1, 2, 3]);
        assert_eq!(rfc3339(info.not_before), "2026-01-02T00:00:00Z");
        assert_eq!(rfc3339(info.not_after), "2051-03-04T00:00:00Z");
        assert_eq!(
            info.spki,
            rcgen::PublicKeyData::subject_public_key_info(&key)
        );
        assert!(info.aki.is_some());
        assert_eq!(info.dns_names, ["a.example", "*.a.example"]);
    }

    #[test]
    fn malformed_input_is_none() {
        assert!(parse_cert(&[]).is_none());
        assert!(parse_cert(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse_cert(&[0x30, 0x03, 0x30, 0x01]).is_none());
    }
}
