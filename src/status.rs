//! `wancert status [--json]`: what is installed, when it renews, what the last
//! run said. The JSON form is the interface of the LuCI app; its schema is
//! versioned (`version`) and documented in `docs/status.md`. Add fields freely;
//! renaming or removing one means a new version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::run::CertFiles;
use crate::{Result, der, renewal, run, store};

pub const SCHEMA_VERSION: u32 = 1;

/// The whole `status --json` document.
#[derive(Debug, Serialize)]
pub struct Status {
    pub version: u32,
    /// When this document was made (RFC 3339).
    pub generated: String,
    /// Whether a run (or renew) holds the lock right now.
    pub running: bool,
    /// The last run or renew since boot (volatile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRunStatus>,
    pub certs: Vec<CertStatus>,
}

/// `last_run` in the JSON.
#[derive(Debug, Serialize)]
pub struct LastRunStatus {
    pub started: String,
    /// Absent while it runs, or when it died before the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The exit code it ended with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// One certificate in the JSON.
#[derive(Debug, Serialize)]
pub struct CertStatus {
    pub name: String,
    pub domains: Vec<String>,
    pub installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// When a run renews it: the moment chosen in the CA's ARI window, else
    /// the fallback rule (a third of the lifetime left, or `renew_days`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<String>,
    /// The CA's suggested renewal window (RFC 9773), when it has ARI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ari_window_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ari_window_end: Option<String>,
    /// The CA's explanation of its window (an incident report, typically).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ari_explanation: Option<String>,
    /// When a run next asks the CA for renewal information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_ari_check: Option<String>,
    /// Failed attempts in a row.
    #[serde(skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// The CA this certificate comes from, and the profile asked for.
    pub acme_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub challenge: &'static str,
    /// The installed certificate was revoked; the next run replaces it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// Whether the next run will try to issue it (missing, names changed,
    /// or inside its renewal window).
    pub due: bool,
    /// When a run will next try: after failures, the end of the back-off;
    /// otherwise the renewal moment while it is ahead; absent when due (the
    /// next scheduled run tries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
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

/// One deploy target of a certificate in the JSON.
#[derive(Debug, Serialize)]
pub struct DeployStatus {
    pub name: String,
    /// Whether the target has the installed certificate.
    pub current: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What runs leave in `run_dir/state.json` (RAM): per certificate, the last
/// attempt and its error; per deploy target, its last error.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    #[serde(default)]
    pub certs: BTreeMap<String, CertRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<LastRun>,
}

/// The last run or renew: Unix seconds.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub started: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertRun {
    /// Unix seconds of the last issuance attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Deploy target → its last error.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deploy_errors: BTreeMap<String, String>,
    /// Failed issuance attempts in a row (a success resets it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Back-off: no automatic attempt before this (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<i64>,
    /// What the CA's renewal information says about the installed
    /// certificate. Volatile like the rest: after a reboot the next run asks
    /// again, and a run between checks asks nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ari: Option<AriState>,
}

/// The last ARI answer for one certificate (RFC 9773).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AriState {
    /// The certificate it is about (RFC 9773 §4.1 identifier).
    pub cert_id: String,
    /// The suggested window, Unix seconds; `None` when the CA has no ARI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<(i64, i64)>,
    /// The moment chosen inside the window, kept while the window stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// When to ask again; `None`: not before a reboot (the CA has no ARI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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

/// Whether a run holds the lock in `run_dir`. A shared lock is enough to ask,
/// and a run that finds it taken for that instant waits a moment
/// (`cli::lock`), so asking never stops a run.
pub fn run_in_progress(run_dir: &Path) -> bool {
    std::fs::File::open(run_dir.join("lock"))
        .is_ok_and(|f| matches!(f.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock)))
}

/// Gather the status of every certificate.
pub fn collect(config: &Config, now: i64) -> Result<Status> {
    let runs = RunState::load(&config.global.run_dir);
    let mut certs = Vec::new();
    for cert in &config.certs {
        let files = CertFiles::new(&config.global.state_dir, &cert.name);
        let installed = files.installed()?.map(|(_, info)| info);
        let deployed: BTreeMap<String, String> = store::read(&files.deployed)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let fingerprint = files.fingerprint()?;
        let run = runs.certs.get(&cert.name).cloned().unwrap_or_default();
        let deploy = cert
            .deploy
            .iter()
            .map(|d| DeployStatus {
                name: d.clone(),
                current: fingerprint.is_some() && deployed.get(d) == fingerprint.as_ref(),
                last_error: run.deploy_errors.get(d).cloned(),
            })
            .collect();
        let path = |p: &Path| Some(p.display().to_string());
        let revoked = installed.as_ref().is_some_and(|i| files.is_revoked(i));
        let inputs = run::inputs(cert, &run, installed.as_ref(), &files, Default::default());
        let ari = run
            .ari
            .as_ref()
            .filter(|a| installed.as_ref().and_then(run::ari_id).as_ref() == Some(&a.cert_id));
        let window = ari.and_then(|a| a.window);
        let decision = renewal::decide(installed.as_ref(), &cert.domains, now, &inputs);
        let due = decision.is_due();
        let next_attempt = match decision {
            renewal::Due::BackingOff { retry_at } => Some(retry_at),
            renewal::Due::NotYet { renew_at } => Some(renew_at),
            _ => None,
        };
        certs.push(CertStatus {
            name: cert.name.clone(),
            domains: cert.domains.clone(),
            installed: installed.is_some(),
            not_before: installed.as_ref().map(|i| der::rfc3339(i.not_before)),
            not_after: installed.as_ref().map(|i| der::rfc3339(i.not_after)),
            renew_at: installed
                .as_ref()
                .map(|i| der::rfc3339(renewal::renew_at(i, &inputs))),
            ari_window_start: window.map(|w| der::rfc3339(w.0)),
            ari_window_end: window.map(|w| der::rfc3339(w.1)),
            ari_explanation: ari.and_then(|a| a.explanation.clone()),
            next_ari_check: ari.and_then(|a| a.next_check).map(der::rfc3339),
            failures: run.failures,
            acme_server: cert.server(&config.global).to_string(),
            profile: cert.profile.clone(),
            challenge: cert.challenge.name(),
            revoked,
            days_left: installed
                .as_ref()
                .map(|i| (i.not_after - now).div_euclid(86400)),
            due,
            next_attempt: next_attempt.map(der::rfc3339),
            key_path: installed.as_ref().and_then(|_| path(&files.pair.key)),
            fullchain_path: installed.as_ref().and_then(|_| path(&files.pair.chain)),
            last_attempt: run.last_attempt.map(der::rfc3339),
            last_error: run.last_error.clone(),
            deploy,
        });
    }
    Ok(Status {
        version: SCHEMA_VERSION,
        generated: der::rfc3339(now),
        running: run_in_progress(&config.global.run_dir),
        last_run: runs.last_run.map(|r| LastRunStatus {
            started: der::rfc3339(r.started),
            finished: r.finished.map(der::rfc3339),
            exit_code: r.exit_code,
        }),
        certs,
    })
}

/// The human form, one line per certificate and per failing target.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    if status.running {
        out.push_str("a run is in progress\n");
    }
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
        if c.revoked {
            out.push_str("  revoked: the next run replaces it\n");
        }
        if let (Some(s), Some(e)) = (&c.ari_window_start, &c.ari_window_end) {
            out.push_str(&format!("  CA's renewal window: {s} to {e}\n"));
        }
        if let Some(x) = &c.ari_explanation {
            out.push_str(&format!("  CA's explanation: {x}\n"));
        }
        if let Some(t) = &c.next_ari_check {
            out.push_str(&format!("  next renewal information check: {t}\n"));
        }
        if let Some(e) = &c.last_error {
            out.push_str(&format!("  last error: {e}\n"));
        }
        if let Some(t) = &c.next_attempt {
            out.push_str(&format!(
                "  {} failed attempt(s): next attempt at {t}\n",
                c.failures
            ));
        }
        for d in &c.deploy {
            let state = if d.current {
                "has the current certificate"
            } else {
                "not deployed yet"
            };
            out.push_str(&format!("  deploy {}: {state}\n", d.name));
            if let Some(e) = &d.last_error {
                out.push_str(&format!("    last error: {e}\n"));
            }
        }
    }
    out
}
