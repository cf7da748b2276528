//! Concurrency (issue #8, point 5): cron's `run`, LuCI's "Renew now" and
//! the WAN hotplug's `ddns` start at the same moment against the lab. One
//! run works; the others say another run is in progress and exit 1 (the
//! documented code), except `ddns`, which waits for the lock by design. A
//! run killed with SIGKILL while it holds the lock does not block the next:
//! the kernel drops the lock with the process.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, status, text};

const BUSY: &str = "another wancert run is in progress; this one stops";

fn spawn(config: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wancert"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("WANCERT_LOG", "stderr")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A variant of the lab's configuration whose runs wait `secs` after
/// publishing the TXT values (option propagation_wait): long enough for
/// the others to meet its lock.
fn slow(lab: &Lab, secs: u32) -> std::path::PathBuf {
    lab.config_variant(&format!("slow{secs}.conf"), |t| {
        t.replace(
            "config wancert 'global'\n",
            &format!("config wancert 'global'\n\toption propagation_wait '{secs}'\n"),
        )
    })
}

#[test]
fn one_run_at_a_time_and_a_killed_holder_blocks_nothing() {
    let lab = Lab::up("lock");
    let config = slow(&lab, 4);
    let fullchain = lab.state().join("certs/demo/fullchain.pem");

    // cron, LuCI's "Renew now" and a second trigger at once, and hotplug's
    // ddns.
    let runs: Vec<(&str, Child)> = [
        ("cron", vec!["run"]),
        ("luci", vec!["renew", "--force"]),
        ("again", vec!["run"]),
        ("hotplug", vec!["ddns"]),
    ]
    .into_iter()
    .map(|(who, args)| (who, spawn(&config, &args)))
    .collect();
    // While one holds the lock, LuCI's detached start refuses at once.
    std::thread::sleep(Duration::from_millis(1500));
    let out = Command::new(env!("CARGO_BIN_EXE_wancert"))
        .arg("--config")
        .arg(&config)
        .args(["--background", "renew", "--force"])
        .env("WANCERT_LOG", "stderr")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("already in progress; not starting another"),
        "{}",
        text(&out)
    );
    assert_eq!(status(&config)["running"], true);

    let outs: Vec<(&str, Output)> = runs
        .into_iter()
        .map(|(who, c)| (who, c.wait_with_output().unwrap()))
        .collect();
    let all: String = outs
        .iter()
        .map(|(who, o)| format!("--- {who}: {:?}\n{}", o.status.code(), text(o)))
        .collect();
    let (hotplug, certs): (Vec<_>, Vec<_>) = outs.iter().partition(|(who, _)| *who == "hotplug");
    let worked: Vec<_> = certs
        .iter()
        .filter(|(_, o)| text(o).contains("installed a certificate"))
        .collect();
    assert_eq!(worked.len(), 1, "exactly one run issues: {all}");
    assert_eq!(worked[0].1.status.code(), Some(0), "{all}");
    assert_eq!(all.matches("order placed").count(), 1, "one order: {all}");
    for (who, o) in &certs {
        if text(o).contains("installed a certificate") {
            continue;
        }
        assert_eq!(o.status.code(), Some(1), "{who}: {all}");
        assert!(text(o).contains(BUSY), "{who}: {all}");
        assert!(!text(o).contains("ACME"), "{who} did work: {all}");
    }
    // ddns waits for the lock instead (hotplug fires once per interface).
    assert_eq!(hotplug[0].1.status.code(), Some(0), "{all}");
    assert!(!text(&hotplug[0].1).contains(BUSY), "{all}");
    assert_eq!(status(&config)["running"], false);

    // A run killed while it holds the lock (here waiting out a 60 s
    // propagation wait, after publishing) blocks nothing.
    let old = std::fs::read(&fullchain).unwrap();
    let mut holder = spawn(&slow(&lab, 60), &["renew", "--force"]);
    let t0 = Instant::now();
    while status(&config)["running"] != true || !lab.state().join("certs/demo/order.json").exists()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    assert!(
        lab.dir.path().join("run/lock").exists(),
        "the lock file stays"
    );
    assert_eq!(status(&config)["running"], false, "the lock went with it");
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_wancert"))
        .arg("--config")
        .arg(lab.config())
        .arg("run")
        .env("WANCERT_LOG", "stderr")
        .output()
        .unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains(BUSY), "{log}");
    assert!(log.contains("resuming the interrupted order"), "{log}");
    assert_ne!(std::fs::read(&fullchain).unwrap(), old, "{log}");
    eprintln!(
        "the run after the killed holder took {} ms",
        t0.elapsed().as_millis()
    );
}
