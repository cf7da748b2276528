//! A misbehaving CA (issue #8, point 3): pebble behind a fault-injecting
//! proxy (`tests/lab/acmeproxy.py`, started by `acmeproxy.sh`). Each fault
//! must end in a bounded number of requests, a clear message, and a
//! back-off recorded for the next cron run (at least as long as the CA's
//! Retry-After), and the next run with the fault gone must finish the job —
//! resuming the same order where there is one.
//!
//! The proxy counts every request it forwards or answers, so the bounds are
//! asserted on what actually reached "the CA".

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::{Lab, Service, ok, status, text, wancert};

struct Faulty {
    proxy: Service,
    config: PathBuf,
    // Dropped last: the proxy stops before the lab.
    lab: Lab,
}

impl Faulty {
    fn up(tag: &str) -> Faulty {
        let lab = Lab::up(tag);
        let proxy = Service::start("acmeproxy.sh", lab.dir.path(), &[], "acmeproxy.env");
        let url = proxy.var("PROXY_URL").to_string();
        let config = lab.config_variant("proxy.conf", |t| t.replace(lab.var("ACME_URL"), &url));
        Faulty { proxy, config, lab }
    }

    /// Replace the proxy's rules (see `acmeproxy.py`) and forget the
    /// requests counted so far.
    fn rules(&self, rules: serde_json::Value) {
        fs::write(self.proxy.var("PROXY_RULES"), rules.to_string()).unwrap();
        fs::write(self.proxy.var("PROXY_LOG"), "").unwrap();
    }

    /// The requests the proxy saw since the last `rules`: "METHOD PATH ACTION".
    fn requests(&self) -> Vec<String> {
        fs::read_to_string(self.proxy.var("PROXY_LOG"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.contains(path)).count()
    }

    /// Run `args`, expecting the certificate to fail (exit 2).
    fn fails(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = wancert(&all);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        log
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(&self.config, args)
    }

    /// Seconds from now until `status --json`'s next_attempt.
    fn next_attempt_in(&self) -> i64 {
        let st = status(&self.config);
        let at = st["certs"][0]["next_attempt"]
            .as_str()
            .unwrap_or_else(|| panic!("no next_attempt: {st}"))
            .to_string();
        unix(&["-d", &at]) - unix(&[])
    }

    fn order_file(&self) -> PathBuf {
        self.lab.state().join("certs/demo/order.json")
    }
}

/// `date -u ARGS +%s`.
fn unix(args: &[&str]) -> i64 {
    let out = Command::new("date")
        .arg("-u")
        .args(args)
        .arg("+%s")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// An IMF-fixdate (RFC 9110 §5.6.7) `secs` from now.
fn http_date(secs: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{}", unix(&[]) + secs)])
        .arg("+%a, %d %b %Y %H:%M:%S GMT")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn near(got: i64, want: i64) {
    assert!(
        (want - 120..=want + 5).contains(&got),
        "{got} s, want about {want} s"
    );
}

/// rateLimited with Retry-After in both forms, a 503 from a load balancer,
/// and a badNonce storm: one request each (six for the storm), a clear
/// message, and a back-off that a cron `run` honours without a single
/// request. Then a short badNonce storm and unknown challenge types are
/// weathered, and the certificate is issued.
#[test]
fn rate_limits_outages_and_nonce_storms_are_bounded_and_backed_off() {
    let f = Faulty::up("ca-limits");

    f.rules(serde_json::json!([
        {"path": "order-plz", "action": "rateLimited", "retry_after": 7200}
    ]));
    let log = f.fails(&["run"]);
    assert!(log.contains("rateLimited"), "{log}");
    assert!(log.contains("the CA asks not to try again before"), "{log}");
    assert_eq!(f.count("POST /order-plz"), 1, "{:?}", f.requests());
    near(f.next_attempt_in(), 7200);

    // The next cron run stays away from the CA altogether.
    f.rules(serde_json::json!([]));
    let out = wancert(&["--config", f.config.to_str().unwrap(), "run"]);
    assert!(text(&out).contains("the next one is at"), "{}", text(&out));
    assert_eq!(f.requests(), Vec::<String>::new());

    // The HTTP-date form, three hours ahead (longer than the back-off).
    let date = http_date(3 * 3600);
    f.rules(serde_json::json!([
        {"path": "order-plz", "action": "rateLimited", "retry_after": date}
    ]));
    f.fails(&["renew"]);
    assert_eq!(f.count("POST /order-plz"), 1);
    near(f.next_attempt_in(), 3 * 3600);

    // A 503 page without a problem document, with Retry-After.
    f.rules(serde_json::json!([
        {"path": "order-plz", "action": "unavailable", "retry_after": 60}
    ]));
    let log = f.fails(&["renew"]);
    assert!(log.contains("HTTP 503 during the new order"), "{log}");
    assert!(log.contains("the CA asks not to try again before"), "{log}");
    assert_eq!(f.count("POST /order-plz"), 1);

    // A storm of badNonce: a few retries, not a loop.
    f.rules(serde_json::json!([
        {"path": "order-plz", "action": "badNonce"}
    ]));
    let log = f.fails(&["renew"]);
    assert!(log.contains("badNonce"), "{log}");
    assert_eq!(f.count("POST /order-plz"), 6, "one try and five retries");

    // A short storm, and authorizations listing challenge types we do not
    // use: issued, and the unknown challenges are never touched.
    f.rules(serde_json::json!([
        {"path": "order-plz", "action": "badNonce", "times": 3},
        {"path": "authZ", "action": "unknownChallenges"}
    ]));
    let log = f.ok(&["renew"]);
    assert!(log.contains("installed a certificate"), "{log}");
    assert!(f.count("unknownChallenges") >= 2, "{:?}", f.requests());
    assert_eq!(f.count("unused-"), 0, "{:?}", f.requests());
    let st = status(&f.config);
    assert_eq!(st["certs"][0]["installed"], true, "{st}");
    assert!(st["certs"][0].get("failures").is_none(), "reset: {st}");
    assert!(st["certs"][0].get("last_error").is_none(), "{st}");
}

/// serverInternal during finalize, then an order the CA keeps "processing"
/// with a Retry-After longer than the run may wait: each fails at once
/// (one finalize, at most one poll), keeps the order on flash, and the next
/// run resumes that same order instead of placing a new one.
#[test]
fn finalize_errors_and_stuck_orders_are_resumed_by_the_next_run() {
    let f = Faulty::up("ca-finalize");

    f.rules(serde_json::json!([
        {"path": "finalize-order", "action": "serverInternal", "times": 1}
    ]));
    let log = f.fails(&["run"]);
    assert!(
        log.contains("ACME server refused finalization (HTTP 500)")
            && log.contains("serverInternal"),
        "{log}"
    );
    assert_eq!(f.count("POST /finalize-order"), 1);
    assert!(f.order_file().exists(), "the order is kept");

    f.rules(serde_json::json!([]));
    let out = wancert(&["--config", f.config.to_str().unwrap(), "run"]);
    assert!(text(&out).contains("the next one is at"), "{}", text(&out));
    assert_eq!(f.requests(), Vec::<String>::new(), "backed off: no request");

    let log = f.ok(&["renew"]);
    assert!(log.contains("resuming the interrupted order"), "{log}");
    assert!(!log.contains("order placed"), "a second order: {log}");
    assert!(log.contains("installed a certificate"), "{log}");
    assert!(!f.order_file().exists());
    let first = fs::read(f.lab.state().join("certs/demo/fullchain.pem")).unwrap();

    f.rules(serde_json::json!([
        {"path": "finalize-order", "action": "processing", "retry_after": 7200},
        {"path": "my-order", "action": "processing", "retry_after": 7200,
         "after": "finalize-order"}
    ]));
    let log = f.fails(&["renew", "--force"]);
    assert!(
        log.contains("certificate issuance is not done, and the CA asks to check again in 7200 s"),
        "{log}"
    );
    assert_eq!(f.count("POST /finalize-order"), 1);
    assert!(f.count("POST /my-order") <= 1, "{:?}", f.requests());
    assert!(f.order_file().exists(), "the order is kept");
    near(f.next_attempt_in(), 7200);
    assert_eq!(
        fs::read(f.lab.state().join("certs/demo/fullchain.pem")).unwrap(),
        first,
        "the old certificate stays"
    );

    f.rules(serde_json::json!([]));
    let log = f.ok(&["renew"]);
    assert!(log.contains("resuming the interrupted order"), "{log}");
    assert!(!log.contains("order placed"), "a second order: {log}");
    assert_eq!(f.count("POST /finalize-order"), 0, "already finalized");
    assert!(!f.order_file().exists());
    assert_ne!(
        fs::read(f.lab.state().join("certs/demo/fullchain.pem")).unwrap(),
        first
    );
}
