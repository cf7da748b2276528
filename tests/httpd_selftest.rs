//! The test HTTP server itself, through wancert's real HTTP client.

mod common;

use common::httpd::{Response, Server};
use wancert::http::{Http, Request, UreqHttp};

#[test]
fn records_requests_and_answers_errors_as_responses() {
    let server = Server::start(|r| match r.path() {
        "/ok" => Response::json(200, serde_json::json!({"q": r.query()})),
        _ => Response::text(404, "nope"),
    });
    // UreqHttp needs some trusted roots; the system bundle is there on Debian.
    let http = UreqHttp::new(None, std::time::Duration::from_secs(5)).unwrap();
    let resp = http
        .get(&format!("{}/ok?a=1&b=x%20y", server.url()))
        .unwrap();
    assert_eq!(resp.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(v["q"], serde_json::json!([["a", "1"], ["b", "x y"]]));
    let body = br#"{"k":1}"#;
    let req = Request {
        method: "POST",
        url: &format!("{}/missing", server.url()),
        headers: &[("x-t", "1")],
        body: Some(("application/json", body)),
    };
    let resp = http.send(&req).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (404, &b"nope"[..]));
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].method, "POST");
    assert_eq!(seen[1].header("x-t"), Some("1"));
    assert_eq!(seen[1].json()["k"], 1);
}
