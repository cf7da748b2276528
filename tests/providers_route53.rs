//! The route53 provider against a fake Route 53 REST/XML API (2013-04-01)
//! that checks every SigV4 signature as AWS does, keeps record sets in
//! Route 53's order, pages hosted zones and record sets, and answers the
//! documented errors.

mod common;

use std::collections::VecDeque;
use std::net::IpAddr;

use common::cloud::{Fault, Refusal, Rig, check_hmac256, fault};
use common::httpd::{Request, Response};
use wancert::providers::Family;
use wancert::providers::cloud::SIGV4;
use wancert::providers::route53::{element, elements};

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "route53-right-secret/Key+EXAMPLE";
const TOKEN: &str = "FwoGZXIvYXdzEXAMPLEsessiontoken";

#[derive(Clone, Debug)]
struct Set {
    zone: String,
    name: String,
    rtype: String,
    ttl: u32,
    values: Vec<String>,
    set_id: Option<String>,
}

struct Fake {
    /// (id, name with dot, private)
    zones: Vec<(String, String, bool)>,
    sets: Vec<Set>,
    faults: VecDeque<Fault>,
    max: usize,
}

impl Fake {
    fn seed(&mut self, zone: &str, name: &str, rtype: &str, values: &[&str], set_id: Option<&str>) {
        self.sets.push(Set {
            zone: zone.into(),
            name: name.into(),
            rtype: rtype.into(),
            ttl: 300,
            values: values.iter().map(|v| v.to_string()).collect(),
            set_id: set_id.map(str::to_string),
        });
    }
    fn values(&self, name: &str, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .sets
            .iter()
            .filter(|s| s.name == name && s.rtype == rtype)
            .flat_map(|s| s.values.clone())
            .collect();
        v.sort();
        v
    }
}

fn error(status: u16, code: &str, msg: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{msg}</Message></Error><RequestId>8bd7c7b8-example</RequestId></ErrorResponse>"
    );
    Response {
        status,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: body.into_bytes(),
    }
}

fn xml(body: String) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}").into_bytes(),
    }
}

/// Route 53 lists names by their labels from the right.
fn order(name: &str) -> String {
    name.trim_end_matches('.')
        .rsplit('.')
        .collect::<Vec<_>>()
        .join(".")
}

fn handle(f: &mut Fake, req: &Request) -> Response {
    match fault(&mut f.faults) {
        Some(Fault::Status(s)) => return error(s, "ServiceUnavailable", "try later"),
        Some(Fault::Busy) => return error(400, "Throttling", "Rate exceeded"),
        None => {}
    }
    match check_hmac256(req, &SIGV4, &[(ID, SECRET)], "x-amz-date", false) {
        Ok(scope) => {
            let date = &req.header("x-amz-date").unwrap_or_default()[..8];
            if scope != [date, "us-east-1", "route53", "aws4_request"] {
                return error(
                    403,
                    "SignatureDoesNotMatch",
                    "Credential should be scoped to a valid region.",
                );
            }
        }
        Err(Refusal::UnknownId) => {
            return error(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            );
        }
        Err(Refusal::BadSignature) => {
            return error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        Err(Refusal::Malformed(m)) => return error(400, "IncompleteSignature", m),
    }
    let signed = req.header("authorization").unwrap_or_default();
    if req.header("x-amz-security-token") != Some(TOKEN) || !signed.contains("x-amz-security-token")
    {
        return error(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        );
    }
    let q = req.query();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let maxitems = get("maxitems")
        .and_then(|m| m.parse().ok())
        .unwrap_or(100usize)
        .min(f.max);
    let path: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    match (req.method.as_str(), path.as_slice()) {
        ("GET", ["2013-04-01", "hostedzone"]) => {
            let start = get("marker").map_or(0, |m| {
                f.zones.iter().position(|z| z.0 == m).unwrap_or(usize::MAX)
            });
            let page: Vec<_> = f.zones.iter().skip(start).take(maxitems).collect();
            let zones: String = page
                .iter()
                .map(|(id, name, private)| {
                    format!("<HostedZone><Id>/hostedzone/{id}</Id><Name>{name}</Name><CallerReference>r</CallerReference><Config><Comment>x &amp; y</Comment><PrivateZone>{private}</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>")
                })
                .collect();
            let next = f.zones.get(start.saturating_add(maxitems));
            let tail = match next {
                Some(z) => format!(
                    "<IsTruncated>true</IsTruncated><NextMarker>{}</NextMarker>",
                    z.0
                ),
                None => "<IsTruncated>false</IsTruncated>".into(),
            };
            xml(format!(
                "<ListHostedZonesResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><HostedZones>{zones}</HostedZones>{tail}<MaxItems>{maxitems}</MaxItems></ListHostedZonesResponse>"
            ))
        }
        ("GET", ["2013-04-01", "hostedzone", zone, "rrset"]) => {
            let mut all: Vec<&Set> = f.sets.iter().filter(|s| s.zone == *zone).collect();
            all.sort_by_key(|s| (order(&s.name), s.rtype.clone(), s.set_id.clone()));
            let from = (
                order(&get("name").unwrap_or_default()),
                get("type").unwrap_or_default(),
                get("identifier"),
            );
            let rest: Vec<&&Set> = all
                .iter()
                .filter(|s| (order(&s.name), s.rtype.clone(), s.set_id.clone()) >= from)
                .collect();
            let sets: String = rest
                .iter()
                .take(maxitems)
                .map(|s| {
                    let values: String = s.values.iter().map(|v| format!("<ResourceRecord><Value>{v}</Value></ResourceRecord>")).collect();
                    let ident = s.set_id.as_ref().map_or(String::new(), |i| format!("<SetIdentifier>{i}</SetIdentifier><Weight>1</Weight>"));
                    format!("<ResourceRecordSet><Name>{}</Name><Type>{}</Type>{ident}<TTL>{}</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet>", s.name.replace('*', "\\052"), s.rtype, s.ttl)
                })
                .collect();
            let tail = match rest.get(maxitems) {
                Some(n) => format!(
                    "<IsTruncated>true</IsTruncated><NextRecordName>{}</NextRecordName><NextRecordType>{}</NextRecordType>{}",
                    n.name,
                    n.rtype,
                    n.set_id.as_ref().map_or(String::new(), |i| format!(
                        "<NextRecordIdentifier>{i}</NextRecordIdentifier>"
                    ))
                ),
                None => "<IsTruncated>false</IsTruncated>".into(),
            };
            xml(format!(
                "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ResourceRecordSets>{sets}</ResourceRecordSets>{tail}<MaxItems>{maxitems}</MaxItems></ListResourceRecordSetsResponse>"
            ))
        }
        ("POST", ["2013-04-01", "hostedzone", zone, "rrset"]) if req.path().ends_with('/') => {
            if req.header("content-type") != Some("text/xml") {
                return error(400, "InvalidInput", "content-type");
            }
            let body = req.text();
            let Some(zname) = f.zones.iter().find(|z| z.0 == *zone).map(|z| z.1.clone()) else {
                return error(404, "NoSuchHostedZone", "No hosted zone found with ID");
            };
            for change in elements(&body, "Change") {
                let (action, name, rtype) = (
                    element(&change, "Action").unwrap_or_default(),
                    element(&change, "Name").unwrap_or_default(),
                    element(&change, "Type").unwrap_or_default(),
                );
                let ttl: u32 = element(&change, "TTL")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let values = elements(&change, "Value");
                if !name.ends_with(&format!(".{zname}")) && name != zname {
                    return error(400, "InvalidChangeBatch", "RRSet is not permitted in zone");
                }
                if values.is_empty()
                    || (rtype == "TXT"
                        && !values
                            .iter()
                            .all(|v| v.starts_with('"') && v.ends_with('"')))
                {
                    return error(
                        400,
                        "InvalidChangeBatch",
                        "Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks)",
                    );
                }
                let here = |s: &Set| s.zone == *zone && s.name == name && s.rtype == rtype;
                match action.as_str() {
                    "UPSERT" => {
                        if f.sets.iter().any(|s| here(s) && s.set_id.is_some()) {
                            return error(
                                400,
                                "InvalidChangeBatch",
                                "RRSet with DNS name and type cannot be created as a non-weighted set because a weighted set exists",
                            );
                        }
                        f.sets.retain(|s| !here(s));
                        f.sets.push(Set {
                            zone: zone.to_string(),
                            name,
                            rtype,
                            ttl,
                            values,
                            set_id: None,
                        });
                    }
                    "DELETE" => {
                        let Some(i) = f.sets.iter().position(|s| here(s) && s.set_id.is_none())
                        else {
                            return error(
                                400,
                                "InvalidChangeBatch",
                                "Tried to delete resource record set but it was not found",
                            );
                        };
                        if f.sets[i].ttl != ttl || f.sets[i].values != values {
                            return error(
                                400,
                                "InvalidChangeBatch",
                                "Tried to delete resource record set but the values provided do not match the current values",
                            );
                        }
                        f.sets.remove(i);
                    }
                    _ => return error(400, "InvalidInput", "action"),
                }
            }
            xml("<ChangeResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status><SubmittedAt>2023-11-14T22:13:20.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>".into())
        }
        _ => error(404, "UnknownOperationException", "no such operation"),
    }
}

fn rig(zones: &[(&str, bool)]) -> Rig<Fake> {
    let fake = Fake {
        zones: zones
            .iter()
            .enumerate()
            .map(|(i, (z, private))| (format!("Z{i:03}EXAMPLE"), format!("{z}."), *private))
            .collect(),
        sets: Vec::new(),
        faults: VecDeque::new(),
        max: 2,
    };
    Rig::start(fake, handle)
}

const GOOD: [(&str, &str); 3] = [
    ("access_key_id", ID),
    ("secret_access_key", SECRET),
    ("session_token", TOKEN),
];

#[test]
fn finds_the_public_zone_by_longest_match_across_pages() {
    let rig = rig(&[
        ("a.test", false),
        ("example.com", false),
        ("b.test", false),
        ("sub.example.com", false),
        ("in.example.com", true),
    ]);
    let mut p = rig.provider("route53", &GOOD);
    p.add_txt("_acme-challenge.www.sub.example.com", "v-sub")
        .unwrap();
    p.add_txt("_acme-challenge.x.in.example.com", "v-private")
        .unwrap();
    let f = rig.state();
    let zone_of = |name: &str| f.sets.iter().find(|s| s.name == name).unwrap().zone.clone();
    assert_eq!(
        zone_of("_acme-challenge.www.sub.example.com."),
        "Z003EXAMPLE"
    );
    // A private zone does not answer the CA: the public parent takes it.
    assert_eq!(zone_of("_acme-challenge.x.in.example.com."), "Z001EXAMPLE");
    drop(f);
    let markers: Vec<Option<String>> = rig
        .requests()
        .iter()
        .filter(|r| r.path() == "/2013-04-01/hostedzone")
        .map(|r| {
            r.query()
                .into_iter()
                .find(|(k, _)| k == "marker")
                .map(|(_, v)| v)
        })
        .collect();
    assert_eq!(
        markers,
        [None, Some("Z002EXAMPLE".into()), Some("Z004EXAMPLE".into())]
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
    let rig = rig(&[("example.com", false)]);
    rig.state().seed(
        "Z000EXAMPLE",
        "_acme-challenge.example.com.",
        "CNAME",
        &["elsewhere.example.net."],
        None,
    );
    let mut p = rig.provider("route53", &GOOD);
    let name = "_acme-challenge.example.com";
    p.add_txt(name, "value-for-name").unwrap();
    p.add_txt(name, "value-for-wildcard").unwrap();
    p.add_txt(name, "value-for-name").unwrap();
    assert_eq!(
        rig.state().values("_acme-challenge.example.com.", "TXT"),
        ["\"value-for-name\"", "\"value-for-wildcard\""]
    );
    p.remove_txt(name, "value-for-name").unwrap();
    assert_eq!(
        rig.state().values("_acme-challenge.example.com.", "TXT"),
        ["\"value-for-wildcard\""]
    );
    p.remove_txt(name, "value-for-name").unwrap();
    // The last value goes with a DELETE of the set as it is.
    p.remove_txt(name, "value-for-wildcard").unwrap();
    assert!(
        rig.state()
            .values("_acme-challenge.example.com.", "TXT")
            .is_empty()
    );
    assert_eq!(
        rig.state().sets.len(),
        1,
        "the other type at that name stays"
    );
    let last = rig
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST")
        .unwrap();
    assert_eq!(element(&last.text(), "Action").as_deref(), Some("DELETE"));
}

#[test]
fn record_lists_are_read_page_by_page() {
    let rig = rig(&[("example.com", false)]);
    // Weighted sets at our name and type are the user's: three of them run
    // over two pages, and no plain set can be written beside them.
    for w in ["w1", "w2", "w3"] {
        rig.state().seed(
            "Z000EXAMPLE",
            "_acme-challenge.example.com.",
            "TXT",
            &["\"weighted\""],
            Some(w),
        );
    }
    rig.state()
        .seed("Z000EXAMPLE", "a.example.com.", "A", &["192.0.2.1"], None);
    let mut p = rig.provider("route53", &GOOD);
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("InvalidChangeBatch") && e.contains("weighted"),
        "{e}"
    );
    let lists: Vec<Vec<(String, String)>> = rig
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/rrset"))
        .map(|r| r.query())
        .collect();
    assert_eq!(lists.len(), 2);
    assert!(lists[0].contains(&("name".into(), "_acme-challenge.example.com.".into())));
    assert!(
        lists[1].contains(&("identifier".into(), "w3".into())),
        "{lists:?}"
    );

    // A plain set is found where the list starts, whatever else the zone has.
    rig.state().sets.retain(|s| s.set_id.is_none());
    for i in 0..4 {
        rig.state().seed(
            "Z000EXAMPLE",
            &format!("n{i}.example.com."),
            "TXT",
            &["\"x\""],
            None,
        );
    }
    rig.state()
        .seed("Z000EXAMPLE", "z.example.com.", "TXT", &["\"old\""], None);
    p.add_txt("z.example.com", "new").unwrap();
    assert_eq!(
        rig.state().values("z.example.com.", "TXT"),
        ["\"new\"", "\"old\""]
    );
}

#[test]
fn set_address_makes_the_a_and_aaaa_sets() {
    let rig = rig(&[("example.com", false)]);
    rig.state().seed(
        "Z000EXAMPLE",
        "home.example.com.",
        "A",
        &["192.0.2.1", "192.0.2.2"],
        None,
    );
    let mut p = rig.provider("route53", &GOOD);
    let v4: Vec<IpAddr> = vec!["198.51.100.7".parse().unwrap()];
    p.set_address("home.example.com", Family::V4, &v4, 120)
        .unwrap();
    assert_eq!(
        rig.state().values("home.example.com.", "A"),
        ["198.51.100.7"]
    );
    let v6: Vec<IpAddr> = vec![
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    p.set_address("home.example.com", Family::V6, &v6, 120)
        .unwrap();
    assert_eq!(
        rig.state().values("home.example.com.", "AAAA"),
        ["2001:db8::1", "2001:db8::2"]
    );
    let posts = |rig: &Rig<Fake>| rig.requests().iter().filter(|r| r.method == "POST").count();
    let before = posts(&rig);
    p.set_address("home.example.com", Family::V6, &v6, 120)
        .unwrap();
    assert_eq!(posts(&rig), before, "nothing to change, nothing written");
    p.set_address("home.example.com", Family::V4, &[], 120)
        .unwrap();
    let f = rig.state();
    assert!(f.values("home.example.com.", "A").is_empty());
    assert!(f.sets.iter().all(|s| s.ttl == 120));
}

#[test]
fn server_errors_and_throttling_are_retried() {
    let rig = rig(&[("example.com", false)]);
    rig.state().faults = [
        Fault::Status(503),
        Fault::Busy,
        Fault::Status(500),
        Fault::Busy,
    ]
    .into();
    let mut p = rig.provider("route53", &GOOD);
    p.add_txt("_acme-challenge.example.com", "v").unwrap();
    assert_eq!(
        rig.state().values("_acme-challenge.example.com.", "TXT"),
        ["\"v\""]
    );
    assert_eq!(rig.requests().len(), 4 + 3);
    rig.state().faults = vec![Fault::Busy; 20].into();
    let e = p
        .remove_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(e.contains("Throttling") && e.contains("try later"), "{e}");
}

#[test]
fn bad_credentials_are_named_without_the_secret() {
    let rig = rig(&[("example.com", false)]);
    let wrong = "wrong-secret-value";
    let mut p = rig.provider(
        "route53",
        &[
            ("access_key_id", ID),
            ("secret_access_key", wrong),
            ("session_token", TOKEN),
        ],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "DNS: route53 rejected the access key (SignatureDoesNotMatch): check access_key_id/secret_access_key (and session_token)"
    );
    let mut p = rig.provider(
        "route53",
        &[("access_key_id", "AKIANOPE"), ("secret_access_key", wrong)],
    );
    let e = p
        .add_txt("_acme-challenge.example.com", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("InvalidClientTokenId") && !e.contains(wrong),
        "{e}"
    );
    for r in rig.requests() {
        let all = format!("{} {:?}{}", r.target, r.headers, r.text());
        assert!(!all.contains(wrong) && !all.contains(SECRET));
    }
}
