//! A failing DNS provider API (issue #8, point 4), with cloudflare as the
//! example: a fake of its documented API (`/zones`, `/zones/ID/dns_records`)
//! that fails on purpose. The whole run goes through the binary against the
//! lab's pebble: every fault must end in a bounded number of API calls and
//! one clear line naming the provider and the problem, and the fake must
//! hold no TXT record afterwards — also when an answer was lost after the
//! record was created, and when the record never becomes visible.
//! A hanging API is checked at the provider level, with a short timeout.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::httpd::{Request, Response, Server};
use common::provider::{config, section};
use common::{Lab, status, text, wancert};
use wancert::clock::FakeClock;
use wancert::http::UreqHttp;
use wancert::providers::{self, Env};

const ZONE: &str = "wancert.test";

/// What the fake does instead of its job.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    /// Every POST answers 500.
    ServerError,
    /// Every request answers 403, as a wrong token does.
    Forbidden,
    /// The first POST creates the record, then the connection closes
    /// without an answer.
    LostAnswer,
    /// Every request waits this long before answering.
    Hang(u64),
}

/// The records: (id, name, TXT value).
type Records = Arc<Mutex<Vec<(String, String, String)>>>;

fn fake(fault: Fault) -> (Server, Records) {
    let recs: Records = Arc::default();
    let (r, lost) = (recs.clone(), Arc::new(Mutex::new(false)));
    let server = Server::start(move |req: &Request| {
        let ok = |result: Value| {
            Response::json(
                200,
                json!({"success": true, "errors": [], "messages": [], "result": result}),
            )
        };
        match fault {
            Fault::Forbidden => {
                return Response::json(
                    403,
                    json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}),
                );
            }
            Fault::ServerError if req.method == "POST" => {
                return Response::json(
                    500,
                    json!({"success": false, "errors": [{"code": 10001, "message": "Internal error"}]}),
                );
            }
            Fault::Hang(s) => std::thread::sleep(Duration::from_secs(s)),
            _ => {}
        }
        assert_eq!(req.header("authorization"), Some("Bearer cf-token"));
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        let mut recs = r.lock().unwrap();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["zones"]) => {
                let mut resp = ok(json!([{"id": "z1", "name": ZONE, "status": "active"}]));
                let mut body: Value = serde_json::from_slice(&resp.body).unwrap();
                body["result_info"] = json!({"page": 1, "per_page": 50, "count": 1, "total_count": 1, "total_pages": 1});
                resp.body = body.to_string().into_bytes();
                resp
            }
            ("GET", ["zones", "z1", "dns_records"]) => {
                let name = req
                    .query()
                    .into_iter()
                    .find(|(k, _)| k == "name")
                    .unwrap()
                    .1;
                let list: Vec<Value> = recs
                    .iter()
                    .filter(|(_, n, _)| *n == name)
                    .map(|(id, n, v)| json!({"id": id, "type": "TXT", "name": n, "content": format!("\"{v}\""), "ttl": 60}))
                    .collect();
                ok(json!(list))
            }
            ("POST", ["zones", "z1", "dns_records"]) => {
                let b = req.json();
                let value = b["content"].as_str().unwrap().trim_matches('"').to_string();
                let id = format!("r{}", recs.len() + 100);
                recs.push((id.clone(), b["name"].as_str().unwrap().into(), value));
                let mut lost = lost.lock().unwrap();
                if fault == Fault::LostAnswer && !*lost {
                    *lost = true;
                    return Response::text(0, "");
                }
                ok(json!({"id": id}))
            }
            ("DELETE", ["zones", "z1", "dns_records", id]) => {
                recs.retain(|(i, _, _)| i != id);
                ok(json!({"id": id}))
            }
            _ => Response::json(
                404,
                json!({"success": false, "errors": [{"code": 7003, "message": "No route"}]}),
            ),
        }
    });
    (server, recs)
}

/// The lab's configuration with the certificate on a cloudflare provider at
/// `url` and a short propagation timeout.
fn cf_config(lab: &Lab, url: &str, name: &str) -> std::path::PathBuf {
    let provider = format!(
        "config provider 'cf'\n\toption type 'cloudflare'\n\toption endpoint '{url}'\n\toption api_token 'cf-token'\n\n"
    );
    lab.config_variant(name, |t| {
        t.replace("\toption provider 'lab'\n", "\toption provider 'cf'\n")
            .replace(
                "option propagation_timeout '20'",
                "option propagation_timeout '3'",
            )
            .replace(
                "config cert 'demo'",
                &format!("{provider}config cert 'demo'"),
            )
    })
}

fn posts(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

#[test]
fn api_failures_are_bounded_clear_and_leave_no_record() {
    let lab = Lab::up("dns-faults");

    // 500 on every create: four attempts, then one line, nothing left.
    let (server, recs) = fake(Fault::ServerError);
    let config = cf_config(&lab, &server.url(), "500.conf");
    let c = config.to_str().unwrap();
    let out = wancert(&["--config", c, "run"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("cloudflare API answered HTTP 500 4 times to POST"),
        "{log}"
    );
    assert_eq!(posts(&server), 4, "bounded retries");
    assert!(recs.lock().unwrap().is_empty());
    assert!(status(&config)["certs"][0]["next_attempt"].is_string());
    drop(server);

    // A wrong token: refused at once, the fix named, no retry, no secret.
    let (server, recs) = fake(Fault::Forbidden);
    let config = cf_config(&lab, &server.url(), "403.conf");
    let out = wancert(&["--config", config.to_str().unwrap(), "renew"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("cloudflare: the API refused the credentials (HTTP 403")
            && log.contains("check option api_token"),
        "{log}"
    );
    // One refused call for the add, one per value for the cleanup: no
    // retry of a refusal.
    assert_eq!(server.requests().len(), 3, "{:?}", server.requests());
    assert!(!log.contains("cf-token"), "the token is in the log: {log}");
    assert!(recs.lock().unwrap().is_empty());
    drop(server);

    // The first record is created but its answer is lost; the values then
    // never become visible (the fake is not the lab's DNS server). The
    // propagation wait ends in time and every copy is removed.
    let (server, recs) = fake(Fault::LostAnswer);
    let config = cf_config(&lab, &server.url(), "lost.conf");
    let t0 = Instant::now();
    let out = wancert(&["--config", config.to_str().unwrap(), "renew"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("published TXT"), "{log}");
    assert!(log.contains("_acme-challenge.demo.wancert.test"), "{log}");
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert!(posts(&server) >= 2, "the lost create was retried");
    assert!(
        recs.lock().unwrap().is_empty(),
        "left behind: {:?}",
        recs.lock().unwrap()
    );
    assert!(!log.contains("could not remove"), "{log}");
}

/// An API that never answers: each call gives up at the HTTP timeout, a
/// bounded number of times, and the error names the provider.
#[test]
fn a_hanging_api_times_out_a_bounded_number_of_times() {
    let (server, recs) = fake(Fault::Hang(3));
    let http = UreqHttp::new(None, Duration::from_secs(1)).unwrap();
    let clock = FakeClock::at(1_000_000);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let text = config(
        "cloudflare",
        &[
            format!("option endpoint '{}'", server.url()),
            "option api_token 'cf-token'".into(),
        ],
    );
    let mut p = providers::build(&section(&text), &env).unwrap();
    let t0 = Instant::now();
    let err = p
        .add_txt("_acme-challenge.demo.wancert.test", "v")
        .unwrap_err()
        .to_string();
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert!(
        err.contains("cloudflare API") && err.contains("4 attempts"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("timeout") || err.contains("timed out"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert!(recs.lock().unwrap().is_empty());
}
