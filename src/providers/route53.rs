//! AWS Route 53, REST/XML API 2013-04-01, signed with Signature Version 4
//! (service `route53`, region `us-east-1`). A record set holds every value of
//! a name and type: one value is added by UPSERTing the set with it, removed
//! by UPSERTing the set without it, or DELETEing the set with its last value.
//!
//! Options: `access_key_id`, `secret_access_key` (or
//! `secret_access_key_file`), `session_token` (temporary credentials),
//! `endpoint` (a base URL; for tests).

use super::cloud::{self, Call, RSet, Sets, WholeSet, Zone};
use super::rest::percent_encode;
use super::{DnsProvider, Env, ProviderType};
use crate::config::PluginSection;
use crate::http::Response;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "route53",
    about: "AWS Route 53, access key",
    build,
};

const TTL: u32 = 60;
const API: &str = "/2013-04-01";
const XMLNS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let id = section.required("access_key_id")?.to_string();
    let secret = section.secret("secret_access_key")?;
    let token = match section.optional("session_token").is_some()
        || section.optional("session_token_file").is_some()
    {
        true => Some(section.secret("session_token")?),
        false => None,
    };
    let endpoint = section
        .optional("endpoint")
        .unwrap_or("https://route53.amazonaws.com")
        .trim_end_matches('/')
        .to_string();
    let api = Route53 {
        id,
        secret,
        token,
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

/// The headers of one request signed by `id`/`secret` (and `token`) at Unix
/// time `time`, Authorization included.
pub fn headers(
    id: &str,
    secret: &str,
    token: Option<&str>,
    time: u64,
    call: &Call<'_>,
) -> Vec<(&'static str, String)> {
    let date = cloud::basic_time(time);
    let mut signed = vec![("host", call.host), ("x-amz-date", date.as_str())];
    if !call.body.is_empty() {
        signed.push(("content-type", "text/xml"));
    }
    if let Some(t) = token {
        signed.push(("x-amz-security-token", t));
    }
    let canon = cloud::Canon {
        method: call.method,
        path: call.path,
        query: call.query,
        headers: &signed,
        body: call.body,
    };
    let scope = [&date[..8], "us-east-1", "route53", "aws4_request"];
    let mut out = vec![
        (
            "authorization",
            cloud::SIGV4.authorization(id, secret, &date, &scope, &canon),
        ),
        ("x-amz-date", date.clone()),
    ];
    if let Some(t) = token {
        out.push(("x-amz-security-token", t.to_string()));
    }
    out
}

/// The text of each `<tag>` element in `xml`, entities decoded. Enough for
/// Route 53's answers: no CDATA, no comments, and the elements we read never
/// nest in themselves.
pub fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        // `<HostedZone` is also the start of `<HostedZones>`.
        let Some(end) = after.find('>') else { break };
        if !matches!(
            after.as_bytes().first(),
            Some(b'>' | b' ' | b'/' | b'\t' | b'\n' | b'\r')
        ) {
            rest = after;
            continue;
        }
        if after[..end].ends_with('/') {
            out.push(String::new());
            rest = &after[end + 1..];
            continue;
        }
        let body = &after[end + 1..];
        let Some(j) = body.find(&close) else { break };
        out.push(unescape(&body[..j]));
        rest = &body[j + close.len()..];
    }
    out
}

/// The first `<tag>`'s text.
pub fn element(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).into_iter().next()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A name as Route 53 answers it (`\052` for `*`, trailing dot, lower case)
/// compared with ours.
fn same_name(answer: &str, ours: &str) -> bool {
    let mut decoded = String::new();
    let mut rest = answer.trim_end_matches('.');
    while let Some(i) = rest.find('\\') {
        decoded.push_str(&rest[..i]);
        let code = rest
            .get(i + 1..i + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(c) => {
                decoded.push(c as char);
                rest = &rest[i + 4..];
            }
            None => {
                decoded.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded.eq_ignore_ascii_case(ours.trim_end_matches('.'))
}

/// The body of a ChangeResourceRecordSets request: one change of one set.
pub fn change(action: &str, name: &str, rtype: &str, ttl: u32, values: &[String]) -> String {
    let records: String = values
        .iter()
        .map(|v| {
            format!(
                "<ResourceRecord><Value>{}</Value></ResourceRecord>",
                escape(v)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest xmlns=\"{XMLNS}\"><ChangeBatch><Changes><Change><Action>{action}</Action><ResourceRecordSet><Name>{}.</Name><Type>{rtype}</Type><TTL>{ttl}</TTL><ResourceRecords>{records}</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>",
        escape(name.trim_end_matches('.'))
    )
}

/// The error code of an error answer.
fn code(body: &str) -> Option<String> {
    element(body, "Code")
}

/// Throttling and a change still in progress come back as HTTP 400.
fn busy(r: &Response) -> bool {
    r.status == 400
        && code(&String::from_utf8_lossy(&r.body))
            .is_some_and(|c| c == "Throttling" || c == "PriorRequestNotComplete")
}

fn judge(method: &str, path: &str, status: u16, body: &str) -> String {
    let code = code(body).unwrap_or_else(|| "no error code".into());
    let msg = element(body, "Message").unwrap_or_default();
    // A router without NTP yet signs with a wrong time; AWS says so in the
    // message of a SignatureDoesNotMatch.
    if msg.contains("expired") {
        return format!(
            "route53 refused the signature's time ({code}: {msg}): sync the router's clock (NTP)"
        );
    }
    let fix = match code.as_str() {
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "UnrecognizedClientException"
        | "InvalidAccessKeyId" => {
            return format!(
                "route53 rejected the access key ({code}): check access_key_id/secret_access_key (and session_token)"
            );
        }
        "Throttling" | "PriorRequestNotComplete" => "the API is rate-limiting: try later",
        "ExpiredToken" => "renew the temporary credentials (session_token)",
        "AccessDenied" => {
            "allow the key route53:ListHostedZones, route53:ListResourceRecordSets and route53:ChangeResourceRecordSets"
        }
        _ => "see the message",
    };
    format!("route53 {method} {path} failed (HTTP {status}, {code}: {msg}): {fix}")
}

struct Route53<'a> {
    id: String,
    secret: String,
    token: Option<String>,
    endpoint: String,
    env: Env<'a>,
    zones: Option<Vec<Zone>>,
}

impl Route53<'_> {
    /// One request; the XML answer, or a one-line error.
    fn call(
        &self,
        method: &'static str,
        path: &str,
        params: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<String> {
        let query = cloud::canonical_query(params);
        let body = body.map(String::into_bytes).unwrap_or_default();
        let host = cloud::host(&self.endpoint);
        let url = match query.is_empty() {
            true => format!("{}{path}", self.endpoint),
            false => format!("{}{path}?{query}", self.endpoint),
        };
        let resp = cloud::call(self.env.http, self.env.clock, "route53", busy, &mut || {
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
                headers: headers(&self.id, &self.secret, self.token.as_deref(), time, &call),
                body: (!body.is_empty()).then(|| ("text/xml", body.clone())),
            })
        })?;
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        match resp.status {
            200..=299 => Ok(text),
            s => Err(Error::Dns(judge(method, path, s, &text))),
        }
    }

    fn zone(&mut self, fqdn: &str) -> Result<Zone> {
        if self.zones.is_none() {
            let mut zones = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let mut params = vec![("maxitems", "100")];
                if let Some(m) = marker.as_deref() {
                    params.push(("marker", m));
                }
                let xml = self.call("GET", &format!("{API}/hostedzone"), &params, None)?;
                for z in elements(&xml, "HostedZone") {
                    // A private zone does not answer the CA.
                    if element(&z, "PrivateZone").as_deref() == Some("true") {
                        continue;
                    }
                    if let (Some(name), Some(id)) = (element(&z, "Name"), element(&z, "Id")) {
                        let id = id.trim_start_matches("/hostedzone/").to_string();
                        zones.push(Zone { name, id });
                    }
                }
                marker = element(&xml, "NextMarker");
                if element(&xml, "IsTruncated").as_deref() != Some("true") || marker.is_none() {
                    break;
                }
            }
            self.zones = Some(zones);
        }
        let zones = self.zones.as_deref().unwrap_or_default();
        cloud::pick_zone("route53", fqdn, zones).cloned()
    }

    fn change(&mut self, fqdn: &str, body: String) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let path = format!("{API}/hostedzone/{}/rrset/", percent_encode(&zone.id));
        self.call("POST", &path, &[], Some(body))?;
        Ok(())
    }
}

impl Sets for Route53<'_> {
    fn get(&mut self, fqdn: &str, rtype: &str) -> Result<Option<RSet>> {
        let zone = self.zone(fqdn)?;
        let path = format!("{API}/hostedzone/{}/rrset", percent_encode(&zone.id));
        let name = format!("{}.", fqdn.trim_end_matches('.'));
        let (mut next_name, mut next_type) = (name.clone(), rtype.to_string());
        let mut next_id: Option<String> = None;
        // The list starts at (name, type); weighted or geo sets of the same
        // name and type may run over several pages.
        loop {
            let mut params = vec![
                ("name", next_name.as_str()),
                ("type", next_type.as_str()),
                ("maxitems", "100"),
            ];
            if let Some(i) = &next_id {
                params.push(("identifier", i));
            }
            let xml = self.call("GET", &path, &params, None)?;
            for set in elements(&xml, "ResourceRecordSet") {
                let here = element(&set, "Name").is_some_and(|n| same_name(&n, fqdn))
                    && element(&set, "Type").as_deref() == Some(rtype);
                if !here {
                    // Sorted by name: past ours, there is none.
                    return Ok(None);
                }
                // A set with routing (SetIdentifier) is the user's own.
                if element(&set, "SetIdentifier").is_none() {
                    return Ok(Some(RSet {
                        id: String::new(),
                        ttl: element(&set, "TTL")
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(TTL),
                        values: elements(&set, "Value"),
                    }));
                }
            }
            if element(&xml, "IsTruncated").as_deref() != Some("true") {
                return Ok(None);
            }
            match (
                element(&xml, "NextRecordName"),
                element(&xml, "NextRecordType"),
            ) {
                (Some(n), Some(t)) => {
                    (next_name, next_type) = (n, t);
                    next_id = element(&xml, "NextRecordIdentifier");
                }
                _ => return Ok(None),
            }
        }
    }

    fn put(
        &mut self,
        fqdn: &str,
        rtype: &str,
        _old: Option<&RSet>,
        values: &[String],
        ttl: u32,
    ) -> Result<()> {
        self.change(fqdn, change("UPSERT", fqdn, rtype, ttl, values))?;
        log::debug!(
            "route53: {rtype} set at {fqdn} now has {} values",
            values.len()
        );
        Ok(())
    }

    fn delete(&mut self, fqdn: &str, rtype: &str, old: &RSet) -> Result<()> {
        // A DELETE must name the set exactly as it is.
        self.change(fqdn, change("DELETE", fqdn, rtype, old.ttl, &old.values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of ListHostedZones and ListResourceRecordSets answers, from
    // the Route 53 API reference examples.
    const ZONES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListHostedZonesResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
   <HostedZones>
      <HostedZone>
         <Id>/hostedzone/Z111111QQQQQQQ</Id>
         <Name>example.com.</Name>
         <CallerReference>MyUniqueIdentifier1</CallerReference>
         <Config><Comment>a &amp; b</Comment><PrivateZone>false</PrivateZone></Config>
         <ResourceRecordSetCount>42</ResourceRecordSetCount>
      </HostedZone>
      <HostedZone>
         <Id>/hostedzone/Z222222VVVVVVV</Id>
         <Name>example.org.</Name>
         <Config/>
      </HostedZone>
   </HostedZones>
   <IsTruncated>true</IsTruncated>
   <NextMarker>Z333333YYYYYYY</NextMarker>
   <MaxItems>2</MaxItems>
</ListHostedZonesResponse>"#;

    #[test]
    fn scanner_reads_route53_answers() {
        let zones = elements(ZONES, "HostedZone");
        assert_eq!(zones.len(), 2, "HostedZones is not a HostedZone");
        assert_eq!(
            element(&zones[0], "Id").unwrap(),
            "/hostedzone/Z111111QQQQQQQ"
        );
        assert_eq!(element(&zones[0], "Comment").unwrap(), "a & b");
        assert_eq!(element(&zones[1], "Config").unwrap(), "");
        assert_eq!(element(ZONES, "NextMarker").unwrap(), "Z333333YYYYYYY");
        assert_eq!(element(ZONES, "Missing"), None);
        let set = "<ResourceRecordSet><Name>\\052.example.com.</Name><Type>TXT</Type><TTL>300</TTL>\
                   <ResourceRecords><ResourceRecord><Value>\"a\"</Value></ResourceRecord>\
                   <ResourceRecord><Value>&quot;b&quot;</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>";
        assert_eq!(elements(set, "Value"), ["\"a\"", "\"b\""]);
        assert!(same_name(&element(set, "Name").unwrap(), "*.Example.com"));
        assert!(!same_name("example.com.", "www.example.com"));
    }

    #[test]
    fn change_batches_round_trip_through_the_scanner() {
        let values = vec![cloud::quote_txt("x<y&z"), cloud::quote_txt("second")];
        let xml = change("UPSERT", "_acme-challenge.example.com", "TXT", 60, &values);
        assert_eq!(element(&xml, "Action").unwrap(), "UPSERT");
        assert_eq!(
            element(&xml, "Name").unwrap(),
            "_acme-challenge.example.com."
        );
        assert_eq!(elements(&xml, "Value"), values);
        assert!(xml.contains("&lt;") && !xml.contains("x<y"));
    }

    #[test]
    fn headers_sign_the_token_and_the_body() {
        let call = Call {
            method: "POST",
            host: "route53.amazonaws.com",
            path: "/2013-04-01/hostedzone/Z1/rrset/",
            query: "",
            body: b"<x/>",
        };
        // 2015-08-30T12:36:00Z
        let h = headers("AKIDEXAMPLE", "s", Some("tok"), 1_440_938_160, &call);
        assert!(
            h[0].1.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/route53/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="),
            "{}",
            h[0].1
        );
        assert_eq!(h[1], ("x-amz-date", "20150830T123600Z".to_string()));
        assert_eq!(h[2], ("x-amz-security-token", "tok".to_string()));
    }

    #[test]
    fn errors_name_the_fix() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>\
                    <Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>";
        assert_eq!(
            judge("GET", "/2013-04-01/hostedzone", 403, body),
            "route53 rejected the access key (InvalidClientTokenId): check access_key_id/secret_access_key (and session_token)"
        );
        let skew = "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>Signature expired: \
                    19700101T000102Z is now earlier than 20231114T221320Z</Message></Error></ErrorResponse>";
        assert!(judge("GET", "/", 403, skew).contains("NTP"));
        let throttled = Response {
            status: 400,
            headers: vec![],
            body: b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>".to_vec(),
        };
        assert!(busy(&throttled));
    }
}
