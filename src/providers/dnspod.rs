//! DNSPod through Tencent Cloud API 3.0 (version 2021-03-23), signed with
//! TC3-HMAC-SHA256.
//!
//! Options: `secret_id`, `secret_key` (or `secret_key_file`), `endpoint` (a
//! base URL; for tests, or `https://dnspod.intl.tencentcloudapi.com`).

use serde_json::{Value, json};

use super::cloud::{self, PerValue, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType};
use crate::config::PluginSection;
use crate::http::Response;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "dnspod",
    about: "DNSPod (Tencent Cloud API 3.0), SecretId/SecretKey",
    build,
};

/// The smallest TTL the free plan accepts.
const TTL: u32 = 600;
/// Records and domains asked per page.
const PAGE: u64 = 1000;
/// The default line ("默认"), which every plan has.
const LINE: &str = "\u{9ed8}\u{8ba4}";
const CONTENT_TYPE: &str = "application/json; charset=utf-8";

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let id = section.required("secret_id")?.to_string();
    let secret = section.secret("secret_key")?;
    let endpoint = section
        .optional("endpoint")
        .unwrap_or("https://dnspod.tencentcloudapi.com")
        .trim_end_matches('/')
        .to_string();
    let api = Dnspod {
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

/// The headers of one call of `action` with JSON `body`, Authorization
/// included: TC3 over content-type and host, service `dnspod`.
pub fn headers(
    id: &str,
    secret: &str,
    host: &str,
    action: &str,
    time: u64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let date = &cloud::iso8601(time)[..10];
    let canon = cloud::Canon {
        method: "POST",
        path: "/",
        query: "",
        headers: &[("content-type", CONTENT_TYPE), ("host", host)],
        body,
    };
    let time = time.to_string();
    let auth =
        cloud::TC3.authorization(id, secret, &time, &[date, "dnspod", "tc3_request"], &canon);
    vec![
        ("authorization", auth),
        ("x-tc-action", action.to_string()),
        ("x-tc-timestamp", time),
        ("x-tc-version", "2021-03-23".to_string()),
    ]
}

struct Dnspod<'a> {
    id: String,
    secret: String,
    endpoint: String,
    env: Env<'a>,
    zones: Option<Vec<Zone>>,
}

/// The error code of an answer (API 3.0 answers errors with HTTP 200).
fn code(v: &Value) -> Option<&str> {
    v["Response"]["Error"]["Code"].as_str()
}

fn busy(r: &Response) -> bool {
    let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    code(&v).is_some_and(|c| c.starts_with("RequestLimitExceeded"))
}

impl Dnspod<'_> {
    /// Call `action`; the `Response` object, or a one-line error (the codes
    /// in `ok` are returned for the caller to judge).
    fn call(&self, action: &str, body: &Value, ok: &[&str]) -> Result<Value> {
        let body = body.to_string().into_bytes();
        let host = cloud::host(&self.endpoint);
        let resp = cloud::call(self.env.http, self.env.clock, "dnspod", busy, &mut || {
            let time = self.env.clock.now().as_secs();
            Ok(cloud::Signed {
                method: "POST",
                url: format!("{}/", self.endpoint),
                headers: headers(&self.id, &self.secret, host, action, time, &body),
                body: Some((CONTENT_TYPE, body.clone())),
            })
        })?;
        let mut v: Value = serde_json::from_slice(&resp.body).map_err(|_| {
            Error::Dns(format!(
                "dnspod {action}: HTTP {} with a body that is not JSON: check option endpoint",
                resp.status
            ))
        })?;
        match code(&v) {
            None if resp.status < 300 => Ok(v["Response"].take()),
            Some(c) if ok.contains(&c) => Ok(Value::Null),
            c => Err(Error::Dns(judge(action, resp.status, c, &v))),
        }
    }

    fn zone(&mut self, fqdn: &str) -> Result<Zone> {
        if self.zones.is_none() {
            let mut zones = Vec::new();
            loop {
                let v = self.call(
                    "DescribeDomainList",
                    &json!({"Offset": zones.len(), "Limit": PAGE}),
                    &["ResourceNotFound.NoDataOfDomain"],
                )?;
                let list = v["DomainList"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                // Matched by punycode (an IDN has its own), named to the API
                // as the API names it.
                zones.extend(list.iter().filter_map(|d| {
                    let id = d["Name"].as_str()?.to_string();
                    let name = match d["Punycode"].as_str() {
                        Some(p) if !p.is_empty() => p.to_string(),
                        _ => id.clone(),
                    };
                    Some(Zone { name, id })
                }));
                let total = v["DomainCountInfo"]["DomainTotal"].as_u64().unwrap_or(0);
                if list.is_empty() || zones.len() as u64 >= total {
                    break;
                }
            }
            self.zones = Some(zones);
        }
        let zones = self.zones.as_deref().unwrap_or_default();
        cloud::pick_zone("dnspod", fqdn, zones).cloned()
    }
}

fn judge(action: &str, status: u16, code: Option<&str>, v: &Value) -> String {
    let code = code.unwrap_or("no error code");
    let msg = v["Response"]["Error"]["Message"]
        .as_str()
        .unwrap_or_default();
    let fix = match code {
        "AuthFailure.SignatureExpire" => "sync the router's clock (NTP)",
        c if c.starts_with("AuthFailure") => {
            return format!("dnspod rejected the API key ({code}): check secret_id/secret_key");
        }
        c if c.starts_with("RequestLimitExceeded") => "the API is rate-limiting: try later",
        c if c.starts_with("UnauthorizedOperation") => {
            "give the key's CAM user the QcloudDNSPodFullAccess policy"
        }
        _ => "see the message",
    };
    format!("dnspod {action} failed (HTTP {status}, {code}: {msg}): {fix}")
}

impl Records for Dnspod<'_> {
    fn list(&mut self, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let zone = self.zone(fqdn)?;
        let sub = super::rest::relative(fqdn, &zone.name);
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let v = self.call(
                "DescribeRecordList",
                &json!({"Domain": zone.id, "Subdomain": sub, "RecordType": rtype,
                        "Offset": offset, "Limit": PAGE}),
                // An empty list is an error to this API.
                &["ResourceNotFound.NoDataOfRecord"],
            )?;
            let list = v["RecordList"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            offset += list.len() as u64;
            out.extend(
                list.iter()
                    .filter(|r| {
                        r["Name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(sub))
                            && r["Type"].as_str() == Some(rtype)
                    })
                    .filter_map(|r| {
                        Some(Rec {
                            id: r["RecordId"].as_u64()?.to_string(),
                            value: r["Value"].as_str()?.to_string(),
                            ttl: r["TTL"].as_u64().unwrap_or(0) as u32,
                        })
                    }),
            );
            let total = v["RecordCountInfo"]["TotalCount"].as_u64().unwrap_or(0);
            if list.is_empty() || offset >= total {
                break;
            }
        }
        Ok(out)
    }

    fn create(&mut self, fqdn: &str, rtype: &str, value: &str, ttl: u32) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let sub = super::rest::relative(fqdn, &zone.name);
        self.call(
            "CreateRecord",
            &json!({"Domain": zone.id, "SubDomain": sub, "RecordType": rtype,
                    "RecordLine": LINE, "Value": value, "TTL": ttl}),
            &[],
        )?;
        log::debug!("dnspod: added {rtype} {value} at {fqdn}");
        Ok(())
    }

    fn update(&mut self, fqdn: &str, rtype: &str, id: &str, value: &str, ttl: u32) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let sub = super::rest::relative(fqdn, &zone.name);
        self.call(
            "ModifyRecord",
            &json!({"Domain": zone.id, "SubDomain": sub, "RecordType": rtype,
                    "RecordLine": LINE, "Value": value, "TTL": ttl,
                    "RecordId": id.parse::<u64>().unwrap_or(0)}),
            &[],
        )?;
        Ok(())
    }

    fn delete(&mut self, fqdn: &str, id: &str) -> Result<()> {
        let zone = self.zone(fqdn)?;
        self.call(
            "DeleteRecord",
            &json!({"Domain": zone.id, "RecordId": id.parse::<u64>().unwrap_or(0)}),
            // Gone already is what we want.
            &["InvalidParameter.RecordIdInvalid"],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_sign_the_body_host_and_time() {
        // 2019-02-25T16:44:25Z
        let h = headers(
            "AKIDEXAMPLE",
            "sk",
            "dnspod.tencentcloudapi.com",
            "DescribeDomainList",
            1_551_113_065,
            b"{}",
        );
        let auth = &h[0].1;
        assert!(
            auth.starts_with("TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/dnspod/tc3_request, SignedHeaders=content-type;host, Signature="),
            "{auth}"
        );
        let other = headers(
            "AKIDEXAMPLE",
            "sk",
            "dnspod.tencentcloudapi.com",
            "DescribeDomainList",
            1_551_113_065,
            b"{ }",
        );
        assert_ne!(auth, &other[0].1, "the body is signed");
        assert_eq!(h[2], ("x-tc-timestamp", "1551113065".to_string()));
    }

    #[test]
    fn errors_name_the_fix() {
        let v = json!({"Response": {"Error": {"Code": "AuthFailure.SecretIdNotFound", "Message": "x"}}});
        assert_eq!(
            judge("DescribeDomainList", 200, code(&v), &v),
            "dnspod rejected the API key (AuthFailure.SecretIdNotFound): check secret_id/secret_key"
        );
        let v =
            json!({"Response": {"Error": {"Code": "AuthFailure.SignatureExpire", "Message": "x"}}});
        assert!(judge("CreateRecord", 200, code(&v), &v).contains("NTP"));
        let limited = Response {
            status: 200,
            headers: vec![],
            body: br#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"x"}}}"#
                .to_vec(),
        };
        assert!(busy(&limited));
    }
}
