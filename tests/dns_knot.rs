//! The rfc2136 provider and the propagation check against a real Knot DNS
//! server, started by `tests/lab/knot.sh` in a temporary directory.
//!
//! Needs knotd and kdig (Debian: `apt-get install knot knot-dnsutils`); without
//! them these tests fail, on purpose: a skipped test would hide that TSIG and
//! UPDATE were never checked against a real server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use wancert::clock::SystemClock;
use wancert::config::PluginSection;
use wancert::config::Propagation;
use wancert::dns::net;
use wancert::dns::wire::{Name, rcode, rtype};
use wancert::http::{Http, Request, Response};
use wancert::propagation;
use wancert::providers::{self, DnsProvider, Env};
use wancert::uci::{Opt, Section};

/// A directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!("wancert-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running knotd; stopped on drop, so also when a test fails.
struct Knot {
    env: HashMap<String, String>,
    // Dropped after `drop` below has stopped the server.
    dir: TempDir,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/knot.sh")
}

impl Knot {
    fn start() -> Knot {
        let found = Path::new("/usr/sbin/knotd").exists()
            || std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("knotd").exists()));
        assert!(
            found,
            "knotd is not installed: run the test setup (apt-get install knot knot-dnsutils) before cargo test"
        );
        let dir = TempDir::new("knot");
        let out = Command::new("bash")
            .arg(script())
            .arg(&dir.0)
            .output()
            .expect("run bash tests/lab/knot.sh");
        assert!(
            out.status.success(),
            "tests/lab/knot.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.0.join("knot.env")).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Knot { env, dir }
    }

    fn get(&self, k: &str) -> &str {
        &self.env[k]
    }

    fn port(&self) -> u16 {
        self.get("KNOT_PORT").parse().unwrap()
    }

    /// The provider section, with `overrides` replacing or adding options.
    fn section(&self, overrides: &[(&str, &str)]) -> PluginSection {
        let port = self.port().to_string();
        let mut opts: Vec<(&str, &str)> = vec![
            ("server", "127.0.0.1"),
            ("port", &port),
            ("tsig_name", self.get("TSIG_NAME")),
            ("tsig_algorithm", self.get("TSIG_ALGORITHM")),
            ("tsig_secret", self.get("TSIG_SECRET")),
        ];
        for &(k, v) in overrides {
            opts.retain(|(o, _)| *o != k);
            opts.push((k, v));
        }
        let options = opts
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Opt {
                name: k.to_string(),
                values: vec![v.to_string()],
                is_list: false,
                line: i + 2,
            })
            .collect();
        PluginSection {
            file: "/etc/config/wancert".into(),
            name: "knot".into(),
            kind: "rfc2136".into(),
            section: Section {
                ty: "provider".into(),
                name: Some("knot".into()),
                line: 1,
                options,
            },
        }
    }

    /// The TXT values at `fqdn`, asked directly.
    fn txt(&self, fqdn: &str) -> Vec<String> {
        let addr = ([127, 0, 0, 1], self.port()).into();
        let name = Name::parse(fqdn).unwrap();
        let m = net::query(addr, &name, rtype::TXT, false, Duration::from_secs(5)).unwrap();
        assert!(
            matches!(m.rcode(), rcode::NOERROR | rcode::NXDOMAIN),
            "{m:?}"
        );
        let mut v = m.txt_values(&name);
        v.sort();
        v
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir.0)
            .status();
    }
}

struct NoHttp;

impl Http for NoHttp {
    fn send(&self, req: &Request<'_>) -> wancert::Result<Response> {
        panic!("rfc2136 made an HTTP request to {}", req.url)
    }
}

fn provider<'a>(section: &PluginSection, env: &Env<'a>) -> Box<dyn DnsProvider + 'a> {
    match providers::build(section, env) {
        Ok(p) => p,
        Err(e) => panic!("build: {e}"),
    }
}

const AT: &str = "_acme-challenge.wancert.test";

#[test]
fn adds_and_removes_single_txt_values() {
    let knot = Knot::start();
    let env = Env {
        http: &NoHttp,
        clock: &SystemClock,
    };
    // No option zone: the provider finds it from the SOA.
    let mut p = provider(&knot.section(&[]), &env);

    p.add_txt(AT, "value-one").unwrap();
    p.add_txt(AT, "value-two").unwrap();
    assert_eq!(knot.txt(AT), ["value-one", "value-two"]);

    let check = Propagation {
        servers: vec![format!("127.0.0.1:{}", knot.port())],
        doh_servers: Vec::new(),
        timeout: Duration::from_secs(10),
        interval: Duration::from_millis(200),
        wait: None,
    };
    propagation::wait_for_txt(
        &check,
        AT,
        &["value-one", "value-two"],
        &SystemClock,
        &NoHttp,
    )
    .unwrap();

    p.remove_txt(AT, "value-one").unwrap();
    assert_eq!(knot.txt(AT), ["value-two"]);
    // Removing an absent value is fine.
    p.remove_txt(AT, "value-one").unwrap();
    p.remove_txt(AT, "value-two").unwrap();
    assert!(knot.txt(AT).is_empty());

    // With option zone, and a value longer than one character-string.
    let mut p = provider(&knot.section(&[("zone", "wancert.test")]), &env);
    let long = "x".repeat(300);
    p.add_txt(AT, &long).unwrap();
    assert_eq!(knot.txt(AT), [long.as_str()]);
    p.remove_txt(AT, &long).unwrap();
    assert!(knot.txt(AT).is_empty());
}

#[test]
fn propagation_times_out_naming_the_server_and_the_fix() {
    let knot = Knot::start();
    let servers = [format!("127.0.0.1:{}", knot.port())];
    let check = Propagation {
        servers: servers.to_vec(),
        doh_servers: Vec::new(),
        timeout: Duration::from_secs(1),
        interval: Duration::from_millis(200),
        wait: None,
    };
    let e = propagation::wait_for_txt(&check, AT, &["never-added"], &SystemClock, &NoHttp)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(AT) && e.contains(&servers[0]) && e.contains("propagation_timeout"),
        "{e}"
    );
}

#[test]
fn wrong_secret_and_foreign_zones_give_clear_errors() {
    let knot = Knot::start();
    let env = Env {
        http: &NoHttp,
        clock: &SystemClock,
    };

    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut p = provider(
        &knot.section(&[("tsig_secret", wrong), ("zone", "wancert.test")]),
        &env,
    );
    let e = p.add_txt(AT, "v").unwrap_err().to_string();
    assert!(
        e.contains("TSIG key wancert-key") && e.contains("tsig_secret"),
        "{e}"
    );

    let mut p = provider(&knot.section(&[("tsig_name", "unknown-key.")]), &env);
    let e = p.add_txt(AT, "v").unwrap_err().to_string();
    assert!(
        e.contains("TSIG key unknown-key") && e.contains("tsig_name"),
        "{e}"
    );

    // Knot does not serve example.org: found by SOA, then given as option.
    let mut p = provider(&knot.section(&[]), &env);
    let e = p
        .add_txt("_acme-challenge.example.org", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot find the zone of _acme-challenge.example.org")
            && e.contains("option zone"),
        "{e}"
    );
    let mut p = provider(&knot.section(&[("zone", "example.org")]), &env);
    let e = p
        .add_txt("_acme-challenge.example.org", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zone example.org") && e.contains("option zone"),
        "{e}"
    );

    assert!(knot.txt(AT).is_empty());
}
