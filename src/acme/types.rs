//! One serde type per RFC 8555 object.

use std::fmt;

use serde::{Deserialize, Serialize};

/// RFC 8555 §7.1.1.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    pub new_nonce: String,
    pub new_account: String,
    pub new_order: String,
    #[serde(default)]
    pub revoke_cert: Option<String>,
    #[serde(default)]
    pub key_change: Option<String>,
    #[serde(default)]
    pub renewal_info: Option<String>,
    #[serde(default)]
    pub meta: Option<DirectoryMeta>,
}

/// RFC 8555 §7.1.1, `meta`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    #[serde(default)]
    pub terms_of_service: Option<String>,
    #[serde(default)]
    pub external_account_required: bool,
    /// RFC 8555 §7.1.1 `caaIdentities`: the CA's issuer domain names, which
    /// dns-persist-01 records name (draft-ietf-acme-dns-persist §3).
    #[serde(default)]
    pub caa_identities: Vec<String>,
    /// draft-ietf-acme-profiles §3: profile name → description.
    #[serde(default)]
    pub profiles: std::collections::BTreeMap<String, String>,
}

/// RFC 8555 §7.1.2.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub status: String,
    #[serde(default)]
    pub contact: Vec<String>,
}

/// RFC 9773 §4.2: the renewal information of one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalInfo {
    pub suggested_window: SuggestedWindow,
    #[serde(default, rename = "explanationURL")]
    pub explanation_url: Option<String>,
}

/// RFC 9773 §4.2 `suggestedWindow`, RFC 3339 timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuggestedWindow {
    pub start: String,
    pub end: String,
}

/// RFC 8555 §7.1.3.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub status: OrderStatus,
    #[serde(default)]
    pub expires: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub authorizations: Vec<String>,
    pub finalize: String,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Ready,
    Processing,
    Valid,
    Invalid,
}

/// RFC 8555 §9.7.7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl Identifier {
    pub fn dns(name: &str) -> Self {
        Identifier {
            kind: "dns".into(),
            value: name.into(),
        }
    }
}

/// RFC 8555 §7.1.4.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    pub identifier: Identifier,
    pub status: AuthzStatus,
    #[serde(default)]
    pub challenges: Vec<Challenge>,
    #[serde(default)]
    pub wildcard: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthzStatus {
    Pending,
    Valid,
    Invalid,
    Deactivated,
    Expired,
    Revoked,
}

/// RFC 8555 §8. Challenge types we do not use are kept and ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Challenge {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub status: ChallengeStatus,
    #[serde(default)]
    pub token: Option<String>,
    /// dns-persist-01 (draft-ietf-acme-dns-persist §3.1): the names the
    /// standing record may name as its issuer.
    #[serde(default, rename = "issuer-domain-names")]
    pub issuer_domain_names: Vec<String>,
    #[serde(default)]
    pub error: Option<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChallengeStatus {
    Pending,
    Processing,
    Valid,
    Invalid,
}

/// RFC 7807 problem document, RFC 8555 §6.7 (with subproblems, §6.7.1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub subproblems: Vec<Subproblem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Subproblem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
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
