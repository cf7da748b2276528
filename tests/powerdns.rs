//! The powerdns provider against a real PowerDNS Authoritative server
//! (sqlite backend, HTTP API), started by `tests/lab/pdns.sh` on loopback
//! ports in a temporary directory, checked with kdig on its DNS port; and a
//! DNS-01 issuance end to end: pebble validating against that PowerDNS,
//! `wancert run` with `type 'powerdns'`.
//!
//! Needs pdns-server, pdns-backend-sqlite3, sqlite3, kdig, pebble and
//! openssl: without them these tests fail, saying to run tests/setup.sh.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::provider::{config, http, section};
use common::{TempDir, text, wancert};
use wancert::clock::SystemClock;
use wancert::providers::{self, Env, Family};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(name)
}

/// KEY=value lines of `file`.
fn env_file(file: &Path) -> HashMap<String, String> {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// A running PowerDNS (and maybe pebble) in a temporary directory; both are
/// stopped on drop, also when a test fails.
struct Pdns {
    env: HashMap<String, String>,
    dir: TempDir,
}

impl Pdns {
    fn start(tag: &str) -> Pdns {
        let dir = TempDir::new(tag);
        let out = Command::new("bash")
            .arg(lab("pdns.sh"))
            .arg(dir.path())
            .output()
            .expect("run bash tests/lab/pdns.sh");
        assert!(
            out.status.success(),
            "PowerDNS did not start (run tests/setup.sh to install pdns-server and pdns-backend-sqlite3):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = env_file(&dir.path().join("pdns.env"));
        Pdns { env, dir }
    }

    fn var(&self, k: &str) -> &str {
        &self.env[k]
    }

    /// What PowerDNS answers for `name` (kdig +short), sorted.
    fn dig(&self, rtype: &str, name: &str) -> Vec<String> {
        let out = Command::new("kdig")
            .args([
                "@127.0.0.1",
                "-p",
                self.var("PDNS_PORT"),
                "+short",
                rtype,
                name,
            ])
            .output()
            .expect("kdig runs (knot-dnsutils: run tests/setup.sh)");
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_matches('"').to_string())
            .collect();
        v.sort();
        v
    }

    fn provider_config(&self, key: &str) -> String {
        config(
            "powerdns",
            &[
                format!("option endpoint '{}'", self.var("PDNS_API")),
                format!("option api_key '{key}'"),
            ],
        )
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        for (script, arg) in [("pebble.sh", "stop"), ("pdns.sh", "stop")] {
            let _ = Command::new("bash")
                .arg(lab(script))
                .arg(arg)
                .arg(self.dir.path())
                .output();
        }
    }
}

#[test]
fn txt_values_and_addresses_through_the_api() {
    let pdns = Pdns::start("pdns-prov");
    let http = http();
    let env = Env {
        http: &http,
        clock: &SystemClock,
    };
    let mut p = providers::build(
        &section(&pdns.provider_config(pdns.var("PDNS_API_KEY"))),
        &env,
    )
    .unwrap();
    let name = "_acme-challenge.nas.wancert.test";

    p.add_txt(name, "first-value").unwrap();
    p.add_txt(name, "second-value").unwrap();
    assert_eq!(pdns.dig("TXT", name), ["first-value", "second-value"]);
    p.remove_txt(name, "first-value").unwrap();
    assert_eq!(
        pdns.dig("TXT", name),
        ["second-value"],
        "the other value stays"
    );
    p.remove_txt(name, "first-value").unwrap();
    p.remove_txt(name, "second-value").unwrap();
    assert!(pdns.dig("TXT", name).is_empty());

    let host = "nas.wancert.test";
    let v4 = |a: &[&str]| a.iter().map(|x| x.parse().unwrap()).collect::<Vec<_>>();
    p.set_address(host, Family::V4, &v4(&["192.0.2.1", "192.0.2.2"]), 120)
        .unwrap();
    assert_eq!(pdns.dig("A", host), ["192.0.2.1", "192.0.2.2"]);
    p.set_address(host, Family::V4, &v4(&["192.0.2.3"]), 120)
        .unwrap();
    assert_eq!(pdns.dig("A", host), ["192.0.2.3"]);
    p.set_address(host, Family::V6, &v4(&["2001:db8::7"]), 120)
        .unwrap();
    assert_eq!(pdns.dig("AAAA", host), ["2001:db8::7"]);
    assert_eq!(pdns.dig("A", host), ["192.0.2.3"], "AAAA leaves A alone");
    p.set_address(host, Family::V6, &[], 120).unwrap();
    assert!(pdns.dig("AAAA", host).is_empty());

    let err = p
        .add_txt("_acme-challenge.nas.elsewhere.test", "v")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zone of this account holds") && err.contains("wancert.test"),
        "{err}"
    );

    let mut bad =
        providers::build(&section(&pdns.provider_config("wrong-pdns-key")), &env).unwrap();
    let err = bad.add_txt(name, "v").unwrap_err().to_string();
    assert!(
        err.contains("refused the credentials") && err.contains("api_key"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-pdns-key") && !err.contains(pdns.var("PDNS_API_KEY")),
        "{err}"
    );
}

#[test]
fn issues_through_powerdns_end_to_end() {
    let pdns = Pdns::start("pdns-e2e");
    let dir = pdns.dir.path();
    let out = Command::new("bash")
        .arg(lab("pebble.sh"))
        .arg(dir)
        .arg(pdns.var("PDNS_PORT"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pebble did not start (run tests/setup.sh): {}",
        text(&out)
    );
    let pebble = env_file(&dir.join("pebble.env"));
    // Pebble makes a new root at every start: the chain verifies against it.
    let root = dir.join("pebble-root.pem");
    let out = Command::new("python3")
        .args([
            "-c",
            "import ssl,sys,urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2]), timeout=5).read().decode())",
            &format!("{}/roots/0", pebble["PEBBLE_MGMT"]),
            &pebble["PEBBLE_CA"],
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    fs::write(&root, &out.stdout).unwrap();

    let conf = dir.join("wancert.conf");
    fs::write(
        &conf,
        format!(
            "config wancert 'global'\n\toption acme_server '{url}'\n\toption ca_file '{ca}'\n\toption state_dir '{d}/state'\n\toption run_dir '{d}/run'\n\tlist propagation_server '127.0.0.1:{port}'\n\toption propagation_timeout '20'\n\toption propagation_interval '1'\n\n{prov}\nconfig cert 'demo'\n\tlist domain 'demo.wancert.test'\n\tlist domain '*.demo.wancert.test'\n\toption provider 'p'\n",
            url = pebble["PEBBLE_URL"],
            ca = pebble["PEBBLE_CA"],
            d = dir.display(),
            port = pdns.var("PDNS_PORT"),
            prov = pdns.provider_config(pdns.var("PDNS_API_KEY")),
        ),
    )
    .unwrap();
    let out = wancert(&["--config", conf.to_str().unwrap(), "run"]);
    assert!(out.status.success(), "run failed: {}", text(&out));
    assert!(
        !text(&out).contains(pdns.var("PDNS_API_KEY")),
        "the api key was logged"
    );

    let certs = dir.join("state/certs/demo");
    let pem = fs::read_to_string(certs.join("fullchain.pem")).unwrap();
    let end = "-----END CERTIFICATE-----\n";
    let split = pem.find(end).unwrap() + end.len();
    let (leaf, rest) = (dir.join("leaf.pem"), dir.join("rest.pem"));
    fs::write(&leaf, &pem[..split]).unwrap();
    fs::write(&rest, &pem[split..]).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .args([&rest, &leaf])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chain does not verify: {}",
        text(&out)
    );
    let names = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&names.stdout);
    assert!(
        names.contains("DNS:demo.wancert.test") && names.contains("DNS:*.demo.wancert.test"),
        "{names}"
    );
    let pubkey = |args: &[&str], file: &Path| {
        Command::new("openssl")
            .args(args)
            .arg(file)
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(
        pubkey(&["x509", "-noout", "-pubkey", "-in"], &leaf),
        pubkey(&["pkey", "-pubout", "-in"], &certs.join("key.pem")),
        "the key does not match the certificate"
    );
    assert!(
        pdns.dig("TXT", "_acme-challenge.demo.wancert.test")
            .is_empty(),
        "TXT values left behind"
    );
}
