//! The exec provider against a small script that records its argv: each
//! verb's arguments arrive separately and verbatim (no shell), a failure
//! quotes the script's last stderr line, and a hung script is killed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use common::TempDir;
use common::provider::{config, http, section};
use wancert::clock::FakeClock;
use wancert::providers::{self, Env, Family};

const SCRIPT: &str = r#"#!/bin/sh
# One argument a line, then an end marker.
for a in "$@"; do printf '%s\n' "$a"; done >> "$(dirname "$0")/argv.log"
echo -- >> "$(dirname "$0")/argv.log"
case "$3" in
fail.*) echo "some detail" >&2; echo "zone not found at the provider" >&2; exit 3 ;;
slow.*) sleep 20 ;;
esac
exit 0
"#;

#[test]
fn exec_runs_the_command_with_separate_verbatim_arguments() {
    let dir = TempDir::new("exec");
    let script = dir.path().join("hook.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("argv.log");
    let canary = dir.path().join("pwned");

    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let text = config(
        "exec",
        &[
            format!("list command '{}'", script.display()),
            "list command '--zone-hint'".into(),
            "option timeout '2'".into(),
        ],
    );
    let mut p = providers::build(&section(&text), &env).unwrap();

    // A shell would run this; an argv passes it on as one argument.
    let nasty = format!("v$(touch {}) `id` ; | & 'q' \"d\" *", canary.display());
    p.add_txt("_acme-challenge.nas.example.com", &nasty)
        .unwrap();
    p.remove_txt("_acme-challenge.nas.example.com", "plain")
        .unwrap();
    let addrs = ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
    p.set_address("nas.example.com", Family::V4, &addrs, 300)
        .unwrap();
    let six = ["2001:db8::1".parse().unwrap()];
    p.set_address("nas.example.com", Family::V6, &six, 300)
        .unwrap();

    let got = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<Vec<&str>> = got
        .split("--\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().collect())
        .collect();
    assert_eq!(
        calls,
        [
            vec![
                "--zone-hint",
                "present",
                "_acme-challenge.nas.example.com",
                nasty.as_str()
            ],
            vec![
                "--zone-hint",
                "cleanup",
                "_acme-challenge.nas.example.com",
                "plain"
            ],
            vec![
                "--zone-hint",
                "set-address",
                "nas.example.com",
                "A",
                "192.0.2.1",
                "192.0.2.2"
            ],
            vec![
                "--zone-hint",
                "set-address",
                "nas.example.com",
                "AAAA",
                "2001:db8::1"
            ],
        ]
    );
    assert!(!canary.exists(), "a shell ran the value");

    let err = p.add_txt("fail.example.com", "v").unwrap_err().to_string();
    assert!(
        err.contains("exec provider")
            && err.ends_with("zone not found at the provider")
            && err.contains("exit code 3"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    let start = Instant::now();
    let err = p.add_txt("slow.example.com", "v").unwrap_err().to_string();
    assert!(
        start.elapsed().as_secs() < 10,
        "the timeout did not stop it"
    );
    assert!(
        err.contains("still running after 2 s") && err.contains("option timeout"),
        "{err}"
    );

    let bad = config("exec", &["option command '/nonexistent/hook'".into()]);
    let err = providers::build(&section(&bad), &env)
        .unwrap()
        .add_txt("a.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot run /nonexistent/hook"), "{err}");
    let bad = config(
        "exec",
        &[
            "option command '/bin/true'".into(),
            "option timeout 'soon'".into(),
        ],
    );
    let err = providers::build(&section(&bad), &env)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(":4:") && err.contains("timeout"), "{err}");
}
