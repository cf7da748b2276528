//! `wancert status [--json]`: what is installed, when it renews, what the last
//! run said. The JSON form is the interface of the LuCI app; its schema is
//! versioned (`version`) and documented in `docs/status.md`. Add fields freely;
//! renaming or removing one means a new version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::json::{self, Object};
use crate::run::CertFiles;
use crate::verify::Verdict;
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
    /// The WAN addresses the last DDNS pass saw (volatile: absent after a
    /// reboot until the next pass).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wan: Option<WanStatus>,
    /// One per `config ddns` section, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ddns: Vec<DdnsStatus>,
}

/// `wan` in the JSON: the router's WAN addresses.
#[derive(Debug, Serialize)]
pub struct WanStatus {
    /// Public IPv4 addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv4: Vec<String>,
    /// Global IPv6 addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipv6: Vec<String>,
    /// When they were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// A WAN IPv4 address the Internet cannot reach, and why (RFC 1918,
    /// carrier-grade NAT, or a NAT upstream).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<String>,
}

/// One DDNS record in the JSON.
#[derive(Debug, Serialize)]
pub struct DdnsStatus {
    pub name: String,
    pub domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// What the record was last set to (A and AAAA values), as far as the
    /// last pass knows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// What it should hold now, from its source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub desired: Vec<String>,
    /// The record holds the desired addresses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
    /// When its addresses last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update: Option<String>,
    /// When the addresses were last sent or read back from the DNS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// After a failure: no attempt before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    /// The provider refused (bad credentials, unknown host): no retry until
    /// the configuration changes or `wancert ddns --force`. Absent when
    /// false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
    /// `option enabled '0'`. Absent when enabled.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
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
    /// Whether the last check saw the installed certificate served; absent
    /// when there was no check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// When the check found what it last found (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<String>,
    /// What the check found instead of the installed certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_error: Option<String>,
    /// Where it was checked (`host:port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TargetRecord {
    /// Fingerprint of the chain last delivered (files written, service
    /// reloaded); see `run::CertFiles::fingerprint`.
    pub fingerprint: String,
    /// When that chain was first delivered (Unix seconds).
    pub deployed_at: Option<i64>,
    /// What the check after the last delivery found.
    pub verify: Option<Verdict>,
    pub endpoint: Option<String>,
    pub detail: Option<String>,
    /// When the check first gave this result (Unix seconds). The same
    /// result again is not recorded: that would write to flash every run.
    pub checked_at: Option<i64>,
    /// The last attempt's error; none when it succeeded.
    pub error: Option<String>,
    /// When the current series of failures began (Unix seconds).
    pub failed_since: Option<i64>,
}

impl TargetRecord {
    /// Whether the target has the chain with `fingerprint` and nothing failed.
    pub fn current(&self, fingerprint: &str) -> bool {
        self.fingerprint == fingerprint && self.error.is_none()
    }

    /// Record what a check found (`None`: nothing to check).
    pub fn checked(&mut self, found: Option<(Verdict, String, String)>, now: i64) {
        let (verdict, endpoint, detail) = match found {
            Some((v, at, d)) => (v, Some(at), Some(d)),
            None => (Verdict::NotConfigured, None, None),
        };
        if self.verify != Some(verdict) || self.endpoint != endpoint || self.detail != detail {
            self.checked_at = endpoint.is_some().then_some(now);
        }
        self.verify = Some(verdict);
        self.endpoint = endpoint;
        self.detail = detail;
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
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RunState {
    pub certs: BTreeMap<String, CertRun>,
    pub last_run: Option<LastRun>,
}

/// `map.retain(keep)` for the state files' maps, without `retain`: every
/// removal from a `BTreeMap` instantiates the tree's rebalancing code for
/// that value type (about 3 KB each), while taking the map apart and
/// inserting the kept entries again reuses code the maps already need. The
/// maps hold a handful of entries.
pub fn retain_entries<V>(map: &mut BTreeMap<String, V>, mut keep: impl FnMut(&str, &V) -> bool) {
    for (k, v) in std::mem::take(map) {
        if keep(&k, &v) {
            map.insert(k, v);
        }
    }
}

/// The last run or renew: Unix seconds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LastRun {
    pub started: i64,
    pub finished: Option<i64>,
    pub exit_code: Option<i32>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct CertRun {
    /// Unix seconds of the last issuance attempt.
    pub last_attempt: Option<i64>,
    pub last_error: Option<String>,
    /// Failed issuance attempts in a row (a success resets it).
    pub failures: u32,
    /// Back-off: no automatic attempt before this (Unix seconds).
    pub retry_at: Option<i64>,
    /// What the CA's renewal information says about the installed
    /// certificate. Volatile like the rest: after a reboot the next run asks
    /// again, and a run between checks asks nothing.
    pub ari: Option<AriState>,
}

/// The last ARI answer for one certificate (RFC 9773).
#[derive(Debug, Clone, PartialEq)]
pub struct AriState {
    /// The certificate it is about (RFC 9773 §4.1 identifier).
    pub cert_id: String,
    /// The suggested window, Unix seconds; `None` when the CA has no ARI.
    pub window: Option<(i64, i64)>,
    /// The moment chosen inside the window, kept while the window stays.
    pub renew_at: Option<i64>,
    pub explanation: Option<String>,
    /// When to ask again; `None`: not before a reboot (the CA has no ARI).
    pub next_check: Option<i64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

// The state files are read and written by hand, through `crate::json`
// (which says why); the keys are the fields' names.

impl TargetRecord {
    pub fn from_json(v: &Value) -> Self {
        TargetRecord {
            fingerprint: json::str_or_empty(v, "fingerprint"),
            deployed_at: json::int(v, "deployed_at"),
            verify: json::str(v, "verify").and_then(|n| Verdict::from_name(&n)),
            endpoint: json::str(v, "endpoint"),
            detail: json::str(v, "detail"),
            checked_at: json::int(v, "checked_at"),
            error: json::str(v, "error"),
            failed_since: json::int(v, "failed_since"),
        }
    }

    pub fn to_json(&self) -> Value {
        Object::new()
            .opt(
                "fingerprint",
                Some(&self.fingerprint).filter(|f| !f.is_empty()).cloned(),
            )
            .opt("deployed_at", self.deployed_at)
            .opt("verify", self.verify.map(Verdict::name))
            .opt("endpoint", self.endpoint.clone())
            .opt("detail", self.detail.clone())
            .opt("checked_at", self.checked_at)
            .opt("error", self.error.clone())
            .opt("failed_since", self.failed_since)
            .done()
    }
}

impl RunState {
    pub fn from_json(v: &Value) -> Self {
        let certs = v
            .get("certs")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        RunState {
            certs: certs
                .map(|(name, c)| (name.clone(), CertRun::from_json(c)))
                .collect(),
            last_run: v.get("last_run").and_then(|l| {
                Some(LastRun {
                    started: json::int(l, "started")?,
                    finished: json::int(l, "finished"),
                    exit_code: json::int(l, "exit_code").map(|c| c as i32),
                })
            }),
        }
    }

    pub fn to_json(&self) -> Value {
        let certs = self.certs.iter().map(|(k, c)| (k.clone(), c.to_json()));
        Object::new()
            .put("certs", Value::Object(certs.collect()))
            .opt(
                "last_run",
                self.last_run.as_ref().map(|l| {
                    Object::new()
                        .put("started", l.started)
                        .opt("finished", l.finished)
                        .opt("exit_code", l.exit_code)
                        .done()
                }),
            )
            .done()
    }
}

impl CertRun {
    fn from_json(v: &Value) -> Self {
        CertRun {
            last_attempt: json::int(v, "last_attempt"),
            last_error: json::str(v, "last_error"),
            failures: json::int(v, "failures").unwrap_or(0) as u32,
            retry_at: json::int(v, "retry_at"),
            ari: v.get("ari").and_then(|a| {
                let window = json::items(a, "window");
                Some(AriState {
                    cert_id: json::str(a, "cert_id")?,
                    window: match window {
                        [s, e] => Some((s.as_i64()?, e.as_i64()?)),
                        _ => None,
                    },
                    renew_at: json::int(a, "renew_at"),
                    explanation: json::str(a, "explanation"),
                    next_check: json::int(a, "next_check"),
                })
            }),
        }
    }

    fn to_json(&self) -> Value {
        Object::new()
            .opt("last_attempt", self.last_attempt)
            .opt("last_error", self.last_error.clone())
            .opt("failures", Some(self.failures).filter(|f| *f != 0))
            .opt("retry_at", self.retry_at)
            .opt(
                "ari",
                self.ari.as_ref().map(|a| {
                    Object::new()
                        .put("cert_id", a.cert_id.clone())
                        .opt("window", a.window.map(|(s, e)| vec![s, e]))
                        .opt("renew_at", a.renew_at)
                        .opt("explanation", a.explanation.clone())
                        .opt("next_check", a.next_check)
                        .done()
                }),
            )
            .done()
    }
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
            .and_then(|t| serde_json::from_slice(t.as_bytes()).ok())
            .map(|v| RunState::from_json(&v))
            .unwrap_or_default()
    }

    pub fn save(&self, run_dir: &Path) -> Result<()> {
        store::ensure_dir(run_dir)?;
        let text = self.to_json().to_string();
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
                    verified: r
                        .verify
                        .filter(|v| *v != Verdict::NotConfigured)
                        .map(|v| v == Verdict::New),
                    verified_at: r.checked_at.map(der::rfc3339),
                    verify_error: r
                        .detail
                        .filter(|_| matches!(r.verify, Some(Verdict::Old | Verdict::Unreachable))),
                    last_error: r.error,
                    failed_since: r.failed_since.map(der::rfc3339),
                }
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
    let (wan, ddns) = ddns_status(config);
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
        wan,
        ddns,
    })
}

/// The DDNS part, from the cache the DDNS passes keep in `run_dir`.
fn ddns_status(config: &Config) -> (Option<WanStatus>, Vec<DdnsStatus>) {
    if config.ddns.is_empty() {
        return (None, Vec::new());
    }
    let state = crate::ddns::update::State::load(&config.global.run_dir);
    let mut wan = WanStatus {
        ipv4: Vec::new(),
        ipv6: Vec::new(),
        checked: state.checked.map(der::rfc3339),
        nat: None,
    };
    for w in &state.wan {
        match (&w.nat, w.address.is_ipv4()) {
            (Some(why), _) => wan.nat = Some(format!("{}: {why}", w.address)),
            (None, true) => wan.ipv4.push(w.address.to_string()),
            (None, false) => wan.ipv6.push(w.address.to_string()),
        }
    }
    let wan = state.checked.is_some().then_some(wan);
    let records = config
        .ddns
        .iter()
        .map(|d| {
            let e = state.record(&d.name);
            let strings = |v: Vec<std::net::IpAddr>| v.iter().map(|a| a.to_string()).collect();
            let (mut addresses, mut desired, mut changed) = (Vec::new(), Vec::new(), None);
            let mut current = None;
            for (on, f) in [(d.ipv4, e.map(|e| &e.v4)), (d.ipv6, e.map(|e| &e.v6))] {
                let Some(f) = f.filter(|_| on) else { continue };
                addresses.extend(f.published.iter().copied());
                if let Some(want) = f.current {
                    desired.push(want);
                    let here = f.published == [want];
                    current = Some(current.unwrap_or(true) && here);
                }
                changed = changed.max(f.changed);
            }
            DdnsStatus {
                name: d.name.clone(),
                domain: d.domain.clone(),
                provider: Some(d.provider.clone()),
                addresses: strings(addresses),
                desired: strings(desired),
                current,
                last_update: changed.map(der::rfc3339),
                confirmed: e.and_then(|e| e.confirmed).map(der::rfc3339),
                last_error: e.and_then(|e| e.last_error.clone()),
                next_attempt: e.and_then(|e| e.retry_at).map(der::rfc3339),
                refused: e.is_some_and(|e| e.refused),
                disabled: !d.enabled,
            }
        })
        .collect();
    (wan, records)
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
    if let Some(w) = &status.wan {
        let all: Vec<&str> = w.ipv4.iter().chain(&w.ipv6).map(String::as_str).collect();
        let all = if all.is_empty() {
            "none".to_string()
        } else {
            all.join(", ")
        };
        let at = w
            .checked
            .as_deref()
            .map(|t| format!(" (read {t})"))
            .unwrap_or_default();
        out.push_str(&format!("wan: {all}{at}\n"));
        if let Some(nat) = &w.nat {
            out.push_str(&format!("  not reachable from the Internet: {nat}\n"));
        }
    }
    for d in &status.ddns {
        let off = if d.disabled { " (disabled)" } else { "" };
        let via = d.provider.as_deref().unwrap_or("?");
        out.push_str(&format!("ddns {}: {} via {via}{off}\n", d.name, d.domain));
        let list = |v: &[String]| {
            if v.is_empty() {
                "nothing known".to_string()
            } else {
                v.join(", ")
            }
        };
        let since = d
            .last_update
            .as_deref()
            .map(|t| format!(" since {t}"))
            .unwrap_or_default();
        out.push_str(&format!("  published: {}{since}\n", list(&d.addresses)));
        if d.current == Some(false) {
            out.push_str(&format!("  should be: {}\n", list(&d.desired)));
        }
        if let Some(e) = &d.last_error {
            out.push_str(&format!("  last error: {e}\n"));
        }
        if d.refused {
            out.push_str(&format!(
                "  stopped: fix the configuration or run `wancert ddns --force {}`\n",
                d.name
            ));
        } else if let Some(t) = &d.next_attempt {
            out.push_str(&format!("  next attempt after {t}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddns::update::{Entry, FamilyState, State, WanSeen};

    #[test]
    fn retain_entries_keeps_what_the_test_keeps() {
        let mut m: BTreeMap<String, i64> = [("a", 1), ("b", 2), ("c", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        retain_entries(&mut m, |k, v| k != "b" && *v < 3);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), [("a".to_string(), 1)]);
    }

    #[test]
    fn ddns_records_and_wan_addresses() {
        let dir = std::env::temp_dir().join(format!("wancert-status-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let text = format!(
            "config wancert\n\toption run_dir '{}'\n\toption state_dir '{0}/state'\n\
             config provider 'p'\n\toption type 'dyndns2'\n\toption password 'hunter2'\n\
             config ddns 'home'\n\toption provider 'p'\n\toption domain 'home.example.com'\n\toption ipv6 '0'\n\
             config ddns 'nas'\n\toption provider 'p'\n\toption domain 'nas.example.com'\n\toption host_suffix '::2'\n",
            dir.display()
        );
        let config = crate::config::parse("/c", &text).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let mut state = State::default();
        state.put(Entry {
            name: "home".into(),
            config: "x".into(),
            v4: FamilyState {
                current: Some(ip("203.0.113.7")),
                published: vec![ip("203.0.113.6")],
                changed: Some(1_700_000_000),
                nat: None,
            },
            failures: 2,
            retry_at: Some(1_700_000_600),
            last_error: Some("DNS: server down".into()),
            ..Entry::default()
        });
        state.wan.push(WanSeen {
            address: ip("100.72.13.5"),
            interface: "wan".into(),
            source: "ubus".into(),
            nat: Some("carrier-grade NAT".into()),
        });
        state.save(&dir).unwrap();

        let status = collect(&config, 1_700_000_100).unwrap();
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["version"], 1);
        // Nothing read yet: no `wan` object.
        assert!(json.get("wan").is_none(), "{json}");
        let home = &json["ddns"][0];
        assert_eq!(home["provider"], "p");
        assert_eq!(home["addresses"], serde_json::json!(["203.0.113.6"]));
        assert_eq!(home["desired"], serde_json::json!(["203.0.113.7"]));
        assert_eq!(home["current"], false);
        assert_eq!(home["last_update"], "2023-11-14T22:13:20Z");
        assert_eq!(home["next_attempt"], "2023-11-14T22:23:20Z");
        assert!(home.get("refused").is_none() && home.get("disabled").is_none());
        // A record no pass has seen yet still shows, with nothing known.
        let nas = &json["ddns"][1];
        assert_eq!(nas["domain"], "nas.example.com");
        assert!(nas.get("addresses").is_none() && nas.get("current").is_none());

        let text = render(&status);
        assert!(
            text.contains("published: 203.0.113.6 since 2023-11-14T22:13:20Z"),
            "{text}"
        );
        assert!(text.contains("should be: 203.0.113.7"), "{text}");
        assert!(
            text.contains("last error: DNS: server down") && text.contains("next attempt after"),
            "{text}"
        );
        assert!(!text.contains("hunter2") && !json.to_string().contains("hunter2"));

        state.checked = Some(1_700_000_050);
        state.save(&dir).unwrap();
        let json = serde_json::to_value(collect(&config, 1_700_000_100).unwrap()).unwrap();
        assert_eq!(json["wan"]["checked"], "2023-11-14T22:14:10Z");
        assert!(
            json["wan"].get("ipv4").is_none(),
            "the only IPv4 is behind NAT"
        );
        assert_eq!(json["wan"]["nat"], "100.72.13.5: carrier-grade NAT");
        assert!(
            render(&collect(&config, 1_700_000_100).unwrap())
                .contains("not reachable from the Internet: 100.72.13.5")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
        let saved = r.to_json();
        // The same failure on the next run: the record, hence the file, is
        // unchanged.
        r.failed("still serves another certificate".into(), 300);
        assert_eq!(r.to_json(), saved);
        r.succeeded();
        assert!(r.current("fp2") && r.failed_since.is_none());
    }

    #[test]
    fn a_check_is_recorded_when_its_result_changes() {
        let mut r = TargetRecord::default();
        let old = || {
            Some((
                Verdict::Old,
                "10.0.0.2:443".to_string(),
                "serves another".to_string(),
            ))
        };
        r.checked(old(), 100);
        assert_eq!((r.verify, r.checked_at), (Some(Verdict::Old), Some(100)));
        r.checked(old(), 200);
        assert_eq!(r.checked_at, Some(100), "the same result again");
        r.checked(
            Some((Verdict::New, "10.0.0.2:443".into(), "serves the new".into())),
            300,
        );
        assert_eq!((r.verify, r.checked_at), (Some(Verdict::New), Some(300)));
        r.checked(None, 400);
        assert_eq!(
            (r.verify, r.checked_at, r.endpoint),
            (Some(Verdict::NotConfigured), None, None)
        );
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
        let text = r.to_json().to_string();
        assert_eq!(
            text,
            r#"{"deployed_at":1700000000,"endpoint":"192.168.1.10:443","fingerprint":"abc","verify":"old"}"#
        );
        let back = TargetRecord::from_json(&serde_json::from_str(&text).unwrap());
        assert_eq!(back, r);
        assert_eq!(TargetRecord::default().to_json().to_string(), "{}");
        // Every verdict reads back as itself.
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_name(v.name()), Some(v));
        }
    }

    #[test]
    fn run_state_reads_back_and_omits_what_is_unknown() {
        let mut state = RunState::default();
        state.certs.insert(
            "web".into(),
            CertRun {
                last_attempt: Some(10),
                last_error: Some("rate limited".into()),
                failures: 2,
                retry_at: Some(20),
                ari: Some(AriState {
                    cert_id: "aki.serial".into(),
                    window: Some((30, 40)),
                    renew_at: Some(35),
                    explanation: None,
                    next_check: Some(50),
                }),
            },
        );
        state.certs.insert("quiet".into(), CertRun::default());
        state.last_run = Some(LastRun {
            started: 1,
            finished: Some(2),
            exit_code: Some(0),
        });
        let text = state.to_json().to_string();
        assert!(text.contains(r#""quiet":{}"#), "{text}");
        assert!(text.contains(r#""window":[30,40]"#), "{text}");
        let back = RunState::from_json(&serde_json::from_str(&text).unwrap());
        assert_eq!(back, state);
        // A file from before any run: empty, not an error.
        assert_eq!(
            RunState::from_json(&serde_json::json!({})),
            RunState::default()
        );
    }
}
