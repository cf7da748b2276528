//! The token/REST providers against fakes of their documented APIs, served
//! by the recording HTTP server (`common::httpd`) on a loopback port. Each
//! fake checks the credentials, paths and bodies the documentation asks
//! for, keeps the records in a shared store, pages its zone list, and
//! answers bad credentials as the real API does. The provider under test is
//! the real code, built from config text with the real HTTP client.
//!
//! Every provider runs one scenario (`scenario`): the zone found by the
//! longest match in a list that takes several pages, two TXT values at one
//! name then one removed, an address set made equal twice, 429 and 503
//! retried, and bad credentials refused in one line without the secret.

mod common;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use common::httpd::{Request, Response, Server};
use common::provider::{config, http, section};
use wancert::clock::{Clock, FakeClock};
use wancert::providers::{self, DnsProvider, Env, Family};

const NAME: &str = "_acme-challenge.www.sub.example.com";
const HOST: &str = "www.sub.example.com";
/// The zone the names are in: listed last, so only a provider that pages
/// through the whole list finds it (and not `example.com`).
const ZONE: &str = "sub.example.com";

#[derive(Clone, Debug)]
struct Rec {
    id: String,
    zone: String,
    /// Full name, no trailing dot.
    name: String,
    rtype: String,
    /// TXT values without quotes.
    value: String,
    ttl: u64,
}

impl Rec {
    /// The value as these APIs carry it: TXT values in double quotes.
    fn wire(&self) -> String {
        if self.rtype == "TXT" {
            format!("\"{}\"", self.value)
        } else {
            self.value.clone()
        }
    }
}

/// The records every fake keeps, and its zones (id, name).
#[derive(Default)]
struct Store {
    zones: Vec<(String, String)>,
    recs: Vec<Rec>,
    next: u64,
}

impl Store {
    /// `fillers` unrelated zones, then example.com, other.org and the zone
    /// of the test names last.
    fn new(fillers: usize) -> Store {
        let mut names: Vec<String> = (0..fillers)
            .map(|i| format!("f{i:04}.example.net"))
            .collect();
        names.extend(["example.com", "other.org", ZONE].map(String::from));
        Store {
            zones: names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (format!("{}", 1000 + i), n))
                .collect(),
            ..Store::default()
        }
    }
    fn zone_by_id(&self, id: &str) -> Option<String> {
        self.zones
            .iter()
            .find(|(i, n)| i == id || n == id)
            .map(|(_, n)| n.clone())
    }
    fn add(&mut self, zone: &str, name: &str, rtype: &str, value: &str, ttl: u64) -> String {
        self.next += 1;
        let id = format!("r{}", self.next);
        self.recs.push(Rec {
            id: id.clone(),
            zone: zone.into(),
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            rtype: rtype.into(),
            value: value.into(),
            ttl,
        });
        id
    }
    fn at(&self, name: &str, rtype: &str) -> Vec<Rec> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.recs
            .iter()
            .filter(|r| r.name == name && r.rtype == rtype)
            .cloned()
            .collect()
    }
    /// Replace the set at name/type.
    fn set(&mut self, zone: &str, name: &str, rtype: &str, values: &[String], ttl: u64) {
        let lname = name.trim_end_matches('.').to_ascii_lowercase();
        self.recs.retain(|r| !(r.name == lname && r.rtype == rtype));
        for v in values {
            self.add(zone, name, rtype, v, ttl);
        }
    }
    fn delete(&mut self, id: &str) -> bool {
        let before = self.recs.len();
        self.recs.retain(|r| r.id != id);
        before != self.recs.len()
    }
    fn values(&self, name: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self.at(name, rtype).into_iter().map(|r| r.value).collect();
        v.sort();
        v
    }
}

/// `name` relative to `zone`: `@` at the apex.
fn rel(name: &str, zone: &str) -> String {
    let name = name.trim_end_matches('.');
    match name.strip_suffix(zone) {
        Some("") => "@".into(),
        Some(r) => r.trim_end_matches('.').into(),
        None => name.into(),
    }
}

fn full(sub: &str, zone: &str) -> String {
    match sub {
        "" | "@" => zone.to_string(),
        s => format!("{s}.{zone}"),
    }
}

fn unquote(v: &str) -> Option<String> {
    v.strip_prefix('"')?.strip_suffix('"').map(String::from)
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.query()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn page<T: Clone>(all: &[T], page: usize, per: usize) -> Vec<T> {
    all.iter()
        .skip((page.max(1) - 1) * per)
        .take(per)
        .cloned()
        .collect()
}

/// A fake API: the server, its store, and statuses to answer instead of the
/// next requests (429 and 503, to check the retry).
struct Fake {
    server: Server,
    store: Arc<Mutex<Store>>,
    faults: Arc<Mutex<Vec<u16>>>,
}

impl Fake {
    fn start(
        store: Store,
        api: impl Fn(&Request, &mut Store) -> Response + Send + Sync + 'static,
    ) -> Fake {
        let store = Arc::new(Mutex::new(store));
        let faults: Arc<Mutex<Vec<u16>>> = Arc::default();
        let (s, f) = (store.clone(), faults.clone());
        let server = Server::start(move |req| {
            if let Some(status) = f.lock().unwrap().pop() {
                let mut r = Response::json(status, json!({"message": "slow down"}));
                r.headers.push(("retry-after".into(), "3".into()));
                return r;
            }
            api(req, &mut s.lock().unwrap())
        });
        Fake {
            server,
            store,
            faults,
        }
    }
    fn values(&self, name: &str, rtype: &str) -> Vec<String> {
        self.store.lock().unwrap().values(name, rtype)
    }
    fn hits(&self, pred: impl Fn(&Request) -> bool) -> usize {
        self.server.requests().iter().filter(|r| pred(r)).count()
    }
}

fn build<'a>(text: &str, env: &Env<'a>) -> Box<dyn DnsProvider + 'a> {
    match providers::build(&section(text), env) {
        Ok(p) => p,
        Err(e) => panic!("build: {e}"),
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

/// The scenario every zone-listing provider passes. `good` and `bad` are the
/// option lines with the right and a wrong credential; `secret` is the
/// wrong credential, which no message may show.
fn scenario(kind: &str, fake: &Fake, good: &[&str], bad: &[&str], secret: &str) {
    let writes = |f: &Fake| {
        f.hits(|r| {
            r.method != "GET" && !r.path().contains("listAll") && !r.path().contains("retrieve")
        })
    };
    let http = http();
    let clock = FakeClock::at(1_000_000);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let endpoint = format!("option endpoint '{}'", fake.server.url());
    let lines = |opts: &[&str]| -> Vec<String> {
        std::iter::once(endpoint.clone())
            .chain(opts.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut p = build(&config(kind, &lines(good)), &env);

    p.add_txt(NAME, "value-one").unwrap();
    p.add_txt(NAME, "value-two").unwrap();
    assert_eq!(
        fake.values(NAME, "TXT"),
        ["value-one", "value-two"],
        "{kind}: both values"
    );
    for r in fake.store.lock().unwrap().at(NAME, "TXT") {
        assert_eq!(r.zone, ZONE, "{kind}: written to the longest matching zone");
    }
    p.add_txt(NAME, "value-two").unwrap();
    assert_eq!(
        fake.values(NAME, "TXT").len(),
        2,
        "{kind}: adding a value twice keeps one"
    );

    p.remove_txt(NAME, "value-one").unwrap();
    assert_eq!(
        fake.values(NAME, "TXT"),
        ["value-two"],
        "{kind}: the other value stays"
    );
    p.remove_txt(NAME, "value-one").unwrap();

    p.set_address(HOST, Family::V4, &ips(&["192.0.2.1", "192.0.2.2"]), 300)
        .unwrap();
    assert_eq!(fake.values(HOST, "A"), ["192.0.2.1", "192.0.2.2"], "{kind}");
    p.set_address(HOST, Family::V4, &ips(&["192.0.2.2", "192.0.2.3"]), 300)
        .unwrap();
    assert_eq!(
        fake.values(HOST, "A"),
        ["192.0.2.2", "192.0.2.3"],
        "{kind}: set made equal"
    );
    p.set_address(HOST, Family::V6, &ips(&["2001:db8::1"]), 300)
        .unwrap();
    assert_eq!(fake.values(HOST, "AAAA"), ["2001:db8::1"], "{kind}");
    assert_eq!(
        fake.values(HOST, "A").len(),
        2,
        "{kind}: AAAA leaves A alone"
    );
    // Unchanged: nothing is written.
    let before = writes(fake);
    p.set_address(HOST, Family::V6, &ips(&["2001:db8:0::1"]), 300)
        .unwrap();
    assert_eq!(
        writes(fake),
        before,
        "{kind}: an unchanged set is not written"
    );

    // 429 then 503: retried after the server's Retry-After (3 s each).
    let t0 = clock.now();
    fake.faults.lock().unwrap().extend([503, 429]);
    p.remove_txt(NAME, "value-two").unwrap();
    assert!(fake.values(NAME, "TXT").is_empty(), "{kind}");
    assert_eq!(
        (clock.now() - t0).as_secs(),
        6,
        "{kind}: waited Retry-After twice"
    );

    // The zone list was read once, across several pages.
    let listed = fake.hits(|r| {
        let p = r.path();
        p.ends_with("/zones")
            || p.ends_with("/domains")
            || p.ends_with("/domains/")
            || p.ends_with("listAll")
    });
    assert!(
        listed >= 2,
        "{kind}: the zone list takes several pages ({listed} requests)"
    );

    let mut p = build(&config(kind, &lines(bad)), &env);
    let err = p.add_txt(NAME, "value-three").unwrap_err().to_string();
    assert!(
        err.contains("refused the credentials") && err.contains("check option"),
        "{kind}: {err}"
    );
    assert!(
        !err.contains(secret),
        "{kind}: the secret is in the message: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{kind}: {err}");
}

fn bearer(req: &Request) -> Option<&str> {
    req.header("authorization")?.strip_prefix("Bearer ")
}

#[test]
fn cloudflare() {
    let fake = Fake::start(Store::new(120), |req, s| {
        if bearer(req) != Some("cf-token") {
            return Response::json(
                403,
                json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": [], "result": null}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        let ok = |result: Value| {
            Response::json(
                200,
                json!({"success": true, "errors": [], "messages": [], "result": result}),
            )
        };
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["zones"]) => {
                let per: usize = query(req, "per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(20);
                assert!(
                    (5..=50).contains(&per),
                    "per_page {per} out of the documented range"
                );
                let n: usize = query(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let list: Vec<Value> = page(&s.zones, n, per)
                    .iter()
                    .map(|(id, name)| json!({"id": id, "name": name, "status": "active"}))
                    .collect();
                let mut r = ok(json!(list));
                let total = s.zones.len();
                let mut body: Value = serde_json::from_slice(&r.body).unwrap();
                body["result_info"] = json!({"page": n, "per_page": per, "count": list.len(), "total_count": total, "total_pages": total.div_ceil(per)});
                r.body = body.to_string().into_bytes();
                r
            }
            ("GET", ["zones", zid, "dns_records"]) => {
                let zone = s.zone_by_id(zid).unwrap();
                let (t, n) = (query(req, "type").unwrap(), query(req, "name").unwrap());
                let list: Vec<Value> = s.at(&n, &t).iter().filter(|r| r.zone == zone).map(|r| {
                    json!({"id": r.id, "type": t, "name": r.name, "content": r.wire(), "ttl": r.ttl})
                }).collect();
                ok(json!(list))
            }
            ("POST", ["zones", zid, "dns_records"]) => {
                let zone = s.zone_by_id(zid).unwrap();
                let b = req.json();
                let (t, n) = (b["type"].as_str().unwrap(), b["name"].as_str().unwrap());
                assert!(n.ends_with(&zone), "name {n} is a full name in {zone}");
                let content = b["content"].as_str().unwrap();
                let value = if t == "TXT" {
                    unquote(content).expect("TXT content quoted")
                } else {
                    content.to_string()
                };
                let id = s.add(&zone, n, t, &value, b["ttl"].as_u64().unwrap());
                ok(json!({"id": id}))
            }
            ("DELETE", ["zones", _, "dns_records", rid]) => match s.delete(rid) {
                true => ok(json!({"id": rid})),
                false => Response::json(
                    404,
                    json!({"success": false, "errors": [{"code": 81044, "message": "Record does not exist."}]}),
                ),
            },
            _ => Response::json(
                404,
                json!({"success": false, "errors": [{"code": 7003, "message": "No route"}]}),
            ),
        }
    });
    scenario(
        "cloudflare",
        &fake,
        &["option api_token 'cf-token'"],
        &["option api_token 'wrong-cf-secret'"],
        "wrong-cf-secret",
    );
}

#[test]
fn desec() {
    let fake = Fake::start(Store::new(0), |req, s| {
        if req.header("authorization") != Some("Token desec-token") {
            return Response::json(401, json!({"detail": "Invalid token."}));
        }
        let parts: Vec<&str> = req
            .path()
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["domains"]) => {
                // owns_qname: the account's domain responsible for the name.
                let q = query(req, "owns_qname").expect("the zone is asked for with owns_qname");
                let best = s
                    .zones
                    .iter()
                    .map(|(_, n)| n)
                    .filter(|n| q == **n || q.ends_with(&format!(".{n}")))
                    .max_by_key(|n| n.len());
                let list: Vec<Value> = best
                    .iter()
                    .map(|n| json!({"name": n, "minimum_ttl": 3600}))
                    .collect();
                Response::json(200, json!(list))
            }
            ("GET", ["domains", d, "rrsets", sub, t]) => {
                let name = full(sub, d);
                let recs = s.at(&name, t);
                if recs.is_empty() {
                    return Response::json(404, json!({"detail": "Not found."}));
                }
                let records: Vec<String> = recs.iter().map(Rec::wire).collect();
                Response::json(
                    200,
                    json!({"subname": sub, "type": t, "ttl": recs[0].ttl, "records": records}),
                )
            }
            ("PATCH", ["domains", d]) | ("PATCH", ["domains", d, "rrsets"]) => {
                let d = d.to_string();
                for set in req.json().as_array().expect("bulk: a list of RRsets") {
                    let (sub, t) = (
                        set["subname"].as_str().unwrap(),
                        set["type"].as_str().unwrap(),
                    );
                    let ttl = set["ttl"].as_u64().unwrap();
                    if ttl < 3600 {
                        return Response::json(
                            400,
                            json!([{"ttl": ["Ensure this value is greater than or equal to 3600."]}]),
                        );
                    }
                    let values: Vec<String> = set["records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| {
                            let v = v.as_str().unwrap();
                            if t == "TXT" {
                                unquote(v).expect("TXT quoted")
                            } else {
                                v.to_string()
                            }
                        })
                        .collect();
                    s.set(&d, &full(sub, &d), t, &values, ttl);
                }
                Response::json(200, json!([]))
            }
            _ => Response::json(404, json!({"detail": "Not found."})),
        }
    });
    // deSEC asks instead of listing: no paging to check.
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let text = config(
        "desec",
        &[
            format!("option endpoint '{}'", fake.server.url()),
            "option token 'desec-token'".into(),
        ],
    );
    let mut p = build(&text, &env);
    // example.com first: the zone found for it must not be taken for a name
    // in sub.example.com, another domain of the account.
    p.add_txt("_acme-challenge.example.com", "apex").unwrap();
    assert_eq!(
        fake.store
            .lock()
            .unwrap()
            .at("_acme-challenge.example.com", "TXT")[0]
            .zone,
        "example.com"
    );
    p.add_txt(NAME, "a").unwrap();
    p.add_txt(NAME, "b").unwrap();
    assert_eq!(fake.values(NAME, "TXT"), ["a", "b"]);
    assert_eq!(fake.store.lock().unwrap().at(NAME, "TXT")[0].zone, ZONE);
    p.remove_txt(NAME, "a").unwrap();
    assert_eq!(fake.values(NAME, "TXT"), ["b"]);
    p.remove_txt(NAME, "b").unwrap();
    assert!(fake.values(NAME, "TXT").is_empty());
    p.set_address(HOST, Family::V4, &ips(&["192.0.2.7"]), 3600)
        .unwrap();
    p.set_address(HOST, Family::V4, &ips(&["192.0.2.8", "192.0.2.9"]), 3600)
        .unwrap();
    assert_eq!(fake.values(HOST, "A"), ["192.0.2.8", "192.0.2.9"]);
    p.set_address(ZONE, Family::V6, &ips(&["2001:db8::2"]), 3600)
        .unwrap();
    assert_eq!(fake.values(ZONE, "AAAA"), ["2001:db8::2"], "the apex");
    fake.faults.lock().unwrap().extend([429, 429]);
    p.add_txt(NAME, "c").unwrap();
    assert_eq!(fake.values(NAME, "TXT"), ["c"]);
    let bad = config(
        "desec",
        &[
            format!("option endpoint '{}'", fake.server.url()),
            "option token 'not-the-token'".into(),
        ],
    );
    let err = build(&bad, &env)
        .add_txt(NAME, "d")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refused the credentials")
            && err.contains("Invalid token")
            && !err.contains("not-the-token"),
        "{err}"
    );
}

#[test]
fn digitalocean() {
    let fake = Fake::start(Store::new(250), |req, s| {
        if bearer(req) != Some("do-token") {
            return Response::json(
                401,
                json!({"id": "Unauthorized", "message": "Unable to authenticate you"}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["domains"]) => {
                let per: usize = query(req, "per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(20)
                    .min(200);
                let n: usize = query(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let list: Vec<Value> = page(&s.zones, n, per)
                    .iter()
                    .map(|(_, name)| json!({"name": name, "ttl": 1800}))
                    .collect();
                Response::json(
                    200,
                    json!({"domains": list, "links": {}, "meta": {"total": s.zones.len()}}),
                )
            }
            ("GET", ["domains", d, "records"]) => {
                let (t, n) = (
                    query(req, "type").unwrap(),
                    query(req, "name").expect("filtered by full name"),
                );
                assert!(n.ends_with(d), "the name filter takes the full name");
                let list: Vec<Value> = s.at(&n, &t).iter().map(|r| json!({"id": r.id[1..].parse::<u64>().unwrap(), "type": t, "name": rel(&r.name, d), "data": r.value, "ttl": r.ttl})).collect();
                Response::json(
                    200,
                    json!({"domain_records": list, "links": {}, "meta": {"total": list.len()}}),
                )
            }
            ("POST", ["domains", d, "records"]) => {
                let b = req.json();
                let name = b["name"].as_str().unwrap();
                assert!(!name.ends_with(d), "the record name is relative: {name}");
                let id = s.add(
                    d,
                    &full(name, d),
                    b["type"].as_str().unwrap(),
                    b["data"].as_str().unwrap(),
                    b["ttl"].as_u64().unwrap(),
                );
                Response::json(
                    201,
                    json!({"domain_record": {"id": id[1..].parse::<u64>().unwrap()}}),
                )
            }
            ("DELETE", ["domains", _, "records", id]) => match s.delete(&format!("r{id}")) {
                true => Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                },
                false => Response::json(
                    404,
                    json!({"id": "not_found", "message": "The resource you were accessing could not be found."}),
                ),
            },
            _ => Response::json(404, json!({"id": "not_found", "message": "no route"})),
        }
    });
    scenario(
        "digitalocean",
        &fake,
        &["option api_token 'do-token'"],
        &["option api_token 'wrong-do-secret'"],
        "wrong-do-secret",
    );
}

#[test]
fn hetzner() {
    let fake = Fake::start(Store::new(60), |req, s| {
        if bearer(req) != Some("hz-token") {
            return Response::json(
                401,
                json!({"error": {"code": "unauthorized", "message": "unable to authenticate"}}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        let action = || {
            Response::json(
                201,
                json!({"action": {"id": 1, "command": "x", "status": "running"}}),
            )
        };
        let values = |t: &str, b: &Value| -> Vec<String> {
            b["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let v = r["value"].as_str().unwrap();
                    if t == "TXT" {
                        unquote(v).expect("TXT quoted")
                    } else {
                        v.to_string()
                    }
                })
                .collect()
        };
        let not_found = || {
            Response::json(
                404,
                json!({"error": {"code": "not_found", "message": "rrset not found"}}),
            )
        };
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["zones"]) => {
                let per: usize = query(req, "per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(25)
                    .min(50);
                let n: usize = query(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let list: Vec<Value> = page(&s.zones, n, per).iter().map(|(id, name)| json!({"id": id.parse::<u64>().unwrap(), "name": name, "mode": "primary"})).collect();
                let last = s.zones.len().div_ceil(per);
                Response::json(
                    200,
                    json!({"zones": list, "meta": {"pagination": {"page": n, "per_page": per, "last_page": last, "total_entries": s.zones.len()}}}),
                )
            }
            ("GET", ["zones", z, "rrsets", name, t]) => {
                let zone = s.zone_by_id(z).unwrap();
                let recs = s.at(&full(name, &zone), t);
                if recs.is_empty() {
                    return not_found();
                }
                let records: Vec<Value> = recs
                    .iter()
                    .map(|r| json!({"value": r.wire(), "comment": ""}))
                    .collect();
                Response::json(
                    200,
                    json!({"rrset": {"id": format!("{name}/{t}"), "name": name, "type": t, "ttl": recs[0].ttl, "records": records}}),
                )
            }
            ("POST", ["zones", z, "rrsets"]) => {
                let zone = s.zone_by_id(z).unwrap();
                let b = req.json();
                let (name, t) = (b["name"].as_str().unwrap(), b["type"].as_str().unwrap());
                if !s.at(&full(name, &zone), t).is_empty() {
                    return Response::json(
                        409,
                        json!({"error": {"code": "uniqueness_error", "message": "rrset exists"}}),
                    );
                }
                s.set(
                    &zone,
                    &full(name, &zone),
                    t,
                    &values(t, &b),
                    b["ttl"].as_u64().unwrap(),
                );
                Response::json(201, json!({"rrset": {}, "action": {"id": 1}}))
            }
            ("POST", ["zones", z, "rrsets", name, t, "actions", "set_records"]) => {
                let zone = s.zone_by_id(z).unwrap();
                let fqdn = full(name, &zone);
                if s.at(&fqdn, t).is_empty() {
                    return not_found();
                }
                s.set(&zone, &fqdn, t, &values(t, &req.json()), 60);
                action()
            }
            ("DELETE", ["zones", z, "rrsets", name, t]) => {
                let zone = s.zone_by_id(z).unwrap();
                let fqdn = full(name, &zone);
                if s.at(&fqdn, t).is_empty() {
                    return not_found();
                }
                s.set(&zone, &fqdn, t, &[], 0);
                action()
            }
            _ => not_found(),
        }
    });
    scenario(
        "hetzner",
        &fake,
        &["option api_token 'hz-token'"],
        &["option api_token 'wrong-hz-secret'"],
        "wrong-hz-secret",
    );
}

#[test]
fn gandi() {
    let fake = Fake::start(Store::new(150), |req, s| {
        if bearer(req) != Some("gandi-pat") {
            return Response::json(
                401,
                json!({"code": 401, "message": "The server could not verify that you authorized to access the document you requested.", "object": "HTTPUnauthorized", "cause": "Unauthorized"}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        let not_found = || {
            Response::json(
                404,
                json!({"code": 404, "message": "Can't find the DNS record", "object": "HTTPNotFound", "cause": "Not Found"}),
            )
        };
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["domains"]) => {
                let per: usize = query(req, "per_page")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100);
                let n: usize = query(req, "page").and_then(|v| v.parse().ok()).unwrap_or(1);
                let list: Vec<Value> = page(&s.zones, n, per)
                    .iter()
                    .map(|(_, name)| json!({"fqdn": name, "domain_records_href": "x"}))
                    .collect();
                let mut r = Response::json(200, json!(list));
                r.headers
                    .push(("total-count".into(), s.zones.len().to_string()));
                r
            }
            ("GET", ["domains", d, "records", name, t]) => {
                let recs = s.at(&full(name, d), t);
                if recs.is_empty() {
                    return not_found();
                }
                let values: Vec<String> = recs.iter().map(Rec::wire).collect();
                Response::json(
                    200,
                    json!({"rrset_name": name, "rrset_type": t, "rrset_ttl": recs[0].ttl, "rrset_values": values}),
                )
            }
            ("PUT", ["domains", d, "records", name, t]) => {
                let b = req.json();
                let ttl = b["rrset_ttl"].as_u64().unwrap_or(10800);
                if ttl < 300 {
                    return Response::json(
                        400,
                        json!({"code": 400, "message": "Validation error", "object": "HTTPBadRequest", "cause": "Bad Request", "errors": [{"location": "body", "name": "rrset_ttl", "description": "must be >= 300"}]}),
                    );
                }
                let values: Vec<String> = b["rrset_values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        let v = v.as_str().unwrap();
                        if *t == "TXT" {
                            unquote(v).expect("TXT quoted")
                        } else {
                            v.to_string()
                        }
                    })
                    .collect();
                s.set(d, &full(name, d), t, &values, ttl);
                Response::json(201, json!({"message": "DNS Record Created"}))
            }
            ("DELETE", ["domains", d, "records", name, t]) => {
                let fqdn = full(name, d);
                if s.at(&fqdn, t).is_empty() {
                    return not_found();
                }
                s.set(d, &fqdn, t, &[], 0);
                Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                }
            }
            _ => not_found(),
        }
    });
    scenario(
        "gandi",
        &fake,
        &["option api_token 'gandi-pat'"],
        &["option api_token 'wrong-gandi-secret'"],
        "wrong-gandi-secret",
    );
}

#[test]
fn godaddy() {
    let fake = Fake::start(Store::new(600), |req, s| {
        if req.header("authorization") != Some("sso-key gd-key:gd-secret") {
            return Response::json(
                401,
                json!({"code": "UNABLE_TO_AUTHENTICATE", "message": "Unauthorized : Could not authenticate API key/secret"}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["v1", "domains"]) => {
                assert_eq!(query(req, "statuses").as_deref(), Some("ACTIVE"));
                let limit: usize = query(req, "limit")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1000)
                    .min(1000);
                let marker = query(req, "marker").unwrap_or_default();
                let mut names: Vec<&String> = s.zones.iter().map(|(_, n)| n).collect();
                names.sort();
                let list: Vec<Value> = names
                    .into_iter()
                    .filter(|n| marker.is_empty() || n.as_str() > marker.as_str())
                    .take(limit)
                    .map(|n| json!({"domain": n, "domainId": 1, "status": "ACTIVE"}))
                    .collect();
                Response::json(200, json!(list))
            }
            ("GET", ["v1", "domains", d, "records", t, name]) => {
                let list: Vec<Value> = s
                    .at(&full(name, d), t)
                    .iter()
                    .map(|r| json!({"data": r.value, "name": name, "ttl": r.ttl, "type": t}))
                    .collect();
                Response::json(200, json!(list))
            }
            ("PUT", ["v1", "domains", d, "records", t, name]) => {
                let list = req.json();
                let list = list.as_array().expect("an array of records");
                if list.is_empty() || list.iter().any(|r| r["ttl"].as_u64().unwrap_or(0) < 600) {
                    return Response::json(
                        422,
                        json!({"code": "INVALID_BODY", "message": "Request body doesn't fulfill schema"}),
                    );
                }
                let values: Vec<String> = list
                    .iter()
                    .map(|r| r["data"].as_str().unwrap().to_string())
                    .collect();
                s.set(
                    d,
                    &full(name, d),
                    t,
                    &values,
                    list[0]["ttl"].as_u64().unwrap(),
                );
                Response {
                    status: 200,
                    headers: vec![],
                    body: vec![],
                }
            }
            ("DELETE", ["v1", "domains", d, "records", t, name]) => {
                let fqdn = full(name, d);
                if s.at(&fqdn, t).is_empty() {
                    return Response::json(
                        404,
                        json!({"code": "NOT_FOUND", "message": "Not found"}),
                    );
                }
                s.set(d, &fqdn, t, &[], 0);
                Response {
                    status: 204,
                    headers: vec![],
                    body: vec![],
                }
            }
            _ => Response::json(404, json!({"code": "NOT_FOUND", "message": "no route"})),
        }
    });
    scenario(
        "godaddy",
        &fake,
        &["option api_key 'gd-key'", "option api_secret 'gd-secret'"],
        &[
            "option api_key 'gd-key'",
            "option api_secret 'wrong-gd-secret'",
        ],
        "wrong-gd-secret",
    );
}

#[test]
fn porkbun() {
    let fake = Fake::start(Store::new(1005), |req, s| {
        assert_eq!(req.method, "POST", "porkbun takes POST only");
        let b = req.json();
        if b["apikey"] != "pk1_key" || b["secretapikey"] != "sk1_secret" {
            return Response::json(
                400,
                json!({"status": "ERROR", "message": "Invalid API key. (002)"}),
            );
        }
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        let ok = |extra: Value| {
            let mut v = json!({"status": "SUCCESS"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Response::json(200, v)
        };
        match parts.as_slice() {
            ["domain", "listAll"] => {
                let start: usize = b["start"].as_str().unwrap_or("0").parse().unwrap();
                let list: Vec<Value> = s
                    .zones
                    .iter()
                    .skip(start)
                    .take(1000)
                    .map(|(_, n)| json!({"domain": n, "status": "ACTIVE"}))
                    .collect();
                ok(json!({"domains": list}))
            }
            ["dns", "retrieveByNameType", d, t, rest @ ..] => {
                let name = full(rest.first().copied().unwrap_or(""), d);
                let list: Vec<Value> = s.at(&name, t).iter().map(|r| json!({"id": r.id[1..], "name": r.name, "type": t, "content": r.value, "ttl": r.ttl.to_string(), "prio": "0", "notes": ""})).collect();
                ok(json!({"records": list}))
            }
            ["dns", "create", d] => {
                let ttl: u64 = b["ttl"].as_str().unwrap_or("600").parse().unwrap();
                if ttl < 600 {
                    return Response::json(
                        400,
                        json!({"status": "ERROR", "message": "TTL too low"}),
                    );
                }
                let id = s.add(
                    d,
                    &full(b["name"].as_str().unwrap(), d),
                    b["type"].as_str().unwrap(),
                    b["content"].as_str().unwrap(),
                    ttl,
                );
                ok(json!({"id": id[1..].parse::<u64>().unwrap()}))
            }
            ["dns", "delete", _, id] => match s.delete(&format!("r{id}")) {
                true => ok(json!({})),
                false => Response::json(
                    400,
                    json!({"status": "ERROR", "message": "Invalid record ID."}),
                ),
            },
            _ => Response::json(404, json!({"status": "ERROR", "message": "no route"})),
        }
    });
    scenario(
        "porkbun",
        &fake,
        &[
            "option api_key 'pk1_key'",
            "option secret_api_key 'sk1_secret'",
        ],
        &[
            "option api_key 'pk1_key'",
            "option secret_api_key 'sk1_wrong-pb-secret'",
        ],
        "wrong-pb-secret",
    );
}

/// dynv6's REST API (zones are not paged) and its update URL.
fn dynv6_fake() -> Fake {
    Fake::start(Store::new(3), |req, s| {
        let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
        if parts == ["api", "update"] {
            if query(req, "token").as_deref() != Some("dv-token") {
                return Response::text(401, "invalid authentication token");
            }
            let zone = query(req, "zone").unwrap();
            for (key, t) in [("ipv4", "A"), ("ipv6", "AAAA")] {
                match query(req, key).as_deref() {
                    Some("-") if t == "A" => s.set(&zone, &zone, t, &[], 60),
                    Some(a) => s.set(&zone, &zone, t, &[a.to_string()], 60),
                    None => {}
                }
            }
            return Response::text(200, "addresses updated");
        }
        if bearer(req) != Some("dv-token") {
            return Response::json(401, json!({"error": "invalid token"}));
        }
        match (req.method.as_str(), parts.as_slice()) {
            ("GET", ["api", "v2", "zones"]) => {
                let list: Vec<Value> = s.zones.iter().map(|(id, n)| json!({"id": id.parse::<u64>().unwrap(), "name": n, "ipv4address": "", "ipv6prefix": ""})).collect();
                Response::json(200, json!(list))
            }
            ("GET", ["api", "v2", "zones", z, "records"]) => {
                let zone = s.zone_by_id(z).unwrap();
                let list: Vec<Value> = s.recs.iter().filter(|r| r.zone == zone && r.name != zone).map(|r| json!({"id": r.id[1..].parse::<u64>().unwrap(), "type": r.rtype, "name": rel(&r.name, &zone), "data": r.value, "zoneID": z})).collect();
                Response::json(200, json!(list))
            }
            ("POST", ["api", "v2", "zones", z, "records"]) => {
                let zone = s.zone_by_id(z).unwrap();
                let b = req.json();
                let id = s.add(
                    &zone,
                    &full(b["name"].as_str().unwrap(), &zone),
                    b["type"].as_str().unwrap(),
                    b["data"].as_str().unwrap(),
                    60,
                );
                Response::json(200, json!({"id": id[1..].parse::<u64>().unwrap()}))
            }
            ("DELETE", ["api", "v2", "zones", _, "records", id]) => {
                match s.delete(&format!("r{id}")) {
                    true => Response {
                        status: 204,
                        headers: vec![],
                        body: vec![],
                    },
                    false => Response::json(404, json!({"error": "not found"})),
                }
            }
            _ => Response::json(404, json!({"error": "not found"})),
        }
    })
}

#[test]
fn dynv6() {
    let fake = dynv6_fake();
    // The zone list is one page: the scenario's paging check does not apply,
    // so the steps are spelled out.
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let ep = format!("option endpoint '{}'", fake.server.url());
    let mut p = build(
        &config("dynv6", &[ep.clone(), "option token 'dv-token'".into()]),
        &env,
    );
    p.add_txt(NAME, "a").unwrap();
    p.add_txt(NAME, "b").unwrap();
    assert_eq!(fake.values(NAME, "TXT"), ["a", "b"]);
    assert_eq!(fake.store.lock().unwrap().at(NAME, "TXT")[1].zone, ZONE);
    p.remove_txt(NAME, "a").unwrap();
    assert_eq!(fake.values(NAME, "TXT"), ["b"]);
    p.set_address(HOST, Family::V4, &ips(&["192.0.2.1", "192.0.2.2"]), 60)
        .unwrap();
    p.set_address(HOST, Family::V4, &ips(&["192.0.2.3"]), 60)
        .unwrap();
    assert_eq!(fake.values(HOST, "A"), ["192.0.2.3"]);
    // The zone's own address: the update URL.
    p.set_address(ZONE, Family::V6, &ips(&["2001:db8::5"]), 60)
        .unwrap();
    assert_eq!(fake.values(ZONE, "AAAA"), ["2001:db8::5"]);
    assert_eq!(fake.hits(|r| r.path() == "/api/update"), 1);
    let err = p
        .set_address(ZONE, Family::V4, &ips(&["192.0.2.1", "192.0.2.2"]), 60)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one A address"), "{err}");
    fake.faults.lock().unwrap().extend([502, 429]);
    p.remove_txt(NAME, "b").unwrap();
    assert!(fake.values(NAME, "TXT").is_empty());

    let mut bad = build(
        &config("dynv6", &[ep, "option token 'wrong-dv-secret'".into()]),
        &env,
    );
    for err in [
        bad.add_txt(NAME, "c").unwrap_err().to_string(),
        bad.set_address(ZONE, Family::V4, &ips(&["192.0.2.1"]), 60)
            .unwrap_err()
            .to_string(),
    ] {
        assert!(err.contains("refused the credentials"), "{err}");
        assert!(
            !err.contains("wrong-dv-secret"),
            "the token is in the message: {err}"
        );
    }
}

#[test]
fn duckdns() {
    let fake = Fake::start(Store::new(0), |req, s| {
        assert_eq!(req.path(), "/update");
        let q = |k: &str| query(req, k);
        if q("token").as_deref() != Some("duck-token") || q("domains").as_deref() != Some("myhome")
        {
            return Response::text(200, "KO");
        }
        let zone = "myhome.duckdns.org";
        if q("clear").as_deref() == Some("true") {
            s.set(zone, zone, "TXT", &[], 60);
        } else if let Some(v) = q("txt") {
            s.set(zone, zone, "TXT", &[v], 60);
        }
        for (key, t) in [("ip", "A"), ("ipv6", "AAAA")] {
            if let Some(a) = q(key) {
                s.set(zone, zone, t, &[a], 60);
            }
        }
        Response::text(200, "OK\n")
    });
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let ep = format!("option endpoint '{}'", fake.server.url());
    let zone = "myhome.duckdns.org";
    let mut p = build(
        &config("duckdns", &[ep.clone(), "option token 'duck-token'".into()]),
        &env,
    );
    p.add_txt("_acme-challenge.myhome.duckdns.org", "v1")
        .unwrap();
    assert_eq!(fake.values(zone, "TXT"), ["v1"]);
    let err = p
        .add_txt("_acme-challenge.myhome.duckdns.org", "v2")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("one TXT value") && err.contains("two certificates"),
        "{err}"
    );
    p.remove_txt("_acme-challenge.myhome.duckdns.org", "v1")
        .unwrap();
    assert!(fake.values(zone, "TXT").is_empty());
    p.set_address("myhome.duckdns.org", Family::V4, &ips(&["192.0.2.4"]), 60)
        .unwrap();
    p.set_address("myhome.duckdns.org", Family::V6, &ips(&["2001:db8::4"]), 60)
        .unwrap();
    assert_eq!(
        (fake.values(zone, "A"), fake.values(zone, "AAAA")),
        (
            vec!["192.0.2.4".to_string()],
            vec!["2001:db8::4".to_string()]
        )
    );
    let err = p
        .add_txt("_acme-challenge.nas.example.com", "v3")
        .unwrap_err()
        .to_string();
    assert!(err.contains("option domain"), "{err}");
    // Your own name, CNAMEd to the Duck DNS one.
    let mut own = build(
        &config(
            "duckdns",
            &[
                ep.clone(),
                "option token 'duck-token'".into(),
                "option domain 'myhome.duckdns.org'".into(),
            ],
        ),
        &env,
    );
    fake.faults.lock().unwrap().push(503);
    own.add_txt("_acme-challenge.nas.example.com", "v4")
        .unwrap();
    assert_eq!(fake.values(zone, "TXT"), ["v4"]);
    let mut bad = build(
        &config("duckdns", &[ep, "option token 'wrong-duck-secret'".into()]),
        &env,
    );
    let err = bad
        .add_txt("_acme-challenge.myhome.duckdns.org", "v5")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refused the credentials") && err.contains("KO"),
        "{err}"
    );
    assert!(!err.contains("wrong-duck-secret"), "{err}");
}

#[test]
fn acmedns() {
    let fake = Fake::start(Store::new(0), |req, s| {
        assert_eq!((req.method.as_str(), req.path()), ("POST", "/update"));
        if req.header("x-api-user") != Some("user-uuid")
            || req.header("x-api-key") != Some("acme-dns-pass")
        {
            return Response::json(401, json!({"error": "forbidden"}));
        }
        let b = req.json();
        let (sub, txt) = (b["subdomain"].as_str().unwrap(), b["txt"].as_str().unwrap());
        if txt.len() != 43 {
            return Response::json(400, json!({"error": "bad_txt"}));
        }
        // acme-dns keeps the two latest values of a subdomain.
        let name = format!("{sub}.auth.example.org");
        let mut v = s.values(&name, "TXT");
        let order: Vec<String> = s.at(&name, "TXT").into_iter().map(|r| r.value).collect();
        v.clear();
        v.extend(order.into_iter().rev().take(1));
        v.push(txt.to_string());
        s.set("auth.example.org", &name, "TXT", &v, 1);
        Response::json(200, json!({"txt": txt}))
    });
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let lines = |pass: &str| {
        vec![
            format!("option server '{}'", fake.server.url()),
            "option username 'user-uuid'".to_string(),
            format!("option password '{pass}'"),
            "option subdomain 'd420c923-bbd7-4056-ab64-c3ca54c9b3cf'".to_string(),
        ]
    };
    let mut p = build(&config("acmedns", &lines("acme-dns-pass")), &env);
    let name = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf.auth.example.org";
    let (a, b, c) = ("a".repeat(43), "b".repeat(43), "c".repeat(43));
    p.add_txt("_acme-challenge.nas.example.com", &a).unwrap();
    p.add_txt("_acme-challenge.nas.example.com", &b).unwrap();
    assert_eq!(
        fake.values(name, "TXT"),
        [a.clone(), b.clone()],
        "name and wildcard side by side"
    );
    p.remove_txt("_acme-challenge.nas.example.com", &a).unwrap();
    p.add_txt("_acme-challenge.nas.example.com", &c).unwrap();
    assert_eq!(fake.values(name, "TXT"), [b, c], "the two latest");
    let err = p
        .add_txt("_acme-challenge.nas.example.com", "short")
        .unwrap_err()
        .to_string();
    assert!(err.contains("HTTP 400") && err.contains("bad_txt"), "{err}");
    let err = p
        .set_address("nas.example.com", Family::V4, &ips(&["192.0.2.1"]), 60)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot set"), "{err}");
    let mut bad = build(&config("acmedns", &lines("wrong-acme-secret")), &env);
    let err = bad
        .add_txt("_acme-challenge.nas.example.com", &a)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refused the credentials") && !err.contains("wrong-acme-secret"),
        "{err}"
    );
}

#[test]
fn missing_options_name_the_line_and_the_fix() {
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    for (kind, opt) in [
        ("cloudflare", "api_token"),
        ("powerdns", "endpoint"),
        ("desec", "token"),
        ("duckdns", "token"),
        ("dynv6", "token"),
        ("godaddy", "api_key"),
        ("porkbun", "api_key"),
        ("digitalocean", "api_token"),
        ("hetzner", "api_token"),
        ("gandi", "api_token"),
        ("acmedns", "server"),
        ("exec", "command"),
    ] {
        let err = match providers::build(&section(&config(kind, &[])), &env) {
            Ok(_) => panic!("{kind} built without {opt}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with("/etc/config/wancert:1:")
                && err.contains(&format!("option '{opt}' is missing")),
            "{kind}: {err}"
        );
    }
    let built: Vec<&str> = providers::TYPES.iter().map(|t| t.name).collect();
    for kind in [
        "cloudflare",
        "powerdns",
        "desec",
        "duckdns",
        "dynv6",
        "godaddy",
        "porkbun",
        "digitalocean",
        "hetzner",
        "gandi",
        "acmedns",
        "exec",
    ] {
        assert!(built.contains(&kind), "{kind} is not in providers::TYPES");
    }
}

#[test]
fn credentials_from_a_0600_file() {
    use std::os::unix::fs::PermissionsExt;
    let fake = Fake::start(Store::new(0), |req, s| {
        if bearer(req) != Some("from-file") {
            return Response::json(
                401,
                json!({"id": "Unauthorized", "message": "Unable to authenticate you"}),
            );
        }
        let list: Vec<Value> = s.zones.iter().map(|(_, n)| json!({"name": n})).collect();
        Response::json(200, json!({"domains": list}))
    });
    let dir = common::TempDir::new("prov-secret");
    let path = dir.path().join("token");
    std::fs::write(&path, "from-file\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let http = http();
    let clock = FakeClock::at(0);
    let env = Env {
        http: &http,
        clock: &clock,
    };
    let text = config(
        "digitalocean",
        &[
            format!("option endpoint '{}'", fake.server.url()),
            format!("option api_token_file '{}'", path.display()),
        ],
    );
    let mut p = build(&text, &env);
    // The listing succeeds with the file's token; the name is in no zone.
    let err = p
        .add_txt("_acme-challenge.x.example.invalid", "v")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("zone of this account holds") && err.contains("sub.example.com"),
        "{err}"
    );
}
