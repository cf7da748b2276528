//! GoDaddy (Domains API v1). Options: `api_key` and `api_secret` (or their
//! `_file` forms); `endpoint` for tests (the OTE sandbox is
//! `https://api.ote-godaddy.com`). Active domains are listed 500 at a time
//! (marker paging), the longest match taken; a name's values of one type are
//! replaced together (`PUT`), read first so that other values stay.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "godaddy",
    about: "GoDaddy DNS (API key and secret)",
    build,
};

/// GoDaddy's minimum TTL.
const TTL: u32 = 600;
const LIMIT: usize = 500;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let key = section.secret("api_key")?;
    let secret = section.secret("api_secret")?;
    let mut api = Api::new(
        section,
        env,
        TYPE.name,
        "https://api.godaddy.com",
        "api_key and api_secret",
        vec![("authorization", format!("sso-key {key}:{secret}"))],
    );
    api.base.push_str("/v1");
    Ok(Provider::boxed(GoDaddy(api), TTL))
}

struct GoDaddy<'a>(Api<'a>);

fn records(zone: &Zone, fqdn: &str, rtype: &str) -> String {
    format!(
        "/domains/{}/records/{rtype}/{}",
        zone.id,
        rest::relative(fqdn, &zone.name)
    )
}

impl Records for GoDaddy<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let path = |_, last: Option<&Zone>| {
            let marker = last.map_or("", |z| z.name.as_str());
            format!("/domains?statuses=ACTIVE&limit={LIMIT}&marker={marker}")
        };
        self.0.paged_zones(LIMIT, &path, "", "domain", "domain")
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let v = self.0.call_opt("GET", &records(zone, fqdn, rtype), None)?;
        Ok(api::recs(&v.unwrap_or_default(), "", "data"))
    }

    fn change(
        &self,
        zone: &Zone,
        fqdn: &str,
        rtype: &str,
        _: &[Rec],
        want: &[String],
        ttl: u32,
    ) -> Result<()> {
        let path = records(zone, fqdn, rtype);
        if want.is_empty() {
            self.0.call_opt("DELETE", &path, None)?;
            return Ok(());
        }
        let body: Vec<_> = want
            .iter()
            .map(|v| json!({"data": v, "ttl": ttl}))
            .collect();
        self.0.call("PUT", &path, Some(&json!(body)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn sso_key_header_and_a_put_of_the_whole_set() {
        let http = Canned::new(|s| match (s.method.as_str(), s.url.contains("/records/")) {
            ("GET", false) => (200, r#"[{"domain":"example.com"}]"#.into()),
            ("GET", true) => (
                200,
                r#"[{"data":"old","name":"_acme-challenge","ttl":600,"type":"TXT"}]"#.into(),
            ),
            _ => (200, String::new()),
        });
        let clock = FakeClock::at(0);
        let opts = [("api_key", "K"), ("api_secret", "S")];
        let mut p = build("godaddy", &opts, &http, &clock).unwrap();
        p.add_txt("_acme-challenge.example.com", "new").unwrap();
        let sent = http.sent();
        assert_eq!(sent[0].header("authorization"), Some("sso-key K:S"));
        assert_eq!(
            sent[0].url,
            "https://api.godaddy.com/v1/domains?statuses=ACTIVE&limit=500&marker="
        );
        assert_eq!(sent[2].method, "PUT");
        assert!(
            sent[2]
                .url
                .ends_with("/v1/domains/example.com/records/TXT/_acme-challenge")
        );
        assert_eq!(
            sent[2].json(),
            serde_json::json!([{"data": "old", "ttl": 600}, {"data": "new", "ttl": 600}])
        );
    }
}
