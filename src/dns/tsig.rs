//! TSIG (RFC 8945): sign and verify DNS messages with a shared HMAC key.
//!
//! Pure: the time is passed in, and messages are bytes. Only HMAC-SHA256 and
//! HMAC-SHA512 are offered (RFC 8945 §6 makes SHA256 mandatory; MD5 and SHA1
//! are deprecated), and MACs are never truncated.

use std::fmt;

use ring::hmac;

use super::wire::{Message, Name, class, rcode, rtype};
use crate::{Error, Result};

/// Allowed clock difference, in seconds, between us and the server: the value
/// RFC 8945 §10 recommends. A router that has not synced NTP yet is far
/// outside it, and gets BADTIME.
pub const FUDGE: u16 = 300;

/// A TSIG algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha512,
}

impl Algorithm {
    /// From the config spelling: `hmac-sha256` or `hmac-sha512`, with or
    /// without the trailing dot of the wire name, in any case.
    pub fn from_name(s: &str) -> Option<Algorithm> {
        match s
            .strip_suffix('.')
            .unwrap_or(s)
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "hmac-sha512" => Some(Algorithm::HmacSha512),
            _ => None,
        }
    }

    /// The name on the wire (RFC 8945 §6), without the trailing dot.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    fn wire_name(self) -> Name {
        // Both names are valid constants: parsing cannot fail.
        Name::parse(self.name()).unwrap_or_else(|_| Name::root())
    }
}

/// A TSIG key. `Debug` does not show the secret, so a key can be logged.
pub struct Key {
    name: Name,
    algorithm: Algorithm,
    key: hmac::Key,
}

impl Key {
    /// A key from its name, algorithm and base64 secret (as `tsig-keygen`,
    /// `keymgr` and `knsupdate -y` write it).
    pub fn new(name: &str, algorithm: Algorithm, secret_base64: &str) -> Result<Key> {
        let secret = base64_decode(secret_base64)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::Dns("the TSIG secret is not valid base64".into()))?;
        Ok(Key {
            name: Name::parse(name)?,
            algorithm,
            key: hmac::Key::new(algorithm.hmac(), &secret),
        })
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key({} {}, secret hidden)",
            self.name,
            self.algorithm.name()
        )
    }
}

/// The TSIG variables (RFC 8945 §4.3.3) that follow the message in the MAC input.
fn variables(key: &Key, time_signed: u64, fudge: u16, error: u16, other: &[u8]) -> Vec<u8> {
    let mut v = key.name.canonical();
    v.extend_from_slice(&class::ANY.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes()); // TTL
    v.extend_from_slice(&key.algorithm.wire_name().canonical());
    super::wire::put_u48(&mut v, time_signed);
    v.extend_from_slice(&fudge.to_be_bytes());
    v.extend_from_slice(&error.to_be_bytes());
    v.extend_from_slice(&u16::try_from(other.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(other);
    v
}

/// A signed request: the bytes to send, and its MAC, which the response's MAC covers.
pub struct Signed {
    pub bytes: Vec<u8>,
    pub mac: Vec<u8>,
}

/// Sign an encoded message at time `now` (seconds since the epoch): append the
/// TSIG record and count it in ARCOUNT (RFC 8945 §4.3).
pub fn sign(key: &Key, msg: &[u8], now: u64) -> Result<Signed> {
    let arcount = match msg.get(10..12) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]),
        None => return Err(Error::Dns("cannot sign a message without a header".into())),
    };
    let arcount = arcount
        .checked_add(1)
        .ok_or_else(|| Error::Dns("too many records".into()))?;
    let mut ctx = hmac::Context::with_key(&key.key);
    ctx.update(msg);
    ctx.update(&variables(key, now, FUDGE, 0, &[]));
    let mac = ctx.sign().as_ref().to_vec();

    let mut bytes = msg.to_vec();
    bytes[10..12].copy_from_slice(&arcount.to_be_bytes());
    bytes.extend_from_slice(&key.name.canonical());
    bytes.extend_from_slice(&rtype::TSIG.to_be_bytes());
    bytes.extend_from_slice(&class::ANY.to_be_bytes());
    bytes.extend_from_slice(&0u32.to_be_bytes());
    let mut rdata = key.algorithm.wire_name().canonical();
    super::wire::put_u48(&mut rdata, now);
    rdata.extend_from_slice(&FUDGE.to_be_bytes());
    rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
    rdata.extend_from_slice(&mac);
    rdata.extend_from_slice(&msg[0..2]); // original ID
    rdata.extend_from_slice(&0u16.to_be_bytes()); // error
    rdata.extend_from_slice(&0u16.to_be_bytes()); // other len
    bytes.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&rdata);
    Ok(Signed { bytes, mac })
}

/// Why a response's TSIG was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The response carries no TSIG record.
    Unsigned,
    /// The server rejected our signature: BADSIG, BADKEY, BADTIME...
    Server(u16),
    /// Signed with another key or algorithm than ours.
    OtherKey,
    /// The MAC does not match.
    BadMac,
    /// Signed too far from `now`.
    BadTime { signed: u64, now: u64 },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Unsigned => f.write_str("the response is not TSIG-signed"),
            Failure::Server(code) => {
                write!(f, "the server answered TSIG error {}", rcode::name(*code))
            }
            Failure::OtherKey => f.write_str("the response is signed with another key"),
            Failure::BadMac => f.write_str("the response's TSIG signature does not verify"),
            Failure::BadTime { signed, now } => {
                write!(
                    f,
                    "the response was signed at {signed}, our clock says {now}"
                )
            }
        }
    }
}

/// Verify the TSIG of `response` (its bytes, and `msg` decoded from them),
/// the answer to a request whose MAC was `request_mac` (RFC 8945 §5.3).
pub fn verify(
    key: &Key,
    request_mac: &[u8],
    response: &[u8],
    msg: &Message,
    now: u64,
) -> Result<(), Failure> {
    let sig = msg.signature.as_ref().ok_or(Failure::Unsigned)?;
    let t = &sig.tsig;
    // An unsigned error (BADKEY, BADSIG) comes with an empty MAC; report it
    // as what the server said rather than as a bad signature.
    if t.error != 0 {
        return Err(Failure::Server(t.error));
    }
    if sig.key != key.name || t.algorithm != key.algorithm.wire_name() {
        return Err(Failure::OtherKey);
    }
    // `offset` came from decoding `response`, so it is in bounds; `get`
    // keeps that from being a panic if a caller mixes messages up.
    let unsigned = response
        .get(..sig.offset)
        .filter(|b| b.len() >= 12)
        .ok_or(Failure::BadMac)?;
    let arcount = u16::from_be_bytes([unsigned[10], unsigned[11]]).wrapping_sub(1);
    let mut ctx = hmac::Context::with_key(&key.key);
    ctx.update(&(request_mac.len() as u16).to_be_bytes());
    ctx.update(request_mac);
    // The MAC was computed with the original ID and before the TSIG record
    // was counted (RFC 8945 §4.3.1).
    ctx.update(&t.original_id.to_be_bytes());
    ctx.update(&unsigned[2..10]);
    ctx.update(&arcount.to_be_bytes());
    ctx.update(&unsigned[12..]);
    ctx.update(&variables(key, t.time_signed, t.fudge, t.error, &t.other));
    let expected = ctx.sign();
    // Truncated MACs (RFC 8945 §5.2.2.1) are not accepted: the lengths must match.
    if !constant_time_eq(expected.as_ref(), &t.mac) {
        return Err(Failure::BadMac);
    }
    if now.abs_diff(t.time_signed) > u64::from(t.fudge) {
        return Err(Failure::BadTime {
            signed: t.time_signed,
            now,
        });
    }
    Ok(())
}

/// Compare without an early exit, so the time taken does not tell how much of
/// a forged MAC was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Standard base64 (RFC 4648 §4), padding optional, whitespace ignored: the
/// form TSIG secrets are written in.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let body = s.trim_end_matches(|c: char| c == '=' || c.is_ascii_whitespace());
    for c in body.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // A single leftover character (6 bits) cannot encode a byte.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::{self, RData, Update};

    const SECRET: &str = "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IDMyYg==";

    fn key() -> Key {
        Key::new("wancert-key.", Algorithm::HmacSha256, SECRET).unwrap()
    }

    fn update() -> Vec<u8> {
        let zone = Name::parse("wancert.test").unwrap();
        let at = Name::parse("_acme-challenge.wancert.test").unwrap();
        Update::new(0x4242, &zone)
            .add(&at, rtype::TXT, 60, RData::txt("hello"))
            .build()
            .encode()
            .unwrap()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode(" aGVs\nbG8= ").unwrap(), b"hello");
        assert_eq!(base64_decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("aGV*").is_none());
        assert!(Key::new("k", Algorithm::HmacSha256, "!!").is_err());
        assert!(Key::new("k", Algorithm::HmacSha256, "").is_err());
    }

    #[test]
    fn algorithms_by_name() {
        assert_eq!(
            Algorithm::from_name("hmac-sha256"),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(
            Algorithm::from_name("HMAC-SHA512."),
            Some(Algorithm::HmacSha512)
        );
        assert_eq!(Algorithm::from_name("hmac-md5"), None);
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = format!("{:?}", key());
        assert!(s.contains("wancert-key") && !s.contains(SECRET), "{s}");
    }

    /// A recorded signature. Its MAC was checked independently with Python's
    /// `hmac` over the RFC 8945 §4.3.3 input, and the same code is accepted by
    /// Knot and BIND in `tests/dns.rs`.
    #[test]
    fn signs_a_fixed_vector() {
        let signed = sign(&key(), &update(), 1_700_000_000).unwrap();
        assert_eq!(
            hex(&signed.mac),
            "62ce230491570f7e7f9f75f7606c016a311d78c3a5466d6f272ab1274d85a6bd"
        );
        let m = Message::decode(&signed.bytes).unwrap();
        let sig = m.signature.unwrap();
        assert_eq!(sig.key, Name::parse("wancert-key").unwrap());
        assert_eq!(sig.tsig.time_signed, 1_700_000_000);
        assert_eq!(sig.tsig.original_id, 0x4242);
        assert_eq!(sig.tsig.mac, signed.mac);
        assert_eq!(sig.offset, update().len());
    }

    /// Build a response the way a server does: over the request MAC.
    fn respond(key: &Key, request_mac: &[u8], id: u16, time: u64, error: u16) -> Vec<u8> {
        let mut resp = Message {
            id,
            flags: wire::flag::QR | (wire::opcode::UPDATE << 11),
            ..Message::default()
        };
        resp.questions.push(wire::Question {
            name: Name::parse("wancert.test").unwrap(),
            qtype: rtype::SOA,
            qclass: class::IN,
        });
        let body = resp.encode().unwrap();
        let mut ctx = hmac::Context::with_key(&key.key);
        ctx.update(&(request_mac.len() as u16).to_be_bytes());
        ctx.update(request_mac);
        ctx.update(&body);
        ctx.update(&variables(key, time, FUDGE, error, &[]));
        let mac = ctx.sign().as_ref().to_vec();
        resp.additional.push(wire::Record {
            name: key.name.clone(),
            rtype: rtype::TSIG,
            class: class::ANY,
            ttl: 0,
            data: RData::Tsig(wire::Tsig {
                algorithm: key.algorithm.wire_name(),
                time_signed: time,
                fudge: FUDGE,
                mac: if error == 0 { mac } else { Vec::new() },
                original_id: id,
                error,
                other: Vec::new(),
            }),
        });
        resp.encode().unwrap()
    }

    #[test]
    fn verifies_a_response_over_the_request_mac() {
        let k = key();
        let req = sign(&k, &update(), 1_700_000_000).unwrap();
        let resp = respond(&k, &req.mac, 0x4242, 1_700_000_001, 0);
        let m = Message::decode(&resp).unwrap();
        assert_eq!(verify(&k, &req.mac, &resp, &m, 1_700_000_002), Ok(()));

        // Another request's MAC, a flipped byte, a skewed clock, another key.
        let other = sign(&k, &update(), 1_700_000_005).unwrap();
        assert_eq!(
            verify(&k, &other.mac, &resp, &m, 1_700_000_002),
            Err(Failure::BadMac)
        );
        let mut bad = resp.clone();
        bad[3] ^= 1;
        let bm = Message::decode(&bad).unwrap();
        assert_eq!(
            verify(&k, &req.mac, &bad, &bm, 1_700_000_002),
            Err(Failure::BadMac)
        );
        assert!(matches!(
            verify(&k, &req.mac, &resp, &m, 1_700_001_000),
            Err(Failure::BadTime { .. })
        ));
        let k2 = Key::new("other-key", Algorithm::HmacSha256, SECRET).unwrap();
        assert_eq!(
            verify(&k2, &req.mac, &resp, &m, 1_700_000_002),
            Err(Failure::OtherKey)
        );
    }

    #[test]
    fn hmac_sha512_signs_and_verifies_with_full_length_macs() {
        let k = Key::new("wancert-key.", Algorithm::HmacSha512, SECRET).unwrap();
        let req = sign(&k, &update(), 1_700_000_000).unwrap();
        assert_eq!(req.mac.len(), 64);
        let m = Message::decode(&req.bytes).unwrap();
        assert_eq!(
            m.signature.unwrap().tsig.algorithm,
            Name::parse("hmac-sha512").unwrap()
        );
        let resp = respond(&k, &req.mac, 0x4242, 1_700_000_001, 0);
        let rm = Message::decode(&resp).unwrap();
        assert_eq!(verify(&k, &req.mac, &resp, &rm, 1_700_000_001), Ok(()));
        // The same secret under the other algorithm is another key.
        assert_eq!(
            verify(&key(), &req.mac, &resp, &rm, 1_700_000_001),
            Err(Failure::OtherKey)
        );
    }

    #[test]
    fn reports_server_tsig_errors_and_unsigned_answers() {
        let k = key();
        let req = sign(&k, &update(), 1_700_000_000).unwrap();
        let resp = respond(&k, &req.mac, 0x4242, 1_700_000_001, rcode::BADSIG);
        let m = Message::decode(&resp).unwrap();
        assert_eq!(
            verify(&k, &req.mac, &resp, &m, 1_700_000_002),
            Err(Failure::Server(rcode::BADSIG))
        );
        let plain = Message::default().encode().unwrap();
        let pm = Message::decode(&plain).unwrap();
        assert_eq!(verify(&k, &req.mac, &plain, &pm, 0), Err(Failure::Unsigned));
    }
}
