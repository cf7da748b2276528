//! Cloudflare (API v4). Options: `api_token` (or `api_token_file`), a token
//! with Zone:Read and DNS:Edit; `endpoint` for tests. Zones are listed
//! (50 a page) and the longest match is taken; one DNS record per value.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "cloudflare",
    about: "Cloudflare DNS (API token)",
    build,
};

/// Cloudflare's shortest TTL other than "automatic".
const TTL: u32 = 60;
const PER_PAGE: usize = 50;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let api = Api::bearer(
        section,
        env,
        TYPE.name,
        "https://api.cloudflare.com/client/v4",
        "api_token",
        "api_token (Zone:Read, DNS:Edit)",
    )?;
    Ok(Provider::boxed(Cloudflare(api), TTL))
}

struct Cloudflare<'a>(Api<'a>);

impl Records for Cloudflare<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let path = |n, _: Option<&Zone>| format!("/zones?per_page={PER_PAGE}&page={n}");
        self.0.paged_zones(PER_PAGE, &path, "result", "name", "id")
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let path = format!(
            "/zones/{}/dns_records?type={rtype}&name={fqdn}&per_page=100",
            zone.id
        );
        let v = self.0.call("GET", &path, None)?;
        Ok(api::recs(&v["result"], "id", "content"))
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
        let records = format!("/zones/{}/dns_records", zone.id);
        let body = |v: &str| {
            let content = api::wire1(rtype, v);
            json!({"type": rtype, "name": fqdn, "content": content, "ttl": ttl})
        };
        self.0.per_record(&records, have, want, &body)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn bearer_token_paged_zones_and_quoted_txt() {
        let http = Canned::new(
            |s| match (s.method.as_str(), s.url.contains("dns_records")) {
                ("GET", false) => (
                    200,
                    r#"{"result":[{"id":"z1","name":"example.com"}]}"#.into(),
                ),
                _ => (200, r#"{"result":[]}"#.into()),
            },
        );
        let clock = FakeClock::at(0);
        let mut p = build("cloudflare", &[("api_token", "t0k")], &http, &clock).unwrap();
        p.add_txt("_acme-challenge.example.com", "v").unwrap();
        let sent = http.sent();
        assert_eq!(
            sent[0].url,
            "https://api.cloudflare.com/client/v4/zones?per_page=50&page=1"
        );
        assert_eq!(sent[0].header("authorization"), Some("Bearer t0k"));
        assert!(sent[1].url.ends_with(
            "/zones/z1/dns_records?type=TXT&name=_acme-challenge.example.com&per_page=100"
        ));
        let body = sent[2].json();
        assert_eq!(
            (body["content"].as_str(), body["ttl"].as_u64()),
            (Some("\"v\""), Some(60))
        );
    }
}
