//! ACME against acme2certifier 0.46.3 (PyPI, installed by tests/setup.sh):
//! renewal information (RFC 9773), profiles, dns-persist-01, revocation and
//! key change. Each test has its own instance: its SQLite store wants one
//! client at a time.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Lab, ok, serial, status, text, wancert};

fn a2c(tag: &str, env: &[(&str, &str)]) -> Lab {
    let mut all = vec![("LAB_CA", "a2c")];
    all.extend_from_slice(env);
    Lab::up_with(tag, &all)
}

/// Lines in acme2certifier's request log.
fn requests(lab: &Lab) -> Vec<String> {
    fs::read_to_string(lab.dir.path().join("a2c/a2c.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\" 200 ") || l.contains("\" 201 ") || l.contains("\" 4"))
        .map(String::from)
        .collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn unix(rfc3339: &serde_json::Value) -> i64 {
    let s = rfc3339
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {rfc3339}"));
    let out = Command::new("date")
        .args(["-u", "-d", s, "+%s"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The renewal plan comes from the CA's window; a run with nothing due and
/// no check due asks the CA nothing and writes nothing; after a reboot
/// (run_dir emptied) one check is made. A profile the CA offers is used;
/// one it does not offer fails with the list of those it does.
#[test]
fn ari_plan_profiles_and_the_quiet_run() {
    let lab = a2c("a2c-ari", &[]);
    let config = lab.config_with("profile.conf", "\toption profile 'shortlived'\n");
    let log = ok(&config, &["run"]);
    assert!(log.contains("the CA suggests renewing between"), "{log}");

    let st = status(&config);
    let c = &st["certs"][0];
    assert_eq!(c["profile"], "shortlived");
    let (start, end) = (unix(&c["ari_window_start"]), unix(&c["ari_window_end"]));
    let (nb, na) = (unix(&c["not_before"]), unix(&c["not_after"]));
    // acme2certifier's window starts when 85% of the lifetime has passed.
    assert!((start - (nb + (na - nb) * 85 / 100)).abs() <= 86400, "{c}");
    assert!(end <= na && start < end, "{c}");
    let renew_at = unix(&c["renew_at"]);
    assert!(
        (start..end).contains(&renew_at),
        "renew_at outside the window: {c}"
    );
    let next = unix(&c["next_ari_check"]);
    assert!(
        (next - now() - 86400).abs() < 300,
        "Retry-After 86400 respected: {c}"
    );
    let human = ok(&config, &["status"]);
    assert!(human.contains("CA's renewal window:"), "{human}");

    // Nothing due, no check due: not one request, not one write.
    let before = requests(&lab);
    let state = snapshot(&lab.state());
    let log = ok(&config, &["run"]);
    assert_eq!(requests(&lab), before, "a quiet run asked the CA: {log}");
    assert_eq!(
        snapshot(&lab.state()),
        state,
        "a quiet run wrote to state_dir"
    );

    // A reboot empties run_dir: the next run asks once, and keeps its choice
    // only if the window is the same (it is).
    fs::remove_file(lab.dir.path().join("run/state.json")).unwrap();
    ok(&config, &["run"]);
    let asked: Vec<String> = requests(&lab).into_iter().skip(before.len()).collect();
    assert!(
        asked.iter().any(|l| l.contains("GET /acme/renewal-info/")),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|l| l.contains("neworders")),
        "no order: {asked:?}"
    );
    assert_eq!(
        snapshot(&lab.state()),
        state,
        "an ARI check writes no flash"
    );

    let bad = lab.config_with("bad.conf", "\toption profile 'longlived'\n");
    let out = wancert(&["--config", bad.to_str().unwrap(), "renew", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(
        msg.contains("offers no profile 'longlived'")
            && msg.contains("classic")
            && msg.contains("shortlived")
            && msg.contains("tlsserver"),
        "{msg}"
    );
}

/// Every file under `dir` with its modification time and size.
fn snapshot(dir: &Path) -> Vec<(String, SystemTime, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().display().to_string(),
                    meta.modified().unwrap(),
                    meta.len(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// When the CA's window opens (here: two seconds wide, from issuance), the
/// next run renews, long before a third of the lifetime is left.
#[test]
fn renewal_follows_the_ca_window() {
    let lab = a2c(
        "a2c-window",
        &[("A2C_RENEWAL_PCTG", "0"), ("A2C_RENEWAL_WINDOW", "2s")],
    );
    let config = lab.config();
    ok(&config, &["run"]);
    let fullchain = lab.state().join("certs/demo/fullchain.pem");
    let first = serial(&fullchain);
    let st = status(&config);
    let c = &st["certs"][0];
    let end = unix(&c["ari_window_end"]);
    assert!(unix(&c["not_after"]) - end > 20 * 86400, "{c}");
    let wait = end + 1 - now();
    if wait > 0 {
        std::thread::sleep(Duration::from_secs(wait as u64));
    }
    let log = ok(&config, &["run"]);
    assert!(
        log.contains("the moment chosen in the CA's renewal window"),
        "{log}"
    );
    assert_ne!(serial(&fullchain), first);
}

/// dns-persist-01: `persist-record --publish` puts the one standing record
/// in place; issuance then changes no DNS record. The certificate names its
/// own CA (`acme_server` in `config cert`); the global one is unreachable.
#[test]
fn dns_persist_01_needs_no_dns_change_at_issuance() {
    let lab = a2c("a2c-persist", &[]);
    let url = lab.var("ACME_URL").to_string();
    let config = lab.config_variant("persist.conf", |t| {
        t.replace(&format!("option acme_server '{url}'"), "option acme_server 'https://127.0.0.1:9/dir'")
            .replace(
                "\toption provider 'lab'\n",
                &format!("\toption provider 'lab'\n\toption challenge 'dns-persist-01'\n\toption acme_server '{url}'\n"),
            )
    });
    let printed = ok(&config, &["persist-record", "demo"]);
    let record = "_validation-persist.demo.wancert.test";
    let issuer = lab.var("A2C_ISSUER");
    let line = printed
        .lines()
        .find(|l| l.starts_with(record))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        line.contains(&format!("\"{issuer}; accounturi=http://127.0.0.1"))
            && line.ends_with("; policy=wildcard\""),
        "{line}"
    );
    assert!(lab.txt(record).is_empty(), "printing publishes nothing");

    // Without the record the CA refuses, and the error says what to do.
    let out = wancert(&["--config", config.to_str().unwrap(), "renew"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("wancert persist-record demo"),
        "{}",
        text(&out)
    );

    ok(&config, &["persist-record", "demo", "--publish"]);
    let published = lab.txt(record);
    assert_eq!(published.len(), 1, "{published:?}");
    let log = ok(&config, &["-v", "renew"]);
    assert!(!log.contains("published TXT"), "{log}");
    assert!(!log.contains("added TXT"), "{log}");
    assert!(lab.state().join("certs/demo/fullchain.pem").exists());
    assert_eq!(lab.txt(record), published, "the standing record stays");
    let st = status(&config);
    assert_eq!(st["certs"][0]["challenge"], "dns-persist-01");
    assert_eq!(st["certs"][0]["acme_server"], url.as_str());
}

/// Revocation with the account key (acme2certifier cannot revoke with the
/// certificate's own key), seen in the CA's CRL; then a key change.
#[test]
fn revoke_and_key_change_against_acme2certifier() {
    let lab = a2c("a2c-revoke", &[]);
    let config = lab.config();
    ok(&config, &["run"]);
    let fullchain = lab.state().join("certs/demo/fullchain.pem");
    let old = serial(&fullchain);
    ok(&config, &["revoke", "demo", "--reason", "superseded"]);
    let crl = Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(lab.dir.path().join("a2c/crl.pem"))
        .output()
        .unwrap();
    let crl = String::from_utf8_lossy(&crl.stdout).to_ascii_lowercase();
    // (acme2certifier accepts the reason but does not write it in its CRL.)
    assert!(crl.contains(&old), "serial {old} not in the CRL:\n{crl}");
    let log = ok(&config, &["run"]);
    assert!(log.contains("revoked: replacing it"), "{log}");
    assert_ne!(serial(&fullchain), old);

    let key = fs::read(lab.state().join("account.key")).unwrap();
    ok(&config, &["account", "rollover"]);
    assert_ne!(fs::read(lab.state().join("account.key")).unwrap(), key);
    let log = ok(&config, &["renew", "--force"]);
    assert!(!log.contains("created the ACME account"), "{log}");
}
