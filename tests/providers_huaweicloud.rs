//! The huaweicloud provider against a fake Huawei Cloud DNS v2 API (zones,
//! recordsets) that checks every AK/SK signature as API Gateway does, keeps
//! record sets, serves small pages, matches names loosely as the real
//! `name` filter does, and answers the documented errors.

mod common;

use std::collections::VecDeque;
use std::net::IpAddr;

use common::cloud::{Fault, Refusal, Rig, check_hmac256, fault, page};
use common::httpd::{Request, Response};
use serde_json::{Value, json};
use wancert::providers::Family;
use wancert::providers::cloud::HUAWEI;

const AK: &str = "HWTESTACCESSKEY0001";
const SK: &str = "huawei-right-secret-key";
const PROJECT: &str = "0123456789abcdef0123456789abcdef";

#[derive(Clone, Debug)]
struct Set {
    id: String,
    zone: String,
    name: String,
    rtype: String,
    ttl: u64,
    records: Vec<String>,
}

struct Fake {
    /// (id, name with trailing dot)
    zones: Vec<(String, String)>,
    sets: Vec<Set>,
    next: u64,
    faults: VecDeque<Fault>,
    max: usize,
}

impl Fake {
    fn seed(&mut self, zone: &str, name: &str, rtype: &str, records: &[&str]) -> String {
        self.next += 1;
        let id = format!("ff80808{:025x}", self.next);
        let zone = self.zones.iter().find(|z| z.1 == zone).unwrap().0.clone();
        self.sets.push(Set {
            id: id.clone(),
            zone,
            name: name.into(),
            rtype: rtype.into(),
            ttl: 300,
            records: records.iter().map(|r| r.to_string()).collect(),
        });
        id
    }
    /// The records of the set at `name` (with trailing dot), sorted.
    fn records(&self, name: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .sets
            .iter()
            .filter(|s| s.name == name && s.rtype == rtype)
            .flat_map(|s| s.records.clone())
            .collect();
        v.sort();
        v
    }
}

fn apig(status: u16, code: &str, msg: &str) -> Response {
    Response::json(
        status,
        json!({"error_msg": msg, "error_code": code, "request_id": "3c0e0d7c3a8d8b4a"}),
    )
}

fn dns_error(status: u16, code: &str, msg: &str) -> Response {
    Response::json(status, json!({"code": code, "message": msg}))
}

fn set_json(s: &Set) -> Value {
    json!({"id": s.id, "name": s.name, "type": s.rtype, "ttl": s.ttl, "records": s.records,
           "zone_id": s.zone, "status": "ACTIVE"})
}

fn handle(f: &mut Fake, req: &Request) -> Response {
    match fault(&mut f.faults) {
        Some(Fault::Status(s)) => return Response::text(s, "upstream failed"),
        Some(Fault::Busy) => {
            return apig(
                429,
                "APIGW.0308",
                "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
            );
        }
        None => {}
    }
    match check_hmac256(req, &HUAWEI, &[(AK, SK)], "x-sdk-date", true) {
        Ok(scope) if scope.is_empty() => {}
        Ok(_) => {
            return apig(
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: unexpected credential scope",
            );
        }
        Err(Refusal::UnknownId) => {
            return apig(
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: Get secretKey failed,ak:******,err:ak not exist",
            );
        }
        Err(Refusal::BadSignature) => {
            return apig(
                401,
                "APIGW.0301",
                "Incorrect IAM authentication information: verify aksk signature fail",
            );
        }
        Err(Refusal::Malformed(m)) => return apig(401, "APIGW.0301", m),
    }
    if req.header("x-project-id").is_some_and(|p| p != PROJECT) {
        return apig(
            403,
            "APIGW.0302",
            "The IAM user is not authorized to access the API.",
        );
    }
    let q = req.query();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let num = |k: &str, d: usize| get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (offset, limit) = (num("offset", 0), num("limit", 500));
    let path: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    match (req.method.as_str(), path.as_slice()) {
        ("GET", ["v2", "zones"]) => {
            if get("type") != Some("public") {
                return dns_error(400, "DNS.0101", "type must be public here");
            }
            let zones: Vec<Value> = page(&f.zones, offset, limit, f.max)
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "zone_type": "public"}))
                .collect();
            Response::json(
                200,
                json!({"links": {}, "zones": zones, "metadata": {"total_count": f.zones.len()}}),
            )
        }
        ("GET", ["v2", "zones", zone, "recordsets"]) => {
            // The name filter matches loosely: longer names come back too.
            let name = get("name").unwrap_or_default();
            let rtype = get("type").unwrap_or_default();
            let all: Vec<Set> = f
                .sets
                .iter()
                .filter(|s| {
                    s.zone == *zone
                        && s.name.contains(name)
                        && (rtype.is_empty() || s.rtype == rtype)
                })
                .cloned()
                .collect();
            let sets: Vec<Value> = page(&all, offset, limit, f.max)
                .iter()
                .map(set_json)
                .collect();
            Response::json(
                200,
                json!({"links": {}, "recordsets": sets, "metadata": {"total_count": all.len()}}),
            )
        }
        ("POST", ["v2", "zones", zone, "recordsets"]) => {
            let b = req.json();
            let (name, rtype) = (
                b["name"].as_str().unwrap_or_default(),
                b["type"].as_str().unwrap_or_default(),
            );
            let Some((_, zname)) = f.zones.iter().find(|z| z.0 == *zone).cloned() else {
                return dns_error(404, "DNS.0101", "The zone does not exist.");
            };
            if !name.ends_with(&format!(".{zname}")) && name != zname {
                return dns_error(400, "DNS.0308", "The record set name is not in the zone.");
            }
            let records: Vec<&str> = b["records"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if records.is_empty()
                || (rtype == "TXT"
                    && !records
                        .iter()
                        .all(|r| r.starts_with('"') && r.ends_with('"')))
            {
                return dns_error(400, "DNS.0308", "Invalid records.");
            }
            if f.sets
                .iter()
                .any(|s| s.zone == *zone && s.name == name && s.rtype == rtype)
            {
                return dns_error(400, "DNS.0312", "The record set already exists.");
            }
            let id = f.seed(&zname, name, rtype, &records);
            let s = f.sets.last_mut().unwrap();
            s.ttl = b["ttl"].as_u64().unwrap_or(300);
            let _ = id;
            Response::json(202, set_json(s))
        }
        ("PUT", ["v2", "zones", zone, "recordsets", id]) => {
            let b = req.json();
            let Some(s) = f.sets.iter_mut().find(|s| s.zone == *zone && s.id == *id) else {
                return dns_error(404, "DNS.0304", "The record set does not exist.");
            };
            s.records = b["records"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|x| Some(x.as_str()?.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            s.ttl = b["ttl"].as_u64().unwrap_or(s.ttl);
            Response::json(202, set_json(s))
        }
        ("DELETE", ["v2", "zones", zone, "recordsets", id]) => {
            let before = f.sets.len();
            f.sets.retain(|s| !(s.zone == *zone && s.id == *id));
            match f.sets.len() < before {
                true => Response::json(202, json!({"id": id, "status": "PENDING_DELETE"})),
                false => dns_error(404, "DNS.0304", "The record set does not exist."),
            }
        }
        _ => dns_error(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment.",
        ),
    }
}

fn rig(zones: &[&str]) -> Rig<Fake> {
    let fake = Fake {
        zones: zones
            .iter()
            .enumerate()
            .map(|(i, z)| (format!("2c9eb155587194ec0158722{i:011x}"), format!("{z}.")))
            .collect(),
        sets: Vec::new(),
        next: 0,
        faults: VecDeque::new(),
        max: 2,
    };
    Rig::start(fake, handle)
}

const GOOD: [(&str, &str); 3] = [
    ("access_key", AK),
    ("secret_key", SK),
    ("project_id", PROJECT),
];

#[test]
fn finds_the_zone_by_longest_match_across_pages() {
    let rig = rig(&[
        "a.test",
        "example.com",
        "b.test",
        "sub.example.com",
        "c.test",
    ]);
    let mut p = rig.provider("huaweicloud", &GOOD);
    p.add_txt("_acme-challenge.www.sub.example.com", "v-sub")
        .unwrap();
    p.add_txt("_acme-challenge.example.com", "v-apex").unwrap();
    let f = rig.state();
    let zone_of = |name: &str| {
        let s = f.sets.iter().find(|s| s.name == name).unwrap();
        f.zones.iter().find(|z| z.0 == s.zone).unwrap().1.clone()
    };
    assert_eq!(
        zone_of("_acme-challenge.www.sub.example.com."),
        "sub.example.com."
    );
    assert_eq!(zone_of("_acme-challenge.example.com."), "example.com.");
    assert_eq!(
        f.records("_acme-challenge.example.com.", "TXT"),
        ["\"v-apex\""]
    );
    drop(f);
    let zone_lists: Vec<String> = rig
        .requests()
        .iter()
        .filter(|r| r.path() == "/v2/zones")
        .map(|r| {
            r.query()
                .into_iter()
                .find(|(k, _)| k == "offset")
                .unwrap()
                .1
        })
        .collect();
    assert_eq!(zone_lists, ["0", "2", "4"]);
    assert!(
        rig.requests()
            .iter()
            .all(|r| r.header("x-project-id") == Some(PROJECT))
    );
    let e = p
        .add_txt("_acme-challenge.example.net", "x")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("example.net") && e.contains("sub.example.com"),
        "{e}"
    );
}

#[test]
fn two_values_side_by_side_then_one_removed() {
    let rig = rig(&["example.com"]);
    let mut p = rig.provider("huaweicloud", &GOOD);
    let name = "_acme-challenge.example.com";
    p.add_txt(name, "value-for-name").unwrap();
    p.add_txt(name, "value-for-wildcard").unwrap();
    p.add_txt(name, "value-for-name").unwrap();
    let f = rig.state();
    assert_eq!(f.sets.len(), 1, "one set holds both values");
    assert_eq!(f.sets[0].ttl, 60);
    assert_eq!(
        f.records("_acme-challenge.example.com.", "TXT"),
        ["\"value-for-name\"", "\"value-for-wildcard\""]
    );
    drop(f);
    p.remove_txt(name, "value-for-name").unwrap();
    assert_eq!(
        rig.state().records("_acme-challenge.example.com.", "TXT"),
        ["\"value-for-wildcard\""]
    );
    p.remove_txt(name, "value-for-name").unwrap();
    // The last value takes the set with it.
    p.remove_txt(name, "value-for-wildcard").unwrap();
    assert!(rig.state().sets.is_empty());
}

#[test]
fn record_lists_are_read_page_by_page() {
    let rig = rig(&["example.com"]);
    // Names the loose filter also returns, ahead of ours.
    for i in 0..5 {
        rig.state().seed(
            "example.com.",
            &format!("x{i}._acme-challenge.example.com."),
            "TXT",
            &["\"other\""],
        );
    }
    let ours = rig.state().seed(
        "example.com.",
        "_acme-challenge.example.com.",
        "TXT",
        &["\"kept\""],
    );
    let mut p = rig.provider("huaweicloud", &GOOD);
    p.add_txt("_acme-challenge.example.com", "added").unwrap();
    let f = rig.state();
    assert_eq!(f.sets.len(), 6, "our set, found on page 3, was updated");
    let set = f.sets.iter().find(|s| s.id == ours).unwrap();
    assert_eq!(set.records, ["\"kept\"", "\"added\""]);
    assert_eq!(set.ttl, 300, "the set keeps its TTL");
}

#[test]
fn set_address_makes_the_a_and_aaaa_sets() {
    let rig = rig(&["example.com"]);
    let id = rig.state().seed(
        "example.com.",
        "home.example.com.",
        "A",
        &["192.0.2.1", "192.0.2.2"],
    );
    let mut p = rig.provider("huaweicloud", &GOOD);
    let v4: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap()];
    p.set_address("home.example.com", Family::V4, &v4, 120)
        .unwrap();
    let f = rig.state();
    let set = f.sets.iter().find(|s| s.id == id).unwrap();
    assert_eq!(
        (set.records.clone(), set.ttl),
        (vec!["198.51.100.7".to_string()], 120)
    );
    drop(f);
    let v6: Vec<IpAddr> = vec![
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    p.set_address("home.example.com", Family::V6, &v6, 120)
        .unwrap();
    assert_eq!(
        rig.state().records("home.example.com.", "AAAA"),
        ["2001:db8::1", "2001:db8::2"]
    );
    let writes = |rig: &Rig<Fake>| rig.requests().iter().filter(|r| r.method != "GET").count();
    let before = writes(&rig);
    p.set_address("home.example.com", Family::V6, &v6, 120)
        .unwrap();
    assert_eq!(writes(&rig), before, "nothing to change, nothing written");
    p.set_address("home.example.com", Family::V4, &[], 120)
        .unwrap();
    let f = rig.state();
    assert!(f.records("home.example.com.", "A").is_empty());
    assert_eq!(f.sets.len(), 1);
}

#[test]
fn server_errors_and_throttling_are_retried() {
    let rig = rig(&["example.com"]);
    rig.state().faults = [Fault::Status(500), Fault::Busy, Fault::Status(503)].into();
    let mut p = rig.provider("huaweicloud", &GOOD);
    p.add_txt("_acme-challenge.example.com", "v").unwrap();
    assert_eq!(
        rig.state().records("_acme-challenge.example.com.", "TXT"),
        ["\"v\""]
    );
    assert_eq!(rig.requests().len(), 3 + 3);
    rig.state().faults = vec![Fault::Busy; 20].into();
    let e = p
        .remove_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(e.contains("huaweicloud") && e.contains("HTTP 429"), "{e}");
}

#[test]
fn bad_credentials_are_named_without_the_secret() {
    let rig = rig(&["example.com"]);
    let wrong = "wrong-secret-value";
    let mut p = rig.provider("huaweicloud", &[("access_key", AK), ("secret_key", wrong)]);
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "DNS: huaweicloud rejected the AK/SK (APIGW.0301): check access_key/secret_key"
    );
    let mut p = rig.provider(
        "huaweicloud",
        &[("access_key", "NOPE"), ("secret_key", wrong)],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(e.contains("APIGW.0301") && !e.contains(wrong), "{e}");
    for r in rig.requests() {
        let all = format!("{} {:?}{}", r.target, r.headers, r.text());
        assert!(!all.contains(wrong) && !all.contains(SK));
    }
}
