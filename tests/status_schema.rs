//! `status --json` against its documented schema: the field tables of
//! docs/status.md are parsed, and real output of the binary must use only
//! documented fields, of the documented types, with every required one. Also
//! the LuCI "Run now" flow: `--background run` returns at once, `status` says
//! running until the run ends, then shows how it ended.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TempDir, text, wancert};
use serde_json::Value;

/// field → (type, required), per object heading of docs/status.md.
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn schema() -> Schema {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.md"))
        .unwrap();
    let mut out = Schema::new();
    let mut object = String::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## Document") {
            assert!(h.is_empty());
            object = "document".into();
        } else if let Some(h) = line.strip_prefix("### ") {
            object = h.trim().to_string();
        } else if line.starts_with("| ") && !line.starts_with("| field") && !object.is_empty() {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let required = match cells[2] {
                "yes" => true,
                "no" => false,
                other => panic!("docs/status.md: required is '{other}' in {line}"),
            };
            out.entry(object.clone())
                .or_default()
                .insert(cells[0].to_string(), (cells[1].to_string(), required));
        }
    }
    assert!(out.len() >= 6, "docs/status.md tables not found: {out:?}");
    out
}

fn is_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

/// Check `value` against the table `object`; nested objects against the
/// table named by the field (`certs` → `certs[]`).
fn check(schema: &Schema, object: &str, value: &Value, at: &str) {
    let table = schema
        .get(object)
        .unwrap_or_else(|| panic!("no table {object}"));
    let map = value
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not an object"));
    for (field, (_, required)) in table {
        assert!(
            !required || map.contains_key(field),
            "{at}: required field {field} is missing"
        );
    }
    for (field, v) in map {
        let at = format!("{at}.{field}");
        let (ty, _) = table
            .get(field)
            .unwrap_or_else(|| panic!("{at} is not in docs/status.md"));
        assert!(
            !v.is_null(),
            "{at} is null: optional fields are left out instead"
        );
        let ok = match ty.as_str() {
            "string" => v.is_string(),
            "time" => is_time(v),
            "integer" => v.is_i64(),
            "boolean" => v.is_boolean(),
            "string[]" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "object" => {
                check(schema, field, v, &at);
                true
            }
            "object[]" => {
                for (i, item) in v
                    .as_array()
                    .unwrap_or_else(|| panic!("{at} is not an array"))
                    .iter()
                    .enumerate()
                {
                    check(schema, &format!("{field}[]"), item, &format!("{at}[{i}]"));
                }
                true
            }
            other => panic!("docs/status.md: unknown type {other} for {at}"),
        };
        assert!(ok, "{at} = {v} is not of type {ty}");
    }
}

/// An ACME "server" that accepts and holds each connection for a while,
/// then drops it: runs against it take that long, then fail.
fn slow_server(hold: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            std::thread::sleep(hold);
            drop(s);
        }
    });
    port
}

fn setup(dir: &Path, acme_port: u16) -> String {
    let state = dir.join("state");
    let certs = state.join("certs/nas");
    std::fs::create_dir_all(&certs).unwrap();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "90", "-subj", "/CN=nas.example.com"])
        .args(["-addext", "subjectAltName=DNS:nas.example.com"])
        .arg("-keyout")
        .arg(certs.join("key.pem"))
        .arg("-out")
        .arg(certs.join("fullchain.pem"))
        .output()
        .expect("openssl runs (run tests/setup.sh)");
    assert!(out.status.success(), "{}", text(&out));
    // A DDNS record whose addresses come from a script; nothing answers
    // DNS on 127.0.0.1:1 or :53, so its update fails and status shows why.
    let myip = dir.join("myip");
    std::fs::write(&myip, "#!/bin/sh\necho 203.0.113.45 2001:db8::45\n").unwrap();
    std::fs::set_permissions(&myip, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let conf = format!(
        "config wancert 'global'
\toption acme_server 'http://127.0.0.1:{acme_port}/dir'
\toption state_dir '{state}'
\toption run_dir '{run}'
\tlist propagation_server '127.0.0.1:1'

config ddns 'home'
\toption provider 'dns'
\toption domain 'home.example.com'
\toption source 'script'
\tlist script '{myip}'
\toption nat_check '0'

config provider 'dns'
\toption type 'rfc2136'
\toption server '127.0.0.1'
\toption tsig_name 'k'
\toption tsig_secret 'c2VjcmV0c2VjcmV0c2VjcmV0'

config cert 'nas'
\tlist domain 'nas.example.com'
\toption provider 'dns'
\tlist deploy 'files'

config cert 'new'
\tlist domain 'new.example.com'
\toption provider 'dns'

config deploy 'files'
\toption type 'file'
\toption fullchain_path '{deployed}/fullchain.pem'
\toption key_path '{deployed}/key.pem'
",
        state = state.display(),
        run = dir.join("run").display(),
        myip = myip.display(),
        deployed = dir.join("deployed").display(),
    );
    let path = dir.join("wancert.conf");
    std::fs::write(&path, conf).unwrap();
    std::fs::create_dir_all(dir.join("deployed")).unwrap();
    path.display().to_string()
}

fn status(conf: &str) -> Value {
    let out = wancert(&["--config", conf, "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

#[test]
fn status_json_follows_the_documented_schema() {
    let schema = schema();
    let tmp = TempDir::new("status-schema");
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = setup(tmp.path(), closed);

    // Before any run.
    let s = status(&conf);
    check(&schema, "document", &s, "status");
    assert_eq!(s["version"], 1);
    assert_eq!(s["running"], false);
    assert!(s.get("last_run").is_none());
    assert!(s.get("wan").is_none());
    assert_eq!(s["ddns"][0]["name"], "home");

    // After a run: `new` fails (the CA does not answer), `nas` deploys.
    let out = wancert(&["--config", &conf, "run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let s = status(&conf);
    check(&schema, "document", &s, "status");
    assert_eq!(s["last_run"]["exit_code"], 2);
    // The DDNS pass ran first: the WAN as the script saw it, and the
    // record's failed update.
    assert_eq!(s["wan"]["ipv4"][0], "203.0.113.45", "{s}");
    assert_eq!(s["wan"]["ipv6"][0], "2001:db8::45");
    let home = &s["ddns"][0];
    assert_eq!(
        home["desired"],
        serde_json::json!(["203.0.113.45", "2001:db8::45"])
    );
    assert!(
        home["last_error"].is_string() && is_time(&home["next_attempt"]),
        "{home}"
    );
    let (nas, new) = (&s["certs"][0], &s["certs"][1]);
    assert_eq!(
        (nas["name"].as_str(), new["name"].as_str()),
        (Some("nas"), Some("new"))
    );
    assert_eq!(
        (nas["installed"].as_bool(), nas["due"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(nas["next_attempt"], nas["renew_at"]);
    assert!(
        (88..=90).contains(&nas["days_left"].as_i64().unwrap()),
        "{nas}"
    );
    assert_eq!(nas["deploy"][0]["name"], "files");
    assert_eq!(nas["deploy"][0]["current"], true);
    // It failed just now: it backs off, and says until when.
    assert_eq!(
        (new["installed"].as_bool(), new["due"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(new["failures"], 1, "{new}");
    assert!(new["next_attempt"].is_string(), "{new}");
    assert!(
        new["last_error"].as_str().unwrap().contains("127.0.0.1"),
        "{new}"
    );
    assert!(is_time(&new["last_attempt"]));
}

#[test]
fn background_run_is_seen_running_then_ended() {
    let tmp = TempDir::new("status-background");
    let conf = setup(tmp.path(), slow_server(Duration::from_millis(1500)));

    let started = Instant::now();
    let out = wancert(&["--config", &conf, "--background", "renew", "new"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "--background waited for the run"
    );
    let s = status(&conf);
    assert_eq!(s["running"], true, "{s}");
    assert!(s["last_run"].get("finished").is_none(), "{s}");

    // A second one is refused while the first runs.
    let out = wancert(&["--config", &conf, "--background", "run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = status(&conf);
        if s["running"] == false {
            break s;
        }
        assert!(Instant::now() < deadline, "the background run never ended");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(s["last_run"]["exit_code"], 2, "{s}");
    assert!(is_time(&s["last_run"]["finished"]));
    assert!(s["certs"][1]["last_error"].is_string(), "{s}");
}
