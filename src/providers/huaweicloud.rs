//! Huawei Cloud DNS, API v2 (zones, recordsets), signed with the APIG AK/SK
//! signature (SDK-HMAC-SHA256). A recordset holds every value of a name and
//! type, so one value is added or removed by rewriting the set.
//!
//! Options: `access_key`, `secret_key` (or `secret_key_file`), `region`
//! (`cn-south-1`), `project_id` (sent as `X-Project-Id` when set),
//! `endpoint` (a base URL, overrides the region's; for tests).

use serde_json::{Value, json};

use super::cloud::{self, Call, RSet, Sets, WholeSet, Zone};
use super::rest::percent_encode;
use super::{DnsProvider, Env, ProviderType};
use crate::config::PluginSection;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "huaweicloud",
    about: "Huawei Cloud DNS, AK/SK",
    build,
};

const TTL: u32 = 60;
/// Zones and recordsets per page: the API's maximum.
const PAGE: u64 = 500;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let ak = section.required("access_key")?.to_string();
    let sk = section.secret("secret_key")?;
    let region = section.optional("region").unwrap_or("cn-south-1");
    let endpoint = match section.optional("endpoint") {
        Some(e) => e.trim_end_matches('/').to_string(),
        None => format!("https://dns.{region}.myhuaweicloud.com"),
    };
    let api = Huawei {
        ak,
        sk,
        project: section.optional("project_id").map(str::to_string),
        endpoint,
        env: Env {
            http: env.http,
            clock: env.clock,
        },
        zones: None,
    };
    Ok(Box::new(WholeSet {
        api: Box::new(api),
        ttl: TTL,
    }))
}

/// The headers of one request signed by `ak`/`sk` at Unix time `time`,
/// Authorization included; `project` is sent (and signed) as `X-Project-Id`.
pub fn headers(
    ak: &str,
    sk: &str,
    project: Option<&str>,
    time: u64,
    call: &Call<'_>,
) -> Vec<(&'static str, String)> {
    let date = cloud::basic_time(time);
    let mut signed = vec![("host", call.host), ("x-sdk-date", date.as_str())];
    if !call.body.is_empty() {
        signed.push(("content-type", "application/json"));
    }
    if let Some(p) = project {
        signed.push(("x-project-id", p));
    }
    // The canonical URI always ends in a slash, whatever the request's path.
    let path = format!("{}/", call.path.trim_end_matches('/'));
    let canon = cloud::Canon {
        method: call.method,
        path: &path,
        query: call.query,
        headers: &signed,
        body: call.body,
    };
    let mut out = vec![
        (
            "authorization",
            cloud::HUAWEI.authorization(ak, sk, &date, &[], &canon),
        ),
        ("x-sdk-date", date.clone()),
    ];
    if let Some(p) = project {
        out.push(("x-project-id", p.to_string()));
    }
    out
}

struct Huawei<'a> {
    ak: String,
    sk: String,
    project: Option<String>,
    endpoint: String,
    env: Env<'a>,
    zones: Option<Vec<Zone>>,
}

impl Huawei<'_> {
    /// One request; the JSON answer, or a one-line error. A 404 is `None`
    /// (a recordset deleted meanwhile).
    fn call(
        &self,
        method: &'static str,
        path: &str,
        params: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        let query = cloud::canonical_query(params);
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let host = cloud::host(&self.endpoint);
        let url = match query.is_empty() {
            true => format!("{}{path}", self.endpoint),
            false => format!("{}{path}?{query}", self.endpoint),
        };
        let resp = cloud::call(
            self.env.http,
            self.env.clock,
            "huaweicloud",
            |_| false,
            &mut || {
                let call = Call {
                    method,
                    host,
                    path,
                    query: &query,
                    body: &body,
                };
                let time = self.env.clock.now().as_secs();
                Ok(cloud::Signed {
                    method,
                    url: url.clone(),
                    headers: headers(&self.ak, &self.sk, self.project.as_deref(), time, &call),
                    body: (!body.is_empty()).then(|| ("application/json", body.clone())),
                })
            },
        )?;
        let v: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        match resp.status {
            200..=299 => Ok(Some(v)),
            404 if method == "DELETE" => Ok(None),
            s => Err(Error::Dns(judge(method, path, s, &v))),
        }
    }

    fn zone(&mut self, fqdn: &str) -> Result<Zone> {
        if self.zones.is_none() {
            let mut zones = Vec::new();
            loop {
                let offset = zones.len().to_string();
                let v = self
                    .call(
                        "GET",
                        "/v2/zones",
                        &[
                            ("type", "public"),
                            ("limit", &PAGE.to_string()),
                            ("offset", &offset),
                        ],
                        None,
                    )?
                    .unwrap_or_default();
                let list = v["zones"].as_array().map(Vec::as_slice).unwrap_or_default();
                zones.extend(list.iter().filter_map(|z| {
                    Some(Zone {
                        name: z["name"].as_str()?.to_string(),
                        id: z["id"].as_str()?.to_string(),
                    })
                }));
                let total = v["metadata"]["total_count"].as_u64().unwrap_or(0);
                if list.is_empty() || zones.len() as u64 >= total {
                    break;
                }
            }
            self.zones = Some(zones);
        }
        let zones = self.zones.as_deref().unwrap_or_default();
        cloud::pick_zone("huaweicloud", fqdn, zones).cloned()
    }
}

/// The one-line error for an error answer. APIG answers `error_code` /
/// `error_msg`, the DNS service `code` / `message`.
fn judge(method: &str, path: &str, status: u16, v: &Value) -> String {
    let code = v["error_code"]
        .as_str()
        .or(v["code"].as_str())
        .unwrap_or("no error code");
    let msg = v["error_msg"]
        .as_str()
        .or(v["message"].as_str())
        .unwrap_or_default();
    if status == 401 || code == "APIGW.0301" || code == "APIG.0301" {
        if msg.contains("expired") {
            return format!(
                "huaweicloud refused the signature ({code}: {msg}): sync the router's clock (NTP)"
            );
        }
        return format!("huaweicloud rejected the AK/SK ({code}): check access_key/secret_key");
    }
    let fix = match status {
        403 => "give the IAM user the DNS FullAccess policy, or set project_id",
        _ => "see the message",
    };
    format!("huaweicloud {method} {path} failed (HTTP {status}, {code}: {msg}): {fix}")
}

/// `name.` as Huawei writes names.
fn absolute(fqdn: &str) -> String {
    format!("{}.", fqdn.trim_end_matches('.'))
}

impl Sets for Huawei<'_> {
    fn get(&mut self, fqdn: &str, rtype: &str) -> Result<Option<RSet>> {
        let zone = self.zone(fqdn)?;
        let name = absolute(fqdn);
        let path = format!("/v2/zones/{}/recordsets", percent_encode(&zone.id));
        let mut offset = 0u64;
        loop {
            let v = self
                .call(
                    "GET",
                    &path,
                    &[
                        ("name", &name),
                        ("type", rtype),
                        ("limit", &PAGE.to_string()),
                        ("offset", &offset.to_string()),
                    ],
                    None,
                )?
                .unwrap_or_default();
            let list = v["recordsets"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            // `name` matches loosely (a prefix): pick the set itself.
            let found = list.iter().find(|s| {
                s["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                    && s["type"].as_str() == Some(rtype)
            });
            if let Some(s) = found {
                return Ok(Some(RSet {
                    id: s["id"].as_str().unwrap_or_default().to_string(),
                    ttl: s["ttl"].as_u64().unwrap_or(u64::from(TTL)) as u32,
                    values: s["records"]
                        .as_array()
                        .map(|r| {
                            r.iter()
                                .filter_map(|x| Some(x.as_str()?.to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                }));
            }
            offset += list.len() as u64;
            let total = v["metadata"]["total_count"].as_u64().unwrap_or(0);
            if list.is_empty() || offset >= total {
                return Ok(None);
            }
        }
    }

    fn put(
        &mut self,
        fqdn: &str,
        rtype: &str,
        old: Option<&RSet>,
        values: &[String],
        ttl: u32,
    ) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let body = json!({"name": absolute(fqdn), "type": rtype, "ttl": ttl, "records": values});
        let sets = format!("/v2/zones/{}/recordsets", percent_encode(&zone.id));
        match old {
            None => self.call("POST", &sets, &[], Some(&body))?,
            Some(old) => {
                let path = format!("{sets}/{}", percent_encode(&old.id));
                self.call("PUT", &path, &[], Some(&body))?
            }
        };
        log::debug!(
            "huaweicloud: {rtype} set at {fqdn} now has {} values",
            values.len()
        );
        Ok(())
    }

    fn delete(&mut self, fqdn: &str, _rtype: &str, old: &RSet) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let path = format!(
            "/v2/zones/{}/recordsets/{}",
            percent_encode(&zone.id),
            percent_encode(&old.id)
        );
        self.call("DELETE", &path, &[], None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_sign_what_is_sent() {
        let call = |method, path, body: &'static [u8]| Call {
            method,
            host: "dns.cn-south-1.myhuaweicloud.com",
            path,
            query: "limit=1",
            body,
        };
        // 2019-11-15T03:36:55Z
        let h = headers(
            "AK",
            "SK",
            Some("p1"),
            1_573_789_015,
            &call("GET", "/v2/zones", b""),
        );
        assert_eq!(h[1], ("x-sdk-date", "20191115T033655Z".to_string()));
        assert!(
            h[0].1.starts_with(
                "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-project-id;x-sdk-date, Signature="
            ),
            "{}",
            h[0].1
        );
        assert_eq!(h[2], ("x-project-id", "p1".to_string()));
        let post = headers(
            "AK",
            "SK",
            None,
            0,
            &call("POST", "/v2/zones/z/recordsets", b"{}"),
        );
        assert!(
            post[0]
                .1
                .contains("SignedHeaders=content-type;host;x-sdk-date,"),
            "{}",
            post[0].1
        );
        // A trailing slash on the path does not change the canonical URI.
        let a = headers("AK", "SK", None, 0, &call("GET", "/v2/zones", b""));
        let b = headers("AK", "SK", None, 0, &call("GET", "/v2/zones/", b""));
        assert_eq!(a[0], b[0]);
    }

    #[test]
    fn errors_name_the_fix() {
        let v = json!({"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication information: verify aksk signature fail"});
        assert_eq!(
            judge("GET", "/v2/zones", 401, &v),
            "huaweicloud rejected the AK/SK (APIGW.0301): check access_key/secret_key"
        );
        let v = json!({"code": "DNS.0303", "message": "Record set exists."});
        let e = judge("POST", "/v2/zones/z/recordsets", 400, &v);
        assert!(
            e.contains("DNS.0303") && e.contains("Record set exists."),
            "{e}"
        );
    }
}
