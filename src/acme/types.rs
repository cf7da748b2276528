//! One type per RFC 8555 object, each read from JSON by hand
//! (`from_json`, through `crate::json`; that module says why not serde's
//! derive).

use std::fmt;

use serde_json::Value;

use crate::json::{flag, items, need_str, str, str_or_empty, strings};

/// RFC 8555 §7.1.1.
#[derive(Debug, Clone)]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    pub revoke_cert: Option<String>,
    pub key_change: Option<String>,
    pub renewal_info: Option<String>,
    pub meta: Option<DirectoryMeta>,
}

/// RFC 8555 §7.1.1, `meta`.
#[derive(Debug, Clone, Default)]
pub struct DirectoryMeta {
    pub terms_of_service: Option<String>,
    pub external_account_required: bool,
    /// RFC 8555 §7.1.1 `caaIdentities`: the CA's issuer domain names, which
    /// dns-persist-01 records name (draft-ietf-acme-dns-persist §3).
    pub caa_identities: Vec<String>,
    /// draft-ietf-acme-profiles §3: profile name → description.
    pub profiles: std::collections::BTreeMap<String, String>,
}

/// RFC 8555 §7.1.2.
#[derive(Debug, Clone)]
pub struct Account {
    pub status: String,
    pub contact: Vec<String>,
}

/// RFC 9773 §4.2: the renewal information of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalInfo {
    pub suggested_window: SuggestedWindow,
    pub explanation_url: Option<String>,
}

/// RFC 9773 §4.2 `suggestedWindow`, RFC 3339 timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestedWindow {
    pub start: String,
    pub end: String,
}

/// RFC 8555 §7.1.3.
#[derive(Debug, Clone)]
pub struct Order {
    pub status: OrderStatus,
    pub expires: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub authorizations: Vec<String>,
    pub finalize: String,
    pub certificate: Option<String>,
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
}

/// RFC 8555 §9.7.7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: String,
    pub value: String,
}

/// RFC 8555 §7.1.4.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub identifier: Identifier,
    pub status: AuthzStatus,
    pub challenges: Vec<Challenge>,
    pub wildcard: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthzStatus {
    Pending,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
}

/// RFC 8555 §8. Challenge types we do not use are kept and ignored.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub kind: String,
    pub url: String,
    pub status: ChallengeStatus,
    pub token: Option<String>,
    /// dns-persist-01 (draft-ietf-acme-dns-persist §3.1): the names the
    /// standing record may name as its issuer.
    pub issuer_domain_names: Vec<String>,
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeStatus {
    Pending,
    Processing,
    Valid,
    Invalid,
}

/// RFC 7807 problem document, RFC 8555 §6.7 (with subproblems, §6.7.1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problem {
    pub kind: String,
    pub detail: String,
    pub subproblems: Vec<Subproblem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subproblem {
    pub kind: String,
    pub detail: String,
    pub identifier: Option<Identifier>,
}

impl Problem {
    /// The short name: `badNonce` for `urn:ietf:params:acme:error:badNonce`.
    pub fn short(&self) -> &str {
        self.kind
            .strip_prefix("urn:ietf:params:acme:error:")
            .unwrap_or(&self.kind)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.short(), self.detail)?;
        for s in &self.subproblems {
            let short = s
                .kind
                .strip_prefix("urn:ietf:params:acme:error:")
                .unwrap_or(&s.kind);
            match &s.identifier {
                Some(id) => write!(f, "; {} ({}): {}", id.value, short, s.detail)?,
                None => write!(f, "; {short}: {}", s.detail)?,
            }
        }
        Ok(())
    }
}

/// A reader's result; the error names the missing or unknown field.
pub type Parsed<T> = std::result::Result<T, String>;

impl Directory {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        Ok(Directory {
            new_nonce: need_str(v, "newNonce")?,
            new_account: need_str(v, "newAccount")?,
            new_order: need_str(v, "newOrder")?,
            revoke_cert: str(v, "revokeCert"),
            key_change: str(v, "keyChange"),
            renewal_info: str(v, "renewalInfo"),
            meta: v.get("meta").map(|m| DirectoryMeta {
                terms_of_service: str(m, "termsOfService"),
                external_account_required: flag(m, "externalAccountRequired"),
                caa_identities: strings(m, "caaIdentities"),
                profiles: m
                    .get("profiles")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, d)| Some((k.clone(), d.as_str()?.to_string())))
                    .collect(),
            }),
        })
    }
}

impl Account {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        Ok(Account {
            status: need_str(v, "status")?,
            contact: strings(v, "contact"),
        })
    }
}

impl RenewalInfo {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        let w = v
            .get("suggestedWindow")
            .ok_or("missing field `suggestedWindow`")?;
        Ok(RenewalInfo {
            suggested_window: SuggestedWindow {
                start: need_str(w, "start")?,
                end: need_str(w, "end")?,
            },
            explanation_url: str(v, "explanationURL"),
        })
    }
}

/// The `status` field, one of `names` (lowercase), as its index there.
fn status(v: &Value, names: &[&str]) -> Parsed<usize> {
    let s = need_str(v, "status")?;
    names
        .iter()
        .position(|n| *n == s)
        .ok_or_else(|| format!("unknown status `{s}`"))
}

impl Order {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        use OrderStatus::*;
        let names = ["pending", "ready", "processing", "valid", "invalid"];
        Ok(Order {
            status: [Pending, Ready, Processing, Valid, Invalid][status(v, &names)?],
            expires: str(v, "expires"),
            identifiers: items(v, "identifiers")
                .iter()
                .map(Identifier::from_json)
                .collect::<Parsed<_>>()?,
            authorizations: strings(v, "authorizations"),
            finalize: need_str(v, "finalize")?,
            certificate: str(v, "certificate"),
            error: v
                .get("error")
                .filter(|e| e.is_object())
                .map(Problem::from_json),
        })
    }
}

impl Identifier {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        Ok(Identifier {
            kind: need_str(v, "type")?,
            value: need_str(v, "value")?,
        })
    }
}

impl Authorization {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        use AuthzStatus::*;
        let names = [
            "pending",
            "valid",
            "invalid",
            "deactivated",
            "expired",
            "revoked",
        ];
        Ok(Authorization {
            identifier: Identifier::from_json(v.get("identifier").unwrap_or(&Value::Null))?,
            status: [Pending, Valid, Invalid, Deactivated, Expired, Revoked][status(v, &names)?],
            challenges: items(v, "challenges")
                .iter()
                .map(Challenge::from_json)
                .collect::<Parsed<_>>()?,
            wildcard: flag(v, "wildcard"),
        })
    }
}

impl Challenge {
    pub fn from_json(v: &Value) -> Parsed<Self> {
        use ChallengeStatus::*;
        let names = ["pending", "processing", "valid", "invalid"];
        Ok(Challenge {
            kind: need_str(v, "type")?,
            url: need_str(v, "url")?,
            status: [Pending, Processing, Valid, Invalid][status(v, &names)?],
            token: str(v, "token"),
            issuer_domain_names: strings(v, "issuer-domain-names"),
            error: v
                .get("error")
                .filter(|e| e.is_object())
                .map(Problem::from_json),
        })
    }
}

impl Problem {
    /// Any JSON reads as a problem document: its fields are all optional.
    pub fn from_json(v: &Value) -> Self {
        Problem {
            kind: str_or_empty(v, "type"),
            detail: str_or_empty(v, "detail"),
            subproblems: items(v, "subproblems")
                .iter()
                .map(|s| Subproblem {
                    kind: str_or_empty(s, "type"),
                    detail: str_or_empty(s, "detail"),
                    identifier: s
                        .get("identifier")
                        .and_then(|i| Identifier::from_json(i).ok()),
                })
                .collect(),
        }
    }
}
