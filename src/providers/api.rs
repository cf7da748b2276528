//! What the token/REST providers share, so that each of them is only the
//! shape of its API: `Api` (JSON over HTTP with credential headers, bounded
//! retry, one clear line for bad credentials), and `Provider`, which turns a
//! provider's three verbs (`Records`: list its zones, read the values at a
//! name, change them) into a whole `DnsProvider`: zone by longest match, one
//! TXT value added or removed beside the others, an address set made equal,
//! nothing written when nothing changes.

use std::net::IpAddr;

use serde_json::Value;

use super::cloud::pick_zone;
pub use super::cloud::{Zone, rtype};
use super::{DnsProvider, Env, Family, rest};
use crate::clock::Clock;
use crate::config::PluginSection;
use crate::http::{Http, Request};
use crate::{Error, Result};

/// At most this many pages of a list: a server that ignores the page
/// parameter must not keep us looping.
const MAX_PAGES: usize = 100;

/// A JSON API. Credential headers go with every call and never into a
/// message; URLs in messages lose their query.
pub struct Api<'a> {
    http: &'a dyn Http,
    clock: &'a dyn Clock,
    /// `option endpoint`, or the provider's public API; no trailing `/`.
    pub base: String,
    auth: Vec<(&'static str, String)>,
    /// The provider's type, first in every message.
    pub name: &'static str,
    /// The options to check when the API refuses the credentials.
    creds: &'static str,
}

impl<'a> Api<'a> {
    /// `default`: the public endpoint, unless `option endpoint` is set.
    /// `auth`: header name and value pairs. `creds`: the option names the
    /// bad-credentials message tells the user to check.
    pub fn new(
        section: &PluginSection,
        env: &Env<'a>,
        name: &'static str,
        default: &str,
        creds: &'static str,
        auth: Vec<(&'static str, String)>,
    ) -> Api<'a> {
        Api {
            http: env.http,
            clock: env.clock,
            base: section
                .optional("endpoint")
                .unwrap_or(default)
                .trim_end_matches('/')
                .to_string(),
            auth,
            name,
            creds,
        }
    }

    /// `new` for an API that takes `Authorization: Bearer TOKEN`, the token
    /// read from the secret option `option` (or its `_file`).
    pub fn bearer(
        section: &PluginSection,
        env: &Env<'a>,
        name: &'static str,
        default: &str,
        option: &str,
        creds: &'static str,
    ) -> Result<Api<'a>> {
        let token = section.secret(option)?;
        let auth = vec![("authorization", format!("Bearer {token}"))];
        Ok(Self::new(section, env, name, default, creds, auth))
    }

    /// `method` on `base + path` (or `path` itself when it is a whole URL),
    /// with a JSON body. Returns the status and the answer (JSON, or a
    /// string holding the text, or Null when empty); 429 and 5xx are retried.
    pub fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let url = match path.starts_with("http") {
            true => path.to_string(),
            false => format!("{}{path}", self.base),
        };
        let mut headers: Vec<(&str, &str)> = vec![("accept", "application/json")];
        headers.extend(self.auth.iter().map(|(k, v)| (*k, v.as_str())));
        let text = body.map(|b| b.to_string());
        let req = Request {
            method,
            url: &url,
            headers: &headers,
            body: text.as_deref().map(|t| ("application/json", t.as_bytes())),
        };
        // A transport error names the URL: without its query, which may
        // hold a token (duckdns, dynv6).
        let safe = rest::strip_query(&url);
        let resp = rest::send(self.http, self.clock, &req, self.name).map_err(|e| match e {
            Error::Http { msg, .. } => Error::Http {
                url: safe.to_string(),
                msg: msg.replace(&url, safe),
            },
            e => e,
        })?;
        let value = match resp.body.iter().all(u8::is_ascii_whitespace) {
            true => Value::Null,
            false => serde_json::from_slice(&resp.body).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&resp.body).trim().to_string())
            }),
        };
        Ok((resp.status, value))
    }

    /// Like `raw`, but anything other than 2xx is an error, and 404 is
    /// `None` (an absent record set is not a failure).
    pub fn call_opt(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>> {
        match self.raw(method, path, body)? {
            (404, _) => Ok(None),
            (s, v) => self.check(method, path, s, v).map(Some),
        }
    }

    /// Like `raw`, but anything other than 2xx is an error.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (s, v) = self.raw(method, path, body)?;
        self.check(method, path, s, v)
    }

    /// The answer of a 2xx, else one line: bad credentials for 401/403,
    /// the API's own message otherwise.
    pub fn check(&self, method: &str, path: &str, status: u16, v: Value) -> Result<Value> {
        if (200..300).contains(&status) {
            return Ok(v);
        }
        let path = rest::strip_query(path);
        Err(match status {
            401 | 403 => self.refused(&format!("HTTP {status}{}", message(&v))),
            _ => Error::Dns(format!(
                "{}: {method} {path} answered HTTP {status}{}",
                self.name,
                message(&v)
            )),
        })
    }

    /// For a collection of one record per value: POST `body(value)` to
    /// `records` for each value of `want` not in `have`, then DELETE
    /// `records/ID` for each record of `have` not in `want` (in that order,
    /// so that an address set is never empty on the way).
    pub fn per_record(
        &self,
        records: &str,
        have: &[Rec],
        want: &[String],
        body: &dyn Fn(&str) -> Value,
    ) -> Result<()> {
        let (gone, new) = diff(have, want);
        for v in new {
            self.call("POST", records, Some(&body(v)))?;
        }
        for r in gone {
            self.call_opt("DELETE", &format!("{records}/{}", r.id), None)?;
        }
        Ok(())
    }

    /// The error for refused credentials; `why` is what the API said.
    pub fn refused(&self, why: &str) -> Error {
        Error::Dns(format!(
            "{}: the API refused the credentials ({why}): check option {} and the token's permissions",
            self.name, self.creds
        ))
    }

    /// Every zone of a paged list. `path(n, last)` is the path of page `n`
    /// (from 1), `last` the previous page's last zone (for marker paging);
    /// `list` is the key of the answer holding the list (`""`: the answer
    /// is the list), `name` and `id` the keys of each item. A page shorter
    /// than `per_page` is the last.
    pub fn paged_zones(
        &self,
        per_page: usize,
        path: &dyn Fn(usize, Option<&Zone>) -> String,
        list: &str,
        name: &str,
        id: &str,
    ) -> Result<Vec<Zone>> {
        let mut all: Vec<Zone> = Vec::new();
        for n in 1..=MAX_PAGES {
            let v = self.call("GET", &path(n, all.last()), None)?;
            let page = zones(if list.is_empty() { &v } else { &v[list] }, name, id);
            let done = page.len() < per_page;
            all.extend(page);
            if done {
                break;
            }
        }
        Ok(all)
    }
}

/// Zones from a JSON list whose items hold the name (trailing dot dropped)
/// and the id under the keys `name` and `id`.
pub fn zones(list: &Value, name: &str, id: &str) -> Vec<Zone> {
    let items = list.as_array().map_or(&[][..], Vec::as_slice);
    items
        .iter()
        .map(|z| Zone {
            name: text(&z[name]).trim_end_matches('.').to_string(),
            id: text(&z[id]),
        })
        .collect()
}

/// Values from a JSON list: each item's `value` key (or the item itself
/// when `value` is `""`), quotes removed, with its `id` key if not `""`.
pub fn recs(list: &Value, id: &str, value: &str) -> Vec<Rec> {
    let items = list.as_array().map_or(&[][..], Vec::as_slice);
    items
        .iter()
        .map(|r| Rec {
            id: if id.is_empty() {
                String::new()
            } else {
                text(&r[id])
            },
            value: text(if value.is_empty() { r } else { &r[value] })
                .trim_matches('"')
                .to_string(),
        })
        .collect()
}

/// Values as the API wants them written: TXT values quoted.
pub fn wire(rtype: &str, values: &[String]) -> Vec<String> {
    values.iter().map(|v| wire1(rtype, v)).collect()
}

/// One value as the API wants it written.
pub fn wire1(rtype: &str, v: &str) -> String {
    match rtype {
        "TXT" => quote(v),
        _ => v.to_string(),
    }
}

/// `": what the API said"` (its `message`, `detail` or first error), or
/// nothing; at most 200 characters, one line.
pub fn message(v: &Value) -> String {
    let found = [
        &v["message"],
        &v["detail"],
        &v["error"]["message"],
        &v["errors"][0]["message"],
        &v["error"],
        &v["errors"][0],
        v,
    ]
    .into_iter()
    .find_map(Value::as_str)
    .unwrap_or("");
    let line: String = found
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    match line.is_empty() {
        true => line,
        false => format!(": {line}"),
    }
}

/// `v` as a string, whether the API sent a string or a number (ids).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// A TXT value as zone-file text, as most APIs want it: `"value"`.
/// ACME values are base64url, so there is nothing to escape.
pub fn quote(v: &str) -> String {
    format!("\"{v}\"")
}

/// One value of a record set, with the id of the record holding it where
/// the API has one record per value.
#[derive(Debug, Clone)]
pub struct Rec {
    pub id: String,
    /// TXT values without their quotes.
    pub value: String,
}

/// A provider's API as three verbs. `Provider` does the rest.
pub trait Records {
    /// The `Api` the verbs go through.
    fn api(&self) -> &Api<'_>;
    /// The account's zones (every page). `fqdn` is what the zone is wanted
    /// for, for APIs that look it up rather than list.
    fn zones(&self, fqdn: &str) -> Result<Vec<Zone>>;
    /// Whether `zones` lists them all (and may be kept for other names),
    /// or only answers for `fqdn`.
    fn lists_zones(&self) -> bool {
        true
    }
    /// The values of type `rtype` at `fqdn`.
    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>>;
    /// Change the values at `fqdn` from `have` (just read by `get`) to
    /// `want`; an empty `want` removes them all.
    fn change(
        &self,
        zone: &Zone,
        fqdn: &str,
        rtype: &str,
        have: &[Rec],
        want: &[String],
        ttl: u32,
    ) -> Result<()>;
}

/// A `DnsProvider` made of `Records`: finds the zone by the longest match
/// among the account's zones (listed once), and reads before it writes.
pub struct Provider<'a> {
    api: Box<dyn Records + 'a>,
    /// The provider's minimum TTL: challenge values get it (short, so that
    /// a removed value does not linger in caches), addresses at least it.
    min_ttl: u32,
    zones: Option<Vec<Zone>>,
}

impl<'a> Provider<'a> {
    /// `min_ttl`: the provider's minimum TTL.
    pub fn new(api: impl Records + 'a, min_ttl: u32) -> Provider<'a> {
        Provider {
            api: Box::new(api),
            min_ttl,
            zones: None,
        }
    }

    /// `new`, boxed as the registry wants it.
    pub fn boxed(api: impl Records + 'a, min_ttl: u32) -> Box<dyn DnsProvider + 'a> {
        Box::new(Self::new(api, min_ttl))
    }

    /// The provider's `Api`.
    pub fn api(&self) -> &Api<'_> {
        self.api.api()
    }

    /// The account's zone holding `fqdn`. A listed account is listed once
    /// (again only when a name is in none of its zones: one may have been
    /// added since); an API that answers for one name is asked each time.
    pub fn zone(&mut self, fqdn: &str) -> Result<Zone> {
        let name = self.api.api().name;
        if let Some(zones) = &self.zones
            && let Ok(z) = pick_zone(name, fqdn, zones)
        {
            return Ok(z.clone());
        }
        let zones = self.api.zones(fqdn)?;
        let found = pick_zone(name, fqdn, &zones).cloned();
        if self.api.lists_zones() {
            self.zones = Some(zones);
        }
        found
    }

    /// Read the set at `fqdn`, make it `want` (or, with `txt`, the set
    /// plus or minus that one value), write it if that changed anything.
    fn edit(
        &mut self,
        fqdn: &str,
        rtype: &str,
        ttl: u32,
        txt: Option<(&str, bool)>,
        want: Vec<String>,
    ) -> Result<()> {
        let zone = self.zone(fqdn)?;
        let have = self.api.get(&zone, fqdn, rtype)?;
        let old: Vec<String> = have.iter().map(|r| r.value.clone()).collect();
        let want = match txt {
            None => want,
            Some((value, add)) => {
                let mut v: Vec<String> = old.iter().filter(|x| *x != value).cloned().collect();
                if add {
                    v.push(value.to_string());
                }
                v
            }
        };
        if same_set(&old, &want) {
            return Ok(());
        }
        log::debug!(
            "{}: {rtype} at {fqdn} in zone {}: {} -> {} values",
            self.api.api().name,
            zone.name,
            old.len(),
            want.len()
        );
        self.api.change(&zone, fqdn, rtype, &have, &want, ttl)
    }
}

impl DnsProvider for Provider<'_> {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.edit(fqdn, "TXT", self.min_ttl, Some((value, true)), vec![])
    }

    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.edit(fqdn, "TXT", self.min_ttl, Some((value, false)), vec![])
    }

    fn set_address(
        &mut self,
        fqdn: &str,
        family: Family,
        addrs: &[IpAddr],
        ttl: u32,
    ) -> Result<()> {
        let want = addrs.iter().map(IpAddr::to_string).collect();
        let ttl = ttl.max(self.min_ttl);
        self.edit(fqdn, rtype(family), ttl, None, want)
    }
}

/// Whether two value lists hold the same values (addresses compared as
/// addresses: an API may write `2001:db8::1` as `2001:0db8:0:0:0:0:0:1`).
pub fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| b.iter().any(|y| same(x, y)))
        && b.iter().all(|y| a.iter().any(|x| same(x, y)))
}

fn same(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// For APIs with one record per value: the records of `have` to delete and
/// the values of `want` to create.
pub fn diff<'h, 'w>(have: &'h [Rec], want: &'w [String]) -> (Vec<&'h Rec>, Vec<&'w String>) {
    let gone = have
        .iter()
        .filter(|r| !want.iter().any(|w| same(w, &r.value)))
        .collect();
    let new = want
        .iter()
        .filter(|w| !have.iter().any(|r| same(w, &r.value)))
        .collect();
    (gone, new)
}

/// For the providers' unit tests: an in-memory `Http` that records each
/// request and answers from a function, and config parsing.
#[cfg(test)]
pub mod testing {
    use std::cell::RefCell;

    use crate::clock::FakeClock;
    use crate::config::{self, PluginSection};
    use crate::http::{Http, Request, Response};
    use crate::providers::{self, DnsProvider, Env};

    /// One request as sent: method, URL, headers, body.
    #[derive(Debug, Clone)]
    pub struct Sent {
        pub method: String,
        pub url: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Sent {
        pub fn header(&self, name: &str) -> Option<&str> {
            let h = self
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name));
            h.map(|(_, v)| v.as_str())
        }
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap_or_default()
        }
    }

    type Answer = Box<dyn Fn(&Sent) -> (u16, String)>;

    /// Answers every request with `answer(request)`.
    pub struct Canned {
        pub sent: RefCell<Vec<Sent>>,
        answer: Answer,
    }

    impl Canned {
        pub fn new(answer: impl Fn(&Sent) -> (u16, String) + 'static) -> Canned {
            Canned {
                sent: RefCell::default(),
                answer: Box::new(answer),
            }
        }
        pub fn sent(&self) -> Vec<Sent> {
            self.sent.borrow().clone()
        }
    }

    impl Http for Canned {
        fn send(&self, req: &Request<'_>) -> crate::Result<Response> {
            let sent = Sent {
                method: req.method.into(),
                url: req.url.into(),
                headers: req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: String::from_utf8_lossy(req.body.map_or(&[][..], |b| b.1)).into(),
            };
            let (status, body) = (self.answer)(&sent);
            self.sent.borrow_mut().push(sent);
            Ok(Response {
                status,
                headers: vec![],
                body: body.into_bytes(),
            })
        }
    }

    /// The provider that `config provider 'p'` of `kind` with `opts`
    /// (`key value` pairs) builds.
    pub fn build<'a>(
        kind: &str,
        opts: &[(&str, &str)],
        http: &'a Canned,
        clock: &'a FakeClock,
    ) -> crate::Result<Box<dyn DnsProvider + 'a>> {
        let mut text = format!("config provider 'p'\n\toption type '{kind}'\n");
        for (k, v) in opts {
            text.push_str(&format!("\toption {k} '{v}'\n"));
        }
        let section: PluginSection = config::parse("/c", &text)?.providers.remove(0);
        providers::build(&section, &Env { http, clock })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_come_from_the_usual_fields() {
        assert_eq!(message(&json!({"message": "no"})), ": no");
        assert_eq!(
            message(&json!({"detail": "Invalid token."})),
            ": Invalid token."
        );
        assert_eq!(
            message(&json!({"errors": [{"code": 10000, "message": "Authentication error"}]})),
            ": Authentication error"
        );
        assert_eq!(
            message(&json!({"error": {"code": "unauthorized", "message": "x"}})),
            ": x"
        );
        assert_eq!(message(&json!({"error": "bad_txt"})), ": bad_txt");
        assert_eq!(message(&json!("KO\nmore")), ": KO");
        assert_eq!(message(&Value::Null), "");
        assert_eq!(message(&json!("x".repeat(500))).len(), 202);
    }

    #[test]
    fn a_token_in_the_query_stays_out_of_errors() {
        use crate::clock::FakeClock;
        use crate::http::Response;
        struct Down;
        impl Http for Down {
            fn send(&self, req: &Request<'_>) -> Result<Response> {
                Err(Error::Http {
                    url: req.url.into(),
                    msg: format!("connection to {} refused", req.url),
                })
            }
        }
        let section = crate::config::parse("/c", "config provider 'p'\n\toption type 'x'\n")
            .unwrap()
            .providers
            .remove(0);
        let clock = FakeClock::at(0);
        let env = Env {
            http: &Down,
            clock: &clock,
        };
        let api = Api::new(&section, &env, "t", "https://x.example", "token", vec![]);
        let err = api
            .call("GET", "/update?token=s3cret&ip=1", None)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("s3cret") && text.contains("https://x.example/update"),
            "{text}"
        );
        let canned = testing::Canned::new(|_| (404, "KO".into()));
        let env = Env {
            http: &canned,
            clock: &clock,
        };
        let api = Api::new(&section, &env, "t", "https://x.example", "token", vec![]);
        let err = api
            .call("GET", "https://x.example/u?token=s3cret", None)
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().ends_with("HTTP 404: KO"), "{err}");
    }

    #[test]
    fn sets_and_diffs() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_set(
            &s(&["2001:db8::1", "a"]),
            &s(&["a", "2001:0db8:0:0::1"])
        ));
        assert!(!same_set(&s(&["a"]), &s(&["a", "b"])));
        assert!(!same_set(&s(&["a", "a"]), &s(&["a", "b"])));
        let have = vec![
            Rec {
                id: "1".into(),
                value: "192.0.2.1".into(),
            },
            Rec {
                id: "2".into(),
                value: "192.0.2.2".into(),
            },
        ];
        let want = s(&["192.0.2.2", "192.0.2.3"]);
        let (gone, new) = diff(&have, &want);
        assert_eq!(
            gone.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["1"]
        );
        assert_eq!(new, [&want[1]]);
    }

    #[test]
    fn zone_by_longest_match_or_a_clear_error() {
        let z = |n: &str| Zone {
            name: n.into(),
            id: format!("id-{n}"),
        };
        let zones = vec![z("example.com"), z("sub.example.com"), z("other.org")];
        assert_eq!(
            pick_zone("t", "_acme-challenge.a.sub.example.com", &zones)
                .unwrap()
                .id,
            "id-sub.example.com"
        );
        assert_eq!(
            pick_zone("t", "example.com", &zones).unwrap().id,
            "id-example.com"
        );
        let e = pick_zone("t", "x.example.net", &zones)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.example.net") && e.contains("other.org"),
            "{e}"
        );
    }
}
