//! dns-persist-01 (draft-ietf-acme-dns-persist): the one standing TXT record
//! at `_validation-persist.<domain>` that names the CA and the account, so
//! that issuance needs no DNS change at all. Pure.

use crate::{Error, Result};

/// The label the record lives under (draft-ietf-acme-dns-persist §4).
pub const LABEL: &str = "_validation-persist";

/// Where the record for `domain` lives: a wildcard name shares its base
/// name's record (which then carries `policy=wildcard`).
pub fn record_name(domain: &str) -> String {
    format!("{LABEL}.{}", domain.trim_start_matches("*."))
}

/// The record's value (draft-ietf-acme-dns-persist §4, the RFC 8659
/// issue-value syntax): `issuer; accounturi=URI`, with `; policy=wildcard`
/// when the certificate has a wildcard name under this domain.
pub fn record_value(issuer: &str, account_uri: &str, wildcard: bool) -> String {
    let mut v = format!("{issuer}; accounturi={account_uri}");
    if wildcard {
        v.push_str("; policy=wildcard");
    }
    v
}

/// The records a certificate for `domains` needs: (name, value) pairs, one
/// per base name, in the order of `domains`.
pub fn records(domains: &[String], issuer: &str, account_uri: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for d in domains {
        let name = record_name(d);
        let wildcard = d.starts_with("*.");
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, w)) => *w |= wildcard,
            None => out.push((name, wildcard)),
        }
    }
    out.into_iter()
        .map(|(name, w)| (name, record_value(issuer, account_uri, w)))
        .collect()
}

/// The issuer domain name to put in the record: the first of the CA's
/// names (from a challenge's `issuer-domain-names` or the directory's
/// `caaIdentities`), checked as §3.1 requires of clients: one to ten names.
pub fn issuer(names: &[String], ca: &str) -> Result<String> {
    match names {
        [] => Err(Error::other(format!(
            "the CA at {ca} names no issuer domain for dns-persist-01 (no caaIdentities in its directory): it cannot be used with option challenge 'dns-persist-01'"
        ))),
        n if n.len() > 10 => Err(Error::other(format!(
            "the CA at {ca} sent {} issuer domain names for dns-persist-01, more than the 10 allowed: the challenge is malformed",
            n.len()
        ))),
        [first, ..] => Ok(first.trim_end_matches('.').to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // draft-ietf-acme-dns-persist §4, "Basic Validation TXT Record".
    #[test]
    fn draft_example_record() {
        assert_eq!(
            record_name("example.com"),
            "_validation-persist.example.com"
        );
        assert_eq!(
            record_value("authority.example", "https://ca.example/acct/123", false),
            "authority.example; accounturi=https://ca.example/acct/123"
        );
    }

    #[test]
    fn one_record_per_base_name_wildcard_sets_the_policy() {
        let domains: Vec<String> = ["nas.example.com", "*.nas.example.com", "b.example.com"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            records(&domains, "ca.example", "https://ca.example/acct/9"),
            [
                (
                    "_validation-persist.nas.example.com".to_string(),
                    "ca.example; accounturi=https://ca.example/acct/9; policy=wildcard".to_string()
                ),
                (
                    "_validation-persist.b.example.com".to_string(),
                    "ca.example; accounturi=https://ca.example/acct/9".to_string()
                ),
            ]
        );
    }

    #[test]
    fn issuer_names_are_checked() {
        let names = |n: usize| {
            (0..n)
                .map(|i| format!("CA{i}.example."))
                .collect::<Vec<_>>()
        };
        assert_eq!(issuer(&names(1), "x").unwrap(), "ca0.example");
        assert_eq!(issuer(&names(10), "x").unwrap(), "ca0.example");
        assert!(
            issuer(&names(11), "x")
                .unwrap_err()
                .to_string()
                .contains("11")
        );
        assert!(
            issuer(&[], "https://ca/dir")
                .unwrap_err()
                .to_string()
                .contains("https://ca/dir")
        );
    }
}
