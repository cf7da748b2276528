//! Alibaba Cloud DNS (阿里云解析), RPC API version 2015-01-09, signed with
//! HMAC-SHA1 signature version 1.0.
//!
//! Options: `access_key_id`, `access_key_secret` (or `access_key_secret_file`),
//! `region` (picks `alidns.REGION.aliyuncs.com`), `endpoint` (a base URL,
//! overrides both; for tests).

use super::cloud::{self, PerValue, Rec, Records, Zone};
use super::rest::percent_encode;
use super::{DnsProvider, Env, ProviderType};
use crate::config::PluginSection;
use crate::http::Response;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "alidns",
    about: "Alibaba Cloud DNS (aliyun), AccessKey",
    build,
};

/// The smallest TTL the free edition accepts.
const TTL: u32 = 600;
/// Records and domains per page: the API's maximum.
const PAGE: usize = 100;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let id = section.required("access_key_id")?.to_string();
    let secret = section.secret("access_key_secret")?;
    let endpoint = match (section.optional("endpoint"), section.optional("region")) {
        (Some(e), _) => e.trim_end_matches('/').to_string(),
        (None, Some(r)) => format!("https://alidns.{r}.aliyuncs.com"),
        (None, None) => "https://alidns.aliyuncs.com".to_string(),
    };
    let api = Alidns {
        id,
        secret,
        endpoint,
        env: Env {
            http: env.http,
            clock: env.clock,
        },
        zones: None,
    };
    Ok(Box::new(PerValue {
        api: Box::new(api),
        ttl: TTL,
    }))
}

/// The RPC signature: Base64(HMAC-SHA1(secret + "&", "GET&%2F&" +
/// percent-encoded canonical query)). `canonical` comes from
/// `cloud::canonical_query` over every parameter but `Signature`.
pub fn signature(secret: &str, method: &str, canonical: &str) -> String {
    let text = format!("{method}&%2F&{}", percent_encode(canonical));
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    crate::b64::std(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

/// The signed query of one call: the common parameters, `params`, and the
/// signature. `time` is Unix seconds, `nonce` unique per request.
pub fn signed_query(
    id: &str,
    secret: &str,
    time: u64,
    nonce: &str,
    params: &[(&str, &str)],
) -> String {
    let time = cloud::iso8601(time);
    let mut all = vec![
        ("AccessKeyId", id),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", nonce),
        ("SignatureVersion", "1.0"),
        ("Timestamp", &time),
        ("Version", "2015-01-09"),
    ];
    all.extend_from_slice(params);
    let canonical = cloud::canonical_query(&all);
    let sig = signature(secret, "GET", &canonical);
    format!("{canonical}&Signature={}", percent_encode(&sig))
}

struct Alidns<'a> {
    id: String,
    secret: String,
    endpoint: String,
    env: Env<'a>,
    /// The account's domains, listed once.
    zones: Option<Vec<Zone>>,
}

/// The error code of an answer, if it is an error.
fn code(v: &serde_json::Value) -> Option<&str> {
    v["Code"].as_str()
}

/// Throttling, or a nonce seen before (a retried request that did arrive).
fn busy(r: &Response) -> bool {
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    code(&v).is_some_and(|c| c.starts_with("Throttling") || c == "SignatureNonceUsed")
}

impl Alidns<'_> {
    /// Call `action`; an error answer becomes a one-line error, except the
    /// codes in `ok`, which are returned for the caller to judge.
    fn call(
        &self,
        action: &str,
        params: &[(&str, &str)],
        ok: &[&str],
    ) -> Result<serde_json::Value> {
        let mut all = vec![("Action", action)];
        all.extend_from_slice(params);
        let resp = cloud::call(self.env.http, self.env.clock, "alidns", busy, &mut || {
            let query = signed_query(
                &self.id,
                &self.secret,
                self.env.clock.now().as_secs(),
                &cloud::nonce()?,
                &all,
            );
            Ok(cloud::Signed {
                method: "GET",
                url: format!("{}/?{query}", self.endpoint),
                headers: vec![],
                body: None,
            })
        })?;
        let v: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|_| {
            Error::Dns(format!(
                "alidns {action}: HTTP {} with a body that is not JSON: check option endpoint",
                resp.status
            ))
        })?;
        match code(&v) {
            None if resp.status < 300 => Ok(v),
            Some(c) if ok.contains(&c) => Ok(v),
            c => Err(Error::Dns(judge(action, resp.status, c, &v))),
        }
    }

    fn zone(&mut self, fqdn: &str) -> Result<Zone> {
        if self.zones.is_none() {
            let mut zones = Vec::new();
            for page in 1.. {
                let n = page.to_string();
                let v = self.call(
                    "DescribeDomains",
                    &[("PageNumber", &n), ("PageSize", &PAGE.to_string())],
                    &[],
                )?;
                let list = v["Domains"]["Domain"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                zones.extend(list.iter().filter_map(zone));
                if list.is_empty() || zones.len() as u64 >= v["TotalCount"].as_u64().unwrap_or(0) {
                    break;
                }
            }
            self.zones = Some(zones);
        }
        let zones = self.zones.as_deref().unwrap_or_default();
        cloud::pick_zone("alidns", fqdn, zones).cloned()
    }
}

/// The one-line error for an error answer: credentials and clock problems
/// say which option to fix.
fn judge(action: &str, status: u16, code: Option<&str>, v: &serde_json::Value) -> String {
    let code = code.unwrap_or("no error code");
    let msg = v["Message"].as_str().unwrap_or_default();
    let fix = match code {
        "InvalidAccessKeyId.NotFound"
        | "InvalidAccessKeyId"
        | "InvalidAccessKeyId.Inactive"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature" => {
            return format!(
                "alidns rejected the AccessKey ({code}): check access_key_id/access_key_secret"
            );
        }
        "InvalidTimeStamp.Expired" => "sync the router's clock (NTP)",
        c if c.starts_with("Throttling") => "the API is rate-limiting: try later",
        c if c.starts_with("Forbidden") => {
            "give the AccessKey's RAM user the AliyunDNSFullAccess policy"
        }
        "IncorrectDomainUser" | "InvalidDomainName.NoExist" => "the domain is not in this account",
        _ => "see the message",
    };
    format!("alidns {action} failed (HTTP {status}, {code}: {msg}): {fix}")
}

/// A domain of a DescribeDomains answer: matched by its punycode (an IDN
/// such as 例子.cn has one; an ASCII name has none), named to the API as the
/// API names it.
fn zone(d: &serde_json::Value) -> Option<Zone> {
    let id = d["DomainName"].as_str()?.to_string();
    let name = match d["PunyCode"].as_str() {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => id.clone(),
    };
    Some(Zone { name, id })
}

/// The name the API knows `rr` in zone `z` by.
fn sub_domain(rr: &str, z: &Zone) -> String {
    match rr {
        "@" => z.id.clone(),
        rr => format!("{rr}.{}", z.id),
    }
}

/// A record of a DescribeSubDomainRecords answer.
fn record(r: &serde_json::Value) -> Option<Rec> {
    Some(Rec {
        id: match &r["RecordId"] {
            serde_json::Value::String(s) => s.clone(),
            n => n.as_u64()?.to_string(),
        },
        value: r["Value"].as_str()?.to_string(),
        ttl: r["TTL"].as_u64().unwrap_or(0) as u32,
    })
}

impl Records for Alidns<'_> {
    fn list(&mut self, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let zone = self.zone(fqdn)?;
        let rr = super::rest::relative(fqdn, &zone.name);
        let sub = sub_domain(rr, &zone);
        let mut out = Vec::new();
        let mut seen = 0;
        for page in 1.. {
            let n = page.to_string();
            let v = self.call(
                "DescribeSubDomainRecords",
                &[
                    ("DomainName", zone.id.as_str()),
                    ("SubDomain", &sub),
                    ("Type", rtype),
                    ("PageNumber", &n),
                    ("PageSize", &PAGE.to_string()),
                ],
                &[],
            )?;
            let list = v["DomainRecords"]["Record"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            out.extend(
                list.iter()
                    // The API matches the name; this keeps a wider answer out.
                    .filter(|r| {
                        r["RR"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(rr))
                            && r["Type"].as_str() == Some(rtype)
                    })
                    .filter_map(record),
            );
            // Counted, not computed: the API may serve fewer than asked.
            seen += list.len() as u64;
            if list.is_empty() || seen >= v["TotalCount"].as_u64().unwrap_or(0) {
                break;
            }
        }
        Ok(out)
    }

    fn create(&mut self, fqdn: &str, rtype: &str, value: &str, ttl: u32) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let rr = super::rest::relative(fqdn, &zone.name);
        // A value already there (an earlier run that died) is what we want.
        self.call(
            "AddDomainRecord",
            &[
                ("DomainName", zone.id.as_str()),
                ("RR", rr),
                ("Type", rtype),
                ("Value", value),
                ("TTL", &ttl.to_string()),
            ],
            &["DomainRecordDuplicate"],
        )?;
        log::debug!("alidns: added {rtype} {value} at {fqdn}");
        Ok(())
    }

    fn update(&mut self, fqdn: &str, rtype: &str, id: &str, value: &str, ttl: u32) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let rr = super::rest::relative(fqdn, &zone.name);
        self.call(
            "UpdateDomainRecord",
            &[
                ("RecordId", id),
                ("RR", rr),
                ("Type", rtype),
                ("Value", value),
                ("TTL", &ttl.to_string()),
            ],
            &[],
        )?;
        Ok(())
    }

    fn delete(&mut self, _fqdn: &str, id: &str) -> Result<()> {
        // Gone already is what we want.
        self.call(
            "DeleteDomainRecord",
            &[("RecordId", id)],
            &["DomainRecordNotBelongToUser", "InvalidRR.NoExist"],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Alibaba Cloud, "Request syntax and signature method V2 for RPC APIs"
    // (the ECS DescribeRegions example): AccessKeyId testid, secret
    // testsecret, Timestamp 2016-02-23T12:46:24Z, nonce
    // 3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf. The published StringToSign and
    // signature.
    #[test]
    fn published_rpc_signature_example() {
        let canonical = cloud::canonical_query(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]);
        assert_eq!(
            format!("GET&%2F&{}", percent_encode(&canonical)),
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            signature("testsecret", "GET", &canonical),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn signed_query_carries_the_common_parameters() {
        // 2016-02-23T12:46:24Z
        let q = signed_query(
            "testid",
            "testsecret",
            1_456_231_584,
            "n1",
            &[("Action", "DescribeDomains")],
        );
        let canonical = q.split("&Signature=").next().unwrap();
        assert!(
            canonical.contains("Timestamp=2016-02-23T12%3A46%3A24Z"),
            "{q}"
        );
        assert!(canonical.contains("Format=JSON") && canonical.contains("Version=2015-01-09"));
        let sig = percent_encode(&signature("testsecret", "GET", canonical));
        assert!(q.ends_with(&format!("&Signature={sig}")), "{q}");
        assert!(!q.contains("testsecret"));
    }

    #[test]
    fn errors_name_the_fix_and_never_the_secret() {
        let v = serde_json::json!({"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found."});
        assert_eq!(
            judge("DescribeDomains", 404, code(&v), &v),
            "alidns rejected the AccessKey (InvalidAccessKeyId.NotFound): check access_key_id/access_key_secret"
        );
        let v = serde_json::json!({"Code": "Forbidden.RAM", "Message": "User not authorized"});
        assert!(judge("AddDomainRecord", 403, code(&v), &v).contains("AliyunDNSFullAccess"));
        let throttled = Response {
            status: 400,
            headers: vec![],
            body: br#"{"Code":"Throttling.User","Message":"x"}"#.to_vec(),
        };
        assert!(busy(&throttled));
        assert!(!busy(&Response::default()));
    }
}
