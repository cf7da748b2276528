//! The dnspod provider against a fake Tencent Cloud API 3.0 DNSPod service
//! (2021-03-23) that checks every TC3-HMAC-SHA256 signature as the service
//! does, keeps records, serves small pages and answers the documented errors
//! (inside HTTP 200 answers, as API 3.0 does).

mod common;

use std::collections::VecDeque;
use std::net::IpAddr;

use common::cloud::{Fault, Refusal, Rig, check_hmac256, fault, field, page};
use common::httpd::{Request, Response};
use serde_json::{Value, json};
use wancert::providers::Family;
use wancert::providers::cloud::{TC3, iso8601};

const ID: &str = "AKIDtestSecretId";
const SECRET: &str = "dnspod-right-secret-key";

#[derive(Clone, Debug)]
struct Rec {
    id: u64,
    domain: String,
    name: String,
    rtype: String,
    value: String,
    ttl: u32,
    line: String,
}

struct Fake {
    domains: Vec<String>,
    recs: Vec<Rec>,
    next: u64,
    faults: VecDeque<Fault>,
    max: usize,
}

impl Fake {
    fn seed(&mut self, domain: &str, name: &str, rtype: &str, value: &str) -> u64 {
        self.next += 1;
        self.recs.push(Rec {
            id: self.next,
            domain: domain.into(),
            name: name.into(),
            rtype: rtype.into(),
            value: value.into(),
            ttl: 600,
            line: "\u{9ed8}\u{8ba4}".into(),
        });
        self.next
    }
    fn values(&self, domain: &str, name: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .recs
            .iter()
            .filter(|r| r.domain == domain && r.name == name && r.rtype == rtype)
            .map(|r| r.value.clone())
            .collect();
        v.sort();
        v
    }
}

fn answer(body: Value) -> Response {
    let mut body = body;
    body["RequestId"] = json!("6ef60bec-0242-43af-bb20-270359fb54a7");
    Response::json(200, json!({ "Response": body }))
}

fn error(code: &str, msg: &str) -> Response {
    answer(json!({"Error": {"Code": code, "Message": msg}}))
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
        Some(Fault::Status(s)) => return Response::text(s, "busy"),
        Some(Fault::Busy) => {
            return error(
                "RequestLimitExceeded",
                "Your current request times equals to `21` in a second",
            );
        }
        None => {}
    }
    if req.method != "POST" || req.path() != "/" {
        return error("UnsupportedProtocol", "POST / only");
    }
    if req.header("content-type") != Some("application/json; charset=utf-8") {
        return error("InvalidParameter", "content-type");
    }
    if req.header("x-tc-version") != Some("2021-03-23") {
        return error("NoSuchVersion", "version");
    }
    match check_hmac256(req, &TC3, &[(ID, SECRET)], "x-tc-timestamp", false) {
        Ok(scope) => {
            let ts: u64 = req.header("x-tc-timestamp").unwrap().parse().unwrap_or(0);
            if scope != [&iso8601(ts)[..10], "dnspod", "tc3_request"] {
                return error("AuthFailure.InvalidAuthorization", "bad credential scope");
            }
        }
        Err(Refusal::UnknownId) => {
            return error(
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            );
        }
        Err(Refusal::BadSignature) => {
            return error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated.",
            );
        }
        Err(Refusal::Malformed(m)) => return error("AuthFailure.InvalidAuthorization", m),
    }
    let b = req.json();
    let num = |k: &str, d: usize| b[k].as_u64().map_or(d, |n| n as usize);
    let (offset, limit) = (num("Offset", 0), num("Limit", 100));
    match req.header("x-tc-action").unwrap_or_default() {
        "DescribeDomainList" => {
            if f.domains.is_empty() {
                return error("ResourceNotFound.NoDataOfDomain", "no domains");
            }
            let items: Vec<Value> = page(&f.domains, offset, limit, f.max)
                .iter()
                .map(|d| json!({"DomainId": 100 + d.len(), "Name": d, "Punycode": puny(d), "Status": "ENABLE"}))
                .collect();
            answer(
                json!({"DomainCountInfo": {"DomainTotal": f.domains.len(), "AllTotal": f.domains.len()},
                          "DomainList": items}),
            )
        }
        "DescribeRecordList" => {
            let domain = field(&b, "Domain");
            let (sub, rtype) = (field(&b, "Subdomain"), field(&b, "RecordType"));
            let all: Vec<Rec> = f
                .recs
                .iter()
                .filter(|r| {
                    r.domain == domain
                        && (sub.is_empty() || r.name == sub)
                        && (rtype.is_empty() || r.rtype == rtype)
                })
                .cloned()
                .collect();
            if all.is_empty() {
                return error("ResourceNotFound.NoDataOfRecord", "记录列表为空。");
            }
            let items: Vec<Value> = page(&all, offset, limit, f.max)
                .iter()
                .map(|r| {
                    json!({"RecordId": r.id, "Name": r.name, "Type": r.rtype, "Value": r.value,
                           "TTL": r.ttl, "Line": r.line, "Status": "ENABLE"})
                })
                .collect();
            answer(
                json!({"RecordCountInfo": {"SubdomainCount": all.len(), "ListCount": items.len(),
                                              "TotalCount": all.len()},
                          "RecordList": items}),
            )
        }
        "CreateRecord" => {
            let domain = field(&b, "Domain");
            if !f.domains.contains(&domain) {
                return error(
                    "InvalidParameterValue.DomainNotExists",
                    "当前域名有误，请返回重新操作。",
                );
            }
            if field(&b, "RecordLine").is_empty() {
                return error("MissingParameter", "RecordLine");
            }
            let id = f.seed(
                &domain,
                &field(&b, "SubDomain"),
                &field(&b, "RecordType"),
                &field(&b, "Value"),
            );
            f.recs.last_mut().unwrap().ttl = num("TTL", 600) as u32;
            answer(json!({"RecordId": id}))
        }
        "ModifyRecord" => {
            let id = b["RecordId"].as_u64().unwrap_or(0);
            let Some(r) = f.recs.iter_mut().find(|r| r.id == id) else {
                return error("InvalidParameter.RecordIdInvalid", "记录编号错误。");
            };
            (r.name, r.rtype, r.value) = (
                field(&b, "SubDomain"),
                field(&b, "RecordType"),
                field(&b, "Value"),
            );
            r.ttl = num("TTL", 600) as u32;
            answer(json!({"RecordId": id}))
        }
        "DeleteRecord" => {
            let id = b["RecordId"].as_u64().unwrap_or(0);
            let before = f.recs.len();
            f.recs.retain(|r| r.id != id);
            if f.recs.len() == before {
                return error("InvalidParameter.RecordIdInvalid", "记录编号错误。");
            }
            answer(json!({}))
        }
        a => error("InvalidAction", a),
    }
}

fn rig(domains: &[&str]) -> Rig<Fake> {
    let fake = Fake {
        domains: domains.iter().map(|d| d.to_string()).collect(),
        recs: Vec::new(),
        next: 5000,
        faults: VecDeque::new(),
        max: 2,
    };
    Rig::start(fake, handle)
}

const GOOD: [(&str, &str); 2] = [("secret_id", ID), ("secret_key", SECRET)];

fn actions(rig: &Rig<Fake>, action: &str) -> Vec<Value> {
    rig.requests()
        .iter()
        .filter(|r| r.header("x-tc-action") == Some(action))
        .map(|r| r.json())
        .collect()
}

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
    let mut p = rig.provider("dnspod", &GOOD);
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
    assert!(
        f.recs
            .iter()
            .all(|r| r.line == "\u{9ed8}\u{8ba4}" && r.ttl == 600)
    );
    drop(f);
    let offsets: Vec<u64> = actions(&rig, "DescribeDomainList")
        .iter()
        .map(|b| b["Offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 2, 4]);
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
    let mut p = rig.provider("dnspod", &GOOD);
    let name = "_acme-challenge.example.com";
    p.add_txt(name, "value-for-name").unwrap();
    p.add_txt(name, "value-for-wildcard").unwrap();
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
    p.remove_txt(name, "value-for-wildcard").unwrap();
    // The empty list, an error to the API, is no error to us.
    p.remove_txt(name, "value-for-wildcard").unwrap();
    assert!(rig.state().recs.is_empty());
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
    let mut p = rig.provider("dnspod", &GOOD);
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
    let offsets: Vec<u64> = actions(&rig, "DescribeRecordList")
        .iter()
        .map(|b| b["Offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 2, 4, 0, 2, 4]);
}

#[test]
fn set_address_makes_the_a_and_aaaa_sets() {
    let rig = rig(&["example.com"]);
    let kept = rig.state().seed("example.com", "@", "A", "192.0.2.1");
    rig.state().seed("example.com", "@", "A", "192.0.2.2");
    rig.state().seed("example.com", "@", "TXT", "unrelated");
    let mut p = rig.provider("dnspod", &GOOD);
    let v4: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap()];
    p.set_address("example.com", Family::V4, &v4, 600).unwrap();
    let f = rig.state();
    assert_eq!(f.values("example.com", "@", "A"), ["198.51.100.7"]);
    assert!(
        f.recs
            .iter()
            .any(|r| r.id == kept && r.value == "198.51.100.7")
    );
    drop(f);
    let v6: Vec<IpAddr> = vec![
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    p.set_address("example.com", Family::V6, &v6, 600).unwrap();
    assert_eq!(
        rig.state().values("example.com", "@", "AAAA"),
        ["2001:db8::1", "2001:db8::2"]
    );
    p.set_address("example.com", Family::V4, &[], 600).unwrap();
    let f = rig.state();
    assert!(f.values("example.com", "@", "A").is_empty());
    assert_eq!(f.values("example.com", "@", "AAAA").len(), 2);
    assert_eq!(f.values("example.com", "@", "TXT"), ["unrelated"]);
}

#[test]
fn server_errors_and_throttling_are_retried() {
    let rig = rig(&["example.com"]);
    rig.state().faults = [
        Fault::Status(502),
        Fault::Status(429),
        Fault::Busy,
        Fault::Busy,
    ]
    .into();
    let mut p = rig.provider("dnspod", &GOOD);
    p.add_txt("_acme-challenge.example.com", "v").unwrap();
    assert_eq!(
        rig.state().values("example.com", "_acme-challenge", "TXT"),
        ["v"]
    );
    assert_eq!(rig.requests().len(), 4 + 3);
    // Throttled on every try: the API's own error comes through.
    rig.state().faults = vec![Fault::Busy; 20].into();
    let e = p
        .remove_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("RequestLimitExceeded") && e.contains("try later"),
        "{e}"
    );
}

#[test]
fn bad_credentials_are_named_without_the_secret() {
    let rig = rig(&["example.com"]);
    let wrong = "wrong-secret-value";
    let mut p = rig.provider("dnspod", &[("secret_id", ID), ("secret_key", wrong)]);
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "DNS: dnspod rejected the API key (AuthFailure.SignatureFailure): check secret_id/secret_key"
    );
    let mut p = rig.provider(
        "dnspod",
        &[("secret_id", "AKIDnope"), ("secret_key", wrong)],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AuthFailure.SecretIdNotFound") && !e.contains(wrong),
        "{e}"
    );
    for r in rig.requests() {
        let all = format!("{:?}{}", r.headers, r.text());
        assert!(!all.contains(wrong) && !all.contains(SECRET));
    }
}
