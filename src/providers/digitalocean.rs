//! DigitalOcean (API v2). Options: `api_token` (or `api_token_file`), a
//! token with the domain scopes; `endpoint` for tests. Domains are listed
//! 200 a page, the longest match taken; one record per value.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "digitalocean",
    about: "DigitalOcean DNS (API token)",
    build,
};

const TTL: u32 = 60;
const PER_PAGE: usize = 200;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let api = Api::bearer(
        section,
        env,
        TYPE.name,
        "https://api.digitalocean.com/v2",
        "api_token",
        "api_token (domain read and write)",
    )?;
    Ok(Provider::boxed(DigitalOcean(api), TTL))
}

struct DigitalOcean<'a>(Api<'a>);

impl Records for DigitalOcean<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let path = |n, _: Option<&Zone>| format!("/domains?per_page={PER_PAGE}&page={n}");
        self.0
            .paged_zones(PER_PAGE, &path, "domains", "name", "name")
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        // The name filter wants the full name.
        let path = format!(
            "/domains/{}/records?type={rtype}&name={fqdn}&per_page={PER_PAGE}",
            zone.id
        );
        let v = self.0.call("GET", &path, None)?;
        Ok(api::recs(&v["domain_records"], "id", "data"))
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
        let records = format!("/domains/{}/records", zone.id);
        let name = rest::relative(fqdn, &zone.name);
        let body = |v: &str| json!({"type": rtype, "name": name, "data": v, "ttl": ttl});
        self.0.per_record(&records, have, want, &body)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn filters_by_full_name_and_creates_with_a_relative_one() {
        let http = Canned::new(|s| match s.method.as_str() {
            "GET" if s.url.contains("/records") => (200, r#"{"domain_records":[]}"#.into()),
            "GET" => (200, r#"{"domains":[{"name":"example.com"}]}"#.into()),
            _ => (201, r#"{"domain_record":{"id":1}}"#.into()),
        });
        let clock = FakeClock::at(0);
        let mut p = build("digitalocean", &[("api_token", "t")], &http, &clock).unwrap();
        p.add_txt("_acme-challenge.www.example.com", "v").unwrap();
        let sent = http.sent();
        assert!(
            sent[1]
                .url
                .contains("type=TXT&name=_acme-challenge.www.example.com&")
        );
        assert_eq!(sent[2].json()["name"], "_acme-challenge.www");
        assert_eq!(sent[2].json()["data"], "v");
    }
}
