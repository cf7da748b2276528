//! For the cloud DNS provider tests (`tests/providers_*.rs`): a provider
//! built from config text and pointed at a fake API on `httpd::Server`, the
//! signature check the real services make, injected failures, and paging.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::httpd::{Request, Response, Server};
use wancert::clock::FakeClock;
use wancert::http::UreqHttp;
use wancert::providers::cloud::{Canon, Scheme, canonical_query};
use wancert::providers::{self, DnsProvider, Env};

/// A fake API and what talks to it: the real HTTP client and a fake clock
/// (retries do not really wait).
pub struct Rig<S> {
    pub state: Arc<Mutex<S>>,
    pub server: Server,
    pub http: UreqHttp,
    pub clock: FakeClock,
}

impl<S: Send + 'static> Rig<S> {
    /// Serve `state` with `handler`.
    pub fn start(state: S, handler: fn(&mut S, &Request) -> Response) -> Rig<S> {
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let server = Server::start(move |r| handler(&mut shared.lock().unwrap(), r));
        Rig {
            state,
            server,
            http: UreqHttp::new(None, Duration::from_secs(5)).unwrap(),
            // 2023-11-14T22:13:20Z
            clock: FakeClock::at(1_700_000_000),
        }
    }

    /// A provider of `kind` with `options` and `endpoint` set to this fake,
    /// as `wancert run` builds it: from a parsed config file.
    pub fn provider(&self, kind: &str, options: &[(&str, &str)]) -> Box<dyn DnsProvider + '_> {
        let mut text = format!(
            "config provider 'p'\n\toption type '{kind}'\n\toption endpoint '{}'\n",
            self.server.url()
        );
        for (k, v) in options {
            text.push_str(&format!("\toption {k} '{v}'\n"));
        }
        let config = wancert::config::parse("/etc/config/wancert", &text).unwrap();
        let env = Env {
            http: &self.http,
            clock: &self.clock,
        };
        match providers::build(&config.providers[0], &env) {
            Ok(p) => p,
            Err(e) => panic!("{kind} does not build: {e}"),
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, S> {
        self.state.lock().unwrap()
    }

    /// The requests the fake saw.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

/// A failure to answer instead of doing the request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Status(u16),
    /// The API's own "slow down" answer.
    Busy,
}

/// The next injected fault, if any.
pub fn fault(faults: &mut VecDeque<Fault>) -> Option<Fault> {
    faults.pop_front()
}

/// `items[offset..]`, at most `min(limit, max)` of them: the fakes serve
/// small pages whatever the client asks, so that paging is exercised.
pub fn page<T: Clone>(items: &[T], offset: usize, limit: usize, max: usize) -> Vec<T> {
    items
        .iter()
        .skip(offset)
        .take(limit.min(max))
        .cloned()
        .collect()
}

/// `name` relative to `zone` (`@` at the apex), both without trailing dot.
pub fn rr(name: &str, zone: &str) -> String {
    let (name, zone) = (name.trim_end_matches('.'), zone.trim_end_matches('.'));
    if name.eq_ignore_ascii_case(zone) {
        return "@".into();
    }
    name.strip_suffix(&format!(".{zone}"))
        .unwrap_or(name)
        .to_string()
}

/// Why a signature was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Malformed(&'static str),
    UnknownId,
    BadSignature,
}

/// Check an HMAC-SHA256 `Authorization` header (SigV4, TC3, Huawei) as the
/// service does: rebuild the canonical request from the request as received
/// and the headers the header names, sign it with the secret of the id it
/// names, and compare. `time_header` carries the signing time. Returns the
/// credential scope (empty for Huawei).
pub fn check_hmac256(
    req: &Request,
    scheme: &Scheme,
    keys: &[(&str, &str)],
    time_header: &str,
    slash: bool,
) -> Result<Vec<String>, Refusal> {
    let auth = req
        .header("authorization")
        .ok_or(Refusal::Malformed("no Authorization header"))?;
    let rest = auth
        .strip_prefix(scheme.algorithm)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(Refusal::Malformed("another algorithm"))?;
    let fields: Vec<(&str, &str)> = rest.split(", ").filter_map(|f| f.split_once('=')).collect();
    let get = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let (id, scope): (&str, Vec<&str>) = match (get("Credential"), get("Access")) {
        (Some(c), None) => {
            let mut parts = c.split('/');
            (parts.next().unwrap_or_default(), parts.collect())
        }
        (None, Some(a)) => (a, Vec::new()),
        _ => return Err(Refusal::Malformed("no Credential or Access")),
    };
    let names = get("SignedHeaders").ok_or(Refusal::Malformed("no SignedHeaders"))?;
    let signature = get("Signature").ok_or(Refusal::Malformed("no Signature"))?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::Malformed("the signature is not 64 hex digits"));
    }
    if !names.split(';').any(|n| n == "host") {
        return Err(Refusal::Malformed("host is not signed"));
    }
    let time = req
        .header(time_header)
        .ok_or(Refusal::Malformed("no time header"))?;
    let secret = keys
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, s)| *s)
        .ok_or(Refusal::UnknownId)?;
    let mut headers = Vec::new();
    for n in names.split(';') {
        let v = req
            .header(n)
            .ok_or(Refusal::Malformed("a signed header is missing"))?;
        headers.push((n, v));
    }
    let mut path = req.path().to_string();
    if slash && !path.ends_with('/') {
        path.push('/');
    }
    let pairs = req.query();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query = canonical_query(&pairs);
    let canon = Canon {
        method: &req.method,
        path: &path,
        query: &query,
        headers: &headers,
        body: &req.body,
    };
    match scheme.sign(secret, time, &scope, &canon.request().1) == signature {
        true => Ok(scope.iter().map(|s| s.to_string()).collect()),
        false => Err(Refusal::BadSignature),
    }
}

/// A JSON request body's field as a string, whatever its JSON type.
pub fn field(v: &serde_json::Value, k: &str) -> String {
    match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
