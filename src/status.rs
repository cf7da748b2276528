//! `wancert status [--json]`: what is installed, when it renews, what the last
//! run said. The JSON form is the interface of the LuCI app; its schema is
//! versioned (`version`) and documented in `docs/status.md`. Add fields freely;
//! renaming or removing one means a new version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::run::CertFiles;
use crate::verify::Verdict;
use crate::{Result, der, renewal, store};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Status {
    pub version: u32,
    /// When this document was made (RFC 3339).
    pub generated: String,
    pub certs: Vec<CertStatus>,
}

#[derive(Debug, Serialize)]
pub struct CertStatus {
    pub name: String,
    pub domains: Vec<String>,
    pub installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Start of the renewal window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fullchain_path: Option<String>,
    /// From the last run (volatile: empty after a reboot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub deploy: Vec<DeployStatus>,
}

#[derive(Debug, Serialize)]
pub struct DeployStatus {
    pub name: String,
    /// The deploy type (`file`, `ssh`, `uhttpd`, `webhook`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the target has the installed certificate and its last deploy
    /// (and check) succeeded.
    pub current: bool,
    /// The port forward it follows (`option redirect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// When it got the certificate it has (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
    /// What the check after the last deploy found: `new`, `old`,
    /// `unreachable` or `not_configured`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verdict>,
    /// Where it was checked (`host:port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// What the check saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Since when the target keeps failing (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_since: Option<String>,
}

/// What `state_dir/certs/NAME/deployed.json` keeps per deploy target. It
/// survives reboots, so it is on flash: it changes only when a deploy does
/// something new, and is written only then (a target failing the same way
/// run after run leaves it as it is).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Fingerprint of the chain last delivered (files written, service
    /// reloaded); see `run::CertFiles::fingerprint`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// When that chain was first delivered (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<i64>,
    /// What the check after the last delivery found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The last attempt's error; none when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the current series of failures began (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_since: Option<i64>,
}

impl TargetRecord {
    /// Whether the target has the chain with `fingerprint` and nothing failed.
    pub fn current(&self, fingerprint: &str) -> bool {
        self.fingerprint == fingerprint && self.error.is_none()
    }

    /// Record a failed attempt.
    pub fn failed(&mut self, error: String, now: i64) {
        if self.error.is_none() {
            self.failed_since = Some(now);
        }
        self.error = Some(error);
    }

    /// Record a successful one.
    pub fn succeeded(&mut self) {
        self.error = None;
        self.failed_since = None;
    }
}

/// What runs leave in `run_dir/state.json` (RAM): per certificate, the last
/// issuance attempt and its error. Deploy targets keep theirs on flash
/// (`TargetRecord`), since a target that fails must be retried after a
/// reboot too.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    #[serde(default)]
    pub certs: BTreeMap<String, CertRun>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertRun {
    /// Unix seconds of the last issuance attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl RunState {
    fn path(run_dir: &Path) -> std::path::PathBuf {
        run_dir.join("state.json")
    }

    /// Read it; missing or unreadable means empty (it is only a cache).
    pub fn load(run_dir: &Path) -> RunState {
        store::read(&Self::path(run_dir))
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, run_dir: &Path) -> Result<()> {
        store::ensure_dir(run_dir)?;
        let text = serde_json::to_string(self).unwrap_or_default();
        store::write_if_changed(&Self::path(run_dir), text.as_bytes(), store::SECRET).map(drop)
    }
}

/// Gather the status of every certificate.
pub fn collect(config: &Config, now: i64) -> Result<Status> {
    let runs = RunState::load(&config.global.run_dir);
    let mut certs = Vec::new();
    for cert in &config.certs {
        let files = CertFiles::new(&config.global.state_dir, &cert.name);
        let installed = files.installed()?.map(|(_, info)| info);
        let records = files.targets();
        let fingerprint = files.fingerprint()?;
        let run = runs.certs.get(&cert.name).cloned().unwrap_or_default();
        let deploy = cert
            .deploy
            .iter()
            .map(|d| {
                let r = records.get(d).cloned().unwrap_or_default();
                let section = config.deploy(d);
                DeployStatus {
                    name: d.clone(),
                    kind: section.map(|s| s.kind.clone()).unwrap_or_default(),
                    current: fingerprint.as_deref().is_some_and(|f| r.current(f)),
                    redirect: section
                        .and_then(|s| s.optional("redirect"))
                        .filter(|v| !v.is_empty())
                        .map(String::from),
                    deployed_at: r.deployed_at.map(der::rfc3339),
                    verify: r.verify,
                    endpoint: r.endpoint,
                    verify_detail: r.detail,
                    last_error: r.error,
                    failed_since: r.failed_since.map(der::rfc3339),
                }
            })
            .collect();
        let path = |p: &Path| Some(p.display().to_string());
        certs.push(CertStatus {
            name: cert.name.clone(),
            domains: cert.domains.clone(),
            installed: installed.is_some(),
            not_before: installed.as_ref().map(|i| der::rfc3339(i.not_before)),
            not_after: installed.as_ref().map(|i| der::rfc3339(i.not_after)),
            renew_at: installed
                .as_ref()
                .map(|i| der::rfc3339(renewal::renew_at(i))),
            days_left: installed
                .as_ref()
                .map(|i| (i.not_after - now).div_euclid(86400)),
            key_path: installed.as_ref().and_then(|_| path(&files.pair.key)),
            fullchain_path: installed.as_ref().and_then(|_| path(&files.pair.chain)),
            last_attempt: run.last_attempt.map(der::rfc3339),
            last_error: run.last_error,
            deploy,
        });
    }
    Ok(Status {
        version: SCHEMA_VERSION,
        generated: der::rfc3339(now),
        certs,
    })
}

/// The human form, one line per certificate and per failing target.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    for c in &status.certs {
        let domains = c.domains.join(", ");
        match (&c.not_after, &c.renew_at) {
            (Some(end), Some(renew)) => out.push_str(&format!(
                "{}: {domains}: expires {end} ({} days), renews from {renew}\n",
                c.name,
                c.days_left.unwrap_or_default()
            )),
            _ => out.push_str(&format!("{}: {domains}: not issued yet\n", c.name)),
        }
        if let Some(e) = &c.last_error {
            out.push_str(&format!("  last error: {e}\n"));
        }
        for d in &c.deploy {
            out.push_str(&format!("  deploy {} ({}", d.name, d.kind));
            if let Some(r) = &d.redirect {
                out.push_str(&format!(", port forward '{r}'"));
            }
            let state = match (&d.verify, &d.endpoint) {
                _ if d.deployed_at.is_none() => "not deployed yet".to_string(),
                (Some(v), Some(at)) => format!("{} at {at}", v.describe()),
                (Some(v), None) => v.describe().to_string(),
                (None, _) => "deployed".to_string(),
            };
            out.push_str(&format!("): {state}"));
            if let Some(t) = &d.deployed_at {
                out.push_str(&format!(", delivered {t}"));
            }
            out.push('\n');
            if !d.current && d.last_error.is_none() && d.deployed_at.is_some() {
                out.push_str(
                    "    the installed certificate is not deployed yet: the next run does it\n",
                );
            }
            if let Some(e) = &d.last_error {
                let since = d
                    .failed_since
                    .as_ref()
                    .map_or(String::new(), |t| format!(" (failing since {t})"));
                out.push_str(&format!("    last error{since}: {e}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_redeployed_until_it_succeeds_and_a_repeated_failure_changes_nothing() {
        let mut r = TargetRecord::default();
        assert!(!r.current("fp1"), "never deployed");
        r.fingerprint = "fp1".into();
        r.deployed_at = Some(100);
        r.succeeded();
        assert!(r.current("fp1") && !r.current("fp2"));

        // Fails (e.g. the service kept the old certificate): not current,
        // so the next run tries again.
        r.fingerprint = "fp2".into();
        r.failed("still serves another certificate".into(), 200);
        assert!(!r.current("fp2"));
        assert_eq!(r.failed_since, Some(200));
        let saved = serde_json::to_string(&r).unwrap();
        // The same failure on the next run: the record, hence the file, is
        // unchanged.
        r.failed("still serves another certificate".into(), 300);
        assert_eq!(serde_json::to_string(&r).unwrap(), saved);
        r.succeeded();
        assert!(r.current("fp2") && r.failed_since.is_none());
    }

    #[test]
    fn target_records_read_back_and_omit_what_is_unknown() {
        let r = TargetRecord {
            fingerprint: "abc".into(),
            deployed_at: Some(1_700_000_000),
            verify: Some(Verdict::Old),
            endpoint: Some("192.168.1.10:443".into()),
            ..Default::default()
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"fingerprint":"abc","deployed_at":1700000000,"verify":"old","endpoint":"192.168.1.10:443"}"#
        );
        assert_eq!(serde_json::from_str::<TargetRecord>(&text).unwrap(), r);
        assert_eq!(
            serde_json::to_string(&TargetRecord::default()).unwrap(),
            "{}"
        );
    }
}
