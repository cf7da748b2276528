//! `wancert status [--json]`: what is installed, when it renews, what the last
//! run said. The JSON form is the interface of the LuCI app; its schema is
//! versioned (`version`) and documented in `docs/status.md`. Add fields freely;
//! renaming or removing one means a new version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::run::CertFiles;
use crate::{Result, der, renewal, store};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Status {
    pub version: u32,
    /// When this document was made (RFC 3339).
    pub generated: String,
    pub certs: Vec<CertStatus>,
    /// The WAN addresses the last DDNS run saw (volatile: empty after a
    /// reboot until the next run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wan: Vec<WanStatus>,
    /// One per `config ddns` section, in file order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ddns: Vec<DdnsStatus>,
}

/// A WAN address in the JSON.
#[derive(Debug, Serialize)]
pub struct WanStatus {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    pub address: String,
    /// The ubus interface or device it is on, when the source knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// `ubus`, `interface`, `web`, `route` or `script`.
    pub source: String,
    /// Why the Internet cannot reach it (private or carrier-grade NAT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<String>,
}

/// One DDNS record in the JSON.
#[derive(Debug, Serialize)]
pub struct DdnsStatus {
    pub name: String,
    pub domain: String,
    pub provider: String,
    pub enabled: bool,
    /// The A record; absent when option ipv4 is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<DdnsFamilyStatus>,
    /// The AAAA record; absent when option ipv6 is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<DdnsFamilyStatus>,
    /// When the published values were last sent or read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// After a failure: no attempt before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    /// The provider refused (bad credentials, unknown host): no retry
    /// until the configuration changes or `wancert ddns --force`.
    pub refused: bool,
}

/// One family of a DDNS record in the JSON.
#[derive(Debug, Serialize)]
pub struct DdnsFamilyStatus {
    /// What the sources say it should be now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// What the DNS holds, as far as the last run knows.
    pub published: Vec<String>,
    /// When `published` last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_change: Option<String>,
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
    let (wan, ddns) = ddns_status(config);
    Ok(Status {
        version: SCHEMA_VERSION,
        generated: der::rfc3339(now),
        certs,
        wan,
        ddns,
    })
}

/// The DDNS part, from the cache the DDNS runs keep in `run_dir`.
fn ddns_status(config: &Config) -> (Vec<WanStatus>, Vec<DdnsStatus>) {
    if config.ddns.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let state = crate::ddns::update::State::load(&config.global.run_dir);
    let wan = state
        .wan
        .iter()
        .map(|w| WanStatus {
            family: if w.address.is_ipv4() { "ipv4" } else { "ipv6" },
            address: w.address.to_string(),
            interface: Some(w.interface.clone()).filter(|i| !i.is_empty()),
            source: w.source.clone(),
            nat: w.nat.clone(),
        })
        .collect();
    let family = |on: bool, f: Option<&crate::ddns::update::FamilyState>| {
        on.then(|| {
            let f = f.cloned().unwrap_or_default();
            DdnsFamilyStatus {
                current: f.current.map(|a| a.to_string()),
                published: f.published.iter().map(|a| a.to_string()).collect(),
                last_change: f.changed.map(der::rfc3339),
            }
        })
    };
    let records = config
        .ddns
        .iter()
        .map(|d| {
            let e = state.record(&d.name);
            DdnsStatus {
                name: d.name.clone(),
                domain: d.domain.clone(),
                provider: d.provider.clone(),
                enabled: d.enabled,
                ipv4: family(d.ipv4, e.map(|e| &e.v4)),
                ipv6: family(d.ipv6, e.map(|e| &e.v6)),
                confirmed: e.and_then(|e| e.confirmed).map(der::rfc3339),
                last_error: e.and_then(|e| e.last_error.clone()),
                next_attempt: e.and_then(|e| e.retry_at).map(der::rfc3339),
                refused: e.is_some_and(|e| e.refused),
            }
        })
        .collect();
    (wan, records)
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
    for w in &status.wan {
        let on = w
            .interface
            .as_deref()
            .map(|i| format!(" on {i}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "wan {}: {}{on} (from {})\n",
            w.family, w.address, w.source
        ));
        if let Some(nat) = &w.nat {
            out.push_str(&format!("  not reachable from the Internet: {nat}\n"));
        }
    }
    for d in &status.ddns {
        let off = if d.enabled { "" } else { " (disabled)" };
        out.push_str(&format!(
            "ddns {}: {} via {}{off}\n",
            d.name, d.domain, d.provider
        ));
        for (rr, f) in [("A", &d.ipv4), ("AAAA", &d.ipv6)] {
            let Some(f) = f else { continue };
            let published = if f.published.is_empty() {
                "nothing known".to_string()
            } else {
                f.published.join(", ")
            };
            let since = f
                .last_change
                .as_deref()
                .map(|t| format!(" since {t}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {rr}: current {}, published {published}{since}\n",
                f.current.as_deref().unwrap_or("none")
            ));
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
        assert_eq!(json["wan"][0]["family"], "ipv4");
        assert_eq!(json["wan"][0]["nat"], "carrier-grade NAT");
        let home = &json["ddns"][0];
        assert_eq!(home["ipv4"]["current"], "203.0.113.7");
        assert_eq!(home["ipv4"]["published"][0], "203.0.113.6");
        assert_eq!(home["ipv4"]["last_change"], "2023-11-14T22:13:20Z");
        assert!(home.get("ipv6").is_none(), "option ipv6 is off");
        assert_eq!(home["next_attempt"], "2023-11-14T22:23:20Z");
        assert_eq!(home["refused"], false);
        // A record no run has seen yet still shows, with nothing known.
        let nas = &json["ddns"][1];
        assert_eq!(nas["ipv6"]["published"], serde_json::json!([]));
        assert!(nas["ipv6"].get("current").is_none());

        let text = render(&status);
        assert!(
            text.contains("wan ipv4: 100.72.13.5 on wan (from ubus)"),
            "{text}"
        );
        assert!(
            text.contains(
                "A: current 203.0.113.7, published 203.0.113.6 since 2023-11-14T22:13:20Z"
            ),
            "{text}"
        );
        assert!(
            text.contains("last error: DNS: server down") && text.contains("next attempt after"),
            "{text}"
        );
        assert!(!text.contains("hunter2") && !json.to_string().contains("hunter2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
