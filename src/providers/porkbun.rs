//! Porkbun (API v3). Options: `api_key` and `secret_api_key` (or their
//! `_file` forms), with "API Access" turned on for the domain; `endpoint`
//! for tests. Every call is a POST whose JSON body carries the keys. Domains
//! are listed 1000 at a time (`start` offset), the longest match taken; one
//! record per value.

use serde_json::{Map, Value};

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "porkbun",
    about: "Porkbun DNS (API key and secret)",
    build,
};

/// Porkbun's minimum TTL.
const TTL: u32 = 600;
const PAGE: usize = 1000;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let keys = [
        section.secret("api_key")?,
        section.secret("secret_api_key")?,
    ];
    let api = Api::new(
        section,
        env,
        TYPE.name,
        "https://api.porkbun.com/api/json/v3",
        "api_key and secret_api_key (and API Access for the domain)",
        vec![],
    );
    Ok(Provider::boxed(Porkbun { api, keys }, TTL))
}

struct Porkbun<'a> {
    api: Api<'a>,
    /// API key and secret API key.
    keys: [String; 2],
}

impl Porkbun<'_> {
    /// POST `fields` plus the keys. Porkbun answers errors with HTTP 400 and
    /// `{"status":"ERROR","message":...}`; one about the key is a
    /// credentials error.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Result<Value> {
        let mut body = Map::new();
        let keys = [
            ("apikey", self.keys[0].as_str()),
            ("secretapikey", &self.keys[1]),
        ];
        for (k, v) in keys.iter().chain(fields) {
            body.insert(k.to_string(), Value::from(*v));
        }
        let fields = Value::Object(body);
        let (status, v) = self.api.raw("POST", path, Some(&fields))?;
        let msg = api::message(&v);
        if status == 400 && msg.contains("API key") {
            return Err(self.api.refused(msg.trim_start_matches(": ")));
        }
        self.api.check("POST", path, status, v)
    }
}

impl Records for Porkbun<'_> {
    fn api(&self) -> &Api<'_> {
        &self.api
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let mut all = Vec::new();
        // Bounded: a server that ignored `start` must not keep us looping.
        for _ in 0..100 {
            let start = all.len().to_string();
            let v = self.post("/domain/listAll", &[("start", &start)])?;
            let page = api::zones(&v["domains"], "domain", "domain");
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                break;
            }
        }
        Ok(all)
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let mut path = format!("/dns/retrieveByNameType/{}/{rtype}", zone.id);
        match rest::relative(fqdn, &zone.name) {
            "@" => {}
            sub => path = format!("{path}/{sub}"),
        }
        let v = self.post(&path, &[])?;
        Ok(api::recs(&v["records"], "id", "content"))
    }

    fn change(
        &self,
        zone: &Zone,
        fqdn: &str,
        rtype: &str,
        have: &[Rec],
        want: &[String],
        ttl: u32,
    ) -> Result<()> {
        let (gone, new) = api::diff(have, want);
        let name = match rest::relative(fqdn, &zone.name) {
            "@" => "",
            sub => sub,
        };
        for v in new {
            let ttl = ttl.to_string();
            let rec = [
                ("name", name),
                ("type", rtype),
                ("content", v),
                ("ttl", &ttl),
            ];
            self.post(&format!("/dns/create/{}", zone.id), &rec)?;
        }
        for r in gone {
            self.post(&format!("/dns/delete/{}/{}", zone.id, r.id), &[])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn keys_travel_in_the_body_and_an_invalid_key_is_a_credentials_error() {
        let http = Canned::new(|s| match s.json()["apikey"].as_str() {
            Some("pk1") => (
                200,
                r#"{"status":"SUCCESS","domains":[{"domain":"example.com"}],"records":[]}"#.into(),
            ),
            _ => (
                400,
                r#"{"status":"ERROR","message":"Invalid API key. (002)"}"#.into(),
            ),
        });
        let clock = FakeClock::at(0);
        let mut p = build(
            "porkbun",
            &[("api_key", "pk1"), ("secret_api_key", "sk1")],
            &http,
            &clock,
        )
        .unwrap();
        p.add_txt("example.com", "v").unwrap();
        let sent = http.sent();
        assert!(
            sent.iter()
                .all(|s| s.method == "POST" && s.header("authorization").is_none())
        );
        assert!(
            sent[1]
                .url
                .ends_with("/dns/retrieveByNameType/example.com/TXT"),
            "apex: no subdomain segment"
        );
        assert_eq!(sent[2].json()["name"], "");
        assert_eq!(sent[2].json()["secretapikey"], "sk1");
        let mut bad = build(
            "porkbun",
            &[("api_key", "x"), ("secret_api_key", "sk-secret")],
            &http,
            &clock,
        )
        .unwrap();
        let err = bad.add_txt("example.com", "v").unwrap_err().to_string();
        assert!(
            err.contains("refused the credentials") && !err.contains("sk-secret"),
            "{err}"
        );
    }
}
