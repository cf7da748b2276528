//! PEM (RFC 7468): encode DER blocks and read them back.

use crate::b64;

/// One `-----BEGIN LABEL-----` block as text, lines wrapped at 64.
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = b64::std(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every block with the given label, decoded, in order. Text outside blocks
/// (comments in CA bundles) is ignored; a block that does not decode is
/// skipped.
pub fn decode_all(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        if let Some(der) = b64::decode(&after[..stop]) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// The first certificate of a chain (the leaf), decoded.
pub fn leaf(chain: &str) -> Option<Vec<u8>> {
    decode_all(chain, "CERTIFICATE").into_iter().next()
}

/// The label of the first block (`CERTIFICATE`, `PRIVATE KEY`, ...).
pub fn first_label(text: &str) -> Option<&str> {
    let start = text.find("-----BEGIN ")? + 11;
    let len = text[start..].find("-----")?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bundle() {
        let a = encode("CERTIFICATE", &[1u8; 100]);
        let b = encode("CERTIFICATE", &[2u8; 3]);
        assert!(a.lines().all(|l| l.len() <= 64));
        let bundle = format!("# comment\n{a}junk\n{b}");
        assert_eq!(
            decode_all(&bundle, "CERTIFICATE"),
            vec![vec![1u8; 100], vec![2u8; 3]]
        );
        assert!(decode_all(&bundle, "PRIVATE KEY").is_empty());
        assert_eq!(first_label(&bundle), Some("CERTIFICATE"));
    }
}
