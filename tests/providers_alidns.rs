//! The alidns provider against a fake Alibaba Cloud DNS RPC API (2015-01-09)
//! that checks every signature as the service does, keeps records, serves
//! small pages and answers the documented errors.

mod common;

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;

use common::cloud::{Fault, Rig, fault, page, rr};
use common::httpd::{Request, Response};
use serde_json::json;
use wancert::providers::Family;
use wancert::providers::alidns;
use wancert::providers::cloud::canonical_query;

const ID: &str = "LTAI5tTestKeyId";
const SECRET: &str = "alidns-right-secret";

#[derive(Clone, Debug)]
struct Rec {
    id: u64,
    domain: String,
    rr: String,
    rtype: String,
    value: String,
    ttl: u32,
}

struct Fake {
    domains: Vec<String>,
    recs: Vec<Rec>,
    next: u64,
    faults: VecDeque<Fault>,
    nonces: HashSet<String>,
    /// Largest page served, whatever PageSize asks.
    max: usize,
}

impl Fake {
    fn new(domains: &[&str]) -> Fake {
        Fake {
            domains: domains.iter().map(|d| d.to_string()).collect(),
            recs: Vec::new(),
            next: 1000,
            faults: VecDeque::new(),
            nonces: HashSet::new(),
            max: 2,
        }
    }
    fn seed(&mut self, domain: &str, rr: &str, rtype: &str, value: &str) -> u64 {
        self.next += 1;
        self.recs.push(Rec {
            id: self.next,
            domain: domain.into(),
            rr: rr.into(),
            rtype: rtype.into(),
            value: value.into(),
            ttl: 600,
        });
        self.next
    }
    /// Values of `rtype` at `rr` in `domain`.
    fn values(&self, domain: &str, rr: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .recs
            .iter()
            .filter(|r| r.domain == domain && r.rr == rr && r.rtype == rtype)
            .map(|r| r.value.clone())
            .collect();
        v.sort();
        v
    }
}

fn error(status: u16, code: &str, msg: &str) -> Response {
    Response::json(
        status,
        json!({"RequestId": "r", "HostId": "alidns.aliyuncs.com", "Code": code, "Message": msg}),
    )
}

/// The punycode the API gives an IDN (and an empty one to an ASCII name).
fn puny(domain: &str) -> &'static str {
    match domain {
        "\u{4f8b}\u{5b50}.cn" => "xn--fsqu00a.cn",
        _ => "",
    }
}

fn handle(f: &mut Fake, req: &Request) -> Response {
    match fault(&mut f.faults) {
        Some(Fault::Status(s)) => return error(s, "ServiceUnavailable", "try later"),
        Some(Fault::Busy) => {
            return error(
                400,
                "Throttling.User",
                "Request was denied due to user flow control.",
            );
        }
        None => {}
    }
    let q = req.query();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    for (k, want) in [
        ("Format", Some("JSON")),
        ("Version", Some("2015-01-09")),
        ("SignatureMethod", Some("HMAC-SHA1")),
        ("SignatureVersion", Some("1.0")),
        ("AccessKeyId", None),
        ("SignatureNonce", None),
        ("Timestamp", None),
        ("Signature", None),
        ("Action", None),
    ] {
        match (get(k), want) {
            (None, _) => return error(400, "MissingParameter", &format!("{k} is missing")),
            (Some(v), Some(w)) if v != w => return error(400, "InvalidParameter", k),
            _ => {}
        }
    }
    let ts = get("Timestamp").unwrap();
    if ts.len() != 20 || !ts.ends_with('Z') || ts.as_bytes()[10] != b'T' {
        return error(400, "InvalidTimeStamp.Format", ts);
    }
    if req.method != "GET" || req.path() != "/" {
        return error(400, "UnsupportedHTTPMethod", &req.method);
    }
    if get("AccessKeyId") != Some(ID) {
        return error(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        );
    }
    let unsigned: Vec<(&str, &str)> = q
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if alidns::signature(SECRET, "GET", &canonical_query(&unsigned)) != get("Signature").unwrap() {
        return error(
            400,
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        );
    }
    if !f.nonces.insert(get("SignatureNonce").unwrap().to_string()) {
        return error(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    let num = |k: &str, d: usize| get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    // Pages hold at most `max` entries, whatever PageSize asks.
    let (pn, ps) = (num("PageNumber", 1), num("PageSize", 20).min(f.max));
    let param = |k: &str| get(k).unwrap_or_default().to_string();
    match get("Action").unwrap() {
        "DescribeDomains" => {
            let items: Vec<_> = page(&f.domains, (pn - 1) * ps, ps, f.max)
                .iter()
                .map(|d| json!({"DomainName": d, "DomainId": format!("id-{d}"), "PunyCode": puny(d)}))
                .collect();
            Response::json(
                200,
                json!({"TotalCount": f.domains.len(), "PageNumber": pn, "PageSize": ps,
                       "Domains": {"Domain": items}}),
            )
        }
        "DescribeSubDomainRecords" => {
            let domain = param("DomainName");
            let rr = rr(&param("SubDomain"), &domain);
            let rtype = param("Type");
            let all: Vec<Rec> = f
                .recs
                .iter()
                .filter(|r| {
                    r.domain == domain && r.rr == rr && (rtype.is_empty() || r.rtype == rtype)
                })
                .cloned()
                .collect();
            let items: Vec<_> = page(&all, (pn - 1) * ps, ps, f.max)
                .iter()
                .map(|r| {
                    json!({"RecordId": r.id.to_string(), "DomainName": r.domain, "RR": r.rr,
                           "Type": r.rtype, "Value": r.value, "TTL": r.ttl, "Line": "default"})
                })
                .collect();
            Response::json(
                200,
                json!({"TotalCount": all.len(), "PageNumber": pn, "PageSize": ps,
                       "DomainRecords": {"Record": items}}),
            )
        }
        "AddDomainRecord" => {
            let domain = param("DomainName");
            if !f.domains.contains(&domain) {
                return error(
                    400,
                    "InvalidDomainName.NoExist",
                    "The specified domain name does not exist.",
                );
            }
            let (rr, rtype, value) = (param("RR"), param("Type"), param("Value"));
            if f.values(&domain, &rr, &rtype).contains(&value) {
                return error(
                    400,
                    "DomainRecordDuplicate",
                    "The DNS record already exists.",
                );
            }
            let id = f.seed(&domain, &rr, &rtype, &value);
            f.recs.last_mut().unwrap().ttl = num("TTL", 600) as u32;
            Response::json(200, json!({"RequestId": "r", "RecordId": id.to_string()}))
        }
        "UpdateDomainRecord" => {
            let id: u64 = param("RecordId").parse().unwrap_or(0);
            let Some(r) = f.recs.iter_mut().find(|r| r.id == id) else {
                return error(
                    400,
                    "DomainRecordNotBelongToUser",
                    "The DNS record does not exist.",
                );
            };
            (r.rr, r.rtype, r.value, r.ttl) = (
                param("RR"),
                param("Type"),
                param("Value"),
                num("TTL", 600) as u32,
            );
            Response::json(200, json!({"RequestId": "r", "RecordId": id.to_string()}))
        }
        "DeleteDomainRecord" => {
            let id: u64 = param("RecordId").parse().unwrap_or(0);
            let before = f.recs.len();
            f.recs.retain(|r| r.id != id);
            if f.recs.len() == before {
                return error(
                    400,
                    "DomainRecordNotBelongToUser",
                    "The DNS record does not exist.",
                );
            }
            Response::json(200, json!({"RequestId": "r", "RecordId": id.to_string()}))
        }
        a => error(400, "InvalidAction.NotFound", a),
    }
}

fn rig(domains: &[&str]) -> Rig<Fake> {
    Rig::start(Fake::new(domains), handle)
}

const GOOD: [(&str, &str); 2] = [("access_key_id", ID), ("access_key_secret", SECRET)];

#[test]
fn finds_the_zone_by_longest_match_across_pages() {
    let rig = rig(&[
        "a.test",
        "example.com",
        "b.test",
        "sub.example.com",
        "c.test",
        "\u{4f8b}\u{5b50}.cn",
    ]);
    let mut p = rig.provider("alidns", &GOOD);
    p.add_txt("_acme-challenge.www.sub.example.com", "v-sub")
        .unwrap();
    p.add_txt("_acme-challenge.example.com", "v-apex").unwrap();
    // An IDN zone (例子.cn) is found by its punycode, named by its own name.
    p.add_txt("_acme-challenge.xn--fsqu00a.cn", "v-idn")
        .unwrap();
    let f = rig.state();
    assert_eq!(
        f.values("\u{4f8b}\u{5b50}.cn", "_acme-challenge", "TXT"),
        ["v-idn"]
    );
    assert_eq!(
        f.values("sub.example.com", "_acme-challenge.www", "TXT"),
        ["v-sub"]
    );
    assert_eq!(
        f.values("example.com", "_acme-challenge", "TXT"),
        ["v-apex"]
    );
    drop(f);
    // Three pages of two domains, listed once for both calls.
    let pages: Vec<String> = rig
        .requests()
        .iter()
        .filter(|r| r.target.contains("Action=DescribeDomains"))
        .map(|r| {
            r.query()
                .into_iter()
                .find(|(k, _)| k == "PageNumber")
                .unwrap()
                .1
        })
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);

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
    let mut p = rig.provider("alidns", &GOOD);
    let name = "_acme-challenge.example.com";
    p.add_txt(name, "value-for-name").unwrap();
    p.add_txt(name, "value-for-wildcard").unwrap();
    // Adding a value that is there already changes nothing.
    p.add_txt(name, "value-for-name").unwrap();
    assert_eq!(
        rig.state().values("example.com", "_acme-challenge", "TXT"),
        ["value-for-name", "value-for-wildcard"]
    );
    p.remove_txt(name, "value-for-name").unwrap();
    assert_eq!(
        rig.state().values("example.com", "_acme-challenge", "TXT"),
        ["value-for-wildcard"]
    );
    // Removing an absent value is fine.
    p.remove_txt(name, "value-for-name").unwrap();
    assert_eq!(rig.state().recs.len(), 1);
    assert!(rig.state().recs.iter().all(|r| r.ttl == 600));
}

#[test]
fn record_lists_are_read_page_by_page() {
    let rig = rig(&["example.com"]);
    for i in 0..5 {
        rig.state().seed(
            "example.com",
            "_acme-challenge",
            "TXT",
            &format!("other-{i}"),
        );
    }
    rig.state()
        .seed("example.com", "_acme-challenge", "TXT", "on-page-3");
    let mut p = rig.provider("alidns", &GOOD);
    p.add_txt("_acme-challenge.example.com", "on-page-3")
        .unwrap();
    assert_eq!(
        rig.state().recs.len(),
        6,
        "found on the last page, not added again"
    );
    p.remove_txt("_acme-challenge.example.com", "on-page-3")
        .unwrap();
    let values = rig.state().values("example.com", "_acme-challenge", "TXT");
    assert_eq!(values.len(), 5);
    assert!(!values.contains(&"on-page-3".to_string()));
}

#[test]
fn set_address_makes_the_a_and_aaaa_sets() {
    let rig = rig(&["example.com"]);
    let kept = rig.state().seed("example.com", "home", "A", "192.0.2.1");
    rig.state().seed("example.com", "home", "A", "192.0.2.2");
    rig.state().seed("example.com", "home", "TXT", "unrelated");
    let mut p = rig.provider("alidns", &GOOD);
    let v4: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap()];
    p.set_address("home.example.com", Family::V4, &v4, 600)
        .unwrap();
    let f = rig.state();
    assert_eq!(f.values("example.com", "home", "A"), ["198.51.100.7"]);
    // Rewritten in place, not deleted and created.
    assert!(
        f.recs
            .iter()
            .any(|r| r.id == kept && r.value == "198.51.100.7")
    );
    drop(f);

    let v6: Vec<IpAddr> = vec![
        "2001:db8::2".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    ];
    p.set_address("home.example.com", Family::V6, &v6, 600)
        .unwrap();
    assert_eq!(
        rig.state().values("example.com", "home", "AAAA"),
        ["2001:db8::1", "2001:db8::2"]
    );
    // The same again: no write at all.
    let writes = |rig: &Rig<Fake>| {
        rig.requests()
            .iter()
            .filter(|r| !r.target.contains("Action=Describe"))
            .count()
    };
    let before = writes(&rig);
    p.set_address("home.example.com", Family::V6, &v6, 600)
        .unwrap();
    assert_eq!(writes(&rig), before);

    p.set_address("home.example.com", Family::V4, &[], 600)
        .unwrap();
    let f = rig.state();
    assert!(f.values("example.com", "home", "A").is_empty());
    assert_eq!(f.values("example.com", "home", "AAAA").len(), 2);
    assert_eq!(f.values("example.com", "home", "TXT"), ["unrelated"]);
}

#[test]
fn server_errors_and_throttling_are_retried() {
    let rig = rig(&["example.com"]);
    rig.state().faults = [
        Fault::Status(503),
        Fault::Status(429),
        Fault::Busy,
        Fault::Status(500),
    ]
    .into();
    let mut p = rig.provider("alidns", &GOOD);
    p.add_txt("_acme-challenge.example.com", "v").unwrap();
    assert_eq!(
        rig.state().values("example.com", "_acme-challenge", "TXT"),
        ["v"]
    );
    // 4 failures, then DescribeDomains, DescribeSubDomainRecords, AddDomainRecord.
    assert_eq!(rig.requests().len(), 7);

    // A service that keeps failing gives up with a clear error.
    rig.state().faults = vec![Fault::Status(503); 20].into();
    let e = p
        .remove_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(e.contains("alidns") && e.contains("HTTP 503"), "{e}");
}

#[test]
fn bad_credentials_are_named_without_the_secret() {
    let rig = rig(&["example.com"]);
    let wrong = "wrong-secret-value";
    let mut p = rig.provider(
        "alidns",
        &[("access_key_id", ID), ("access_key_secret", wrong)],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "DNS: alidns rejected the AccessKey (SignatureDoesNotMatch): check access_key_id/access_key_secret"
    );
    let mut p = rig.provider(
        "alidns",
        &[("access_key_id", "LTAInope"), ("access_key_secret", wrong)],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("InvalidAccessKeyId.NotFound") && !e.contains(wrong),
        "{e}"
    );
    for r in rig.requests() {
        assert!(!r.target.contains(wrong) && !r.target.contains(SECRET));
    }
}

#[test]
fn an_unreachable_api_is_named_without_the_signed_query() {
    let text = format!(
        "config provider 'p'\n\toption type 'alidns'\n\toption endpoint 'http://127.0.0.1:1'\n\
         \toption access_key_id '{ID}'\n\toption access_key_secret '{SECRET}'\n"
    );
    let config = wancert::config::parse("/etc/config/wancert", &text).unwrap();
    let http = wancert::http::UreqHttp::new(None, std::time::Duration::from_secs(2)).unwrap();
    let clock = wancert::clock::FakeClock::at(1_700_000_000);
    let env = wancert::providers::Env {
        http: &http,
        clock: &clock,
    };
    let mut p = wancert::providers::build(&config.providers[0], &env).unwrap();
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(e.contains("http://127.0.0.1:1/"), "{e}");
    assert!(!e.contains("Signature") && !e.contains(ID), "{e}");
}
