//! Gandi LiveDNS (API v5). Options: `api_token` (or `api_token_file`), a
//! personal access token with "Manage domain technical configurations";
//! `endpoint` for tests. Domains are listed 100 a page, the longest match
//! taken; values are written as whole RRsets, read first so that other
//! values at the name stay.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "gandi",
    about: "Gandi LiveDNS (personal access token)",
    build,
};

/// LiveDNS's minimum TTL.
const TTL: u32 = 300;
const PER_PAGE: usize = 100;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let api = Api::bearer(
        section,
        env,
        TYPE.name,
        "https://api.gandi.net/v5/livedns",
        "api_token",
        "api_token (domain technical configuration)",
    )?;
    Ok(Provider::boxed(Gandi(api), TTL))
}

struct Gandi<'a>(Api<'a>);

fn rrset(zone: &Zone, fqdn: &str, rtype: &str) -> String {
    format!(
        "/domains/{}/records/{}/{rtype}",
        zone.id,
        rest::relative(fqdn, &zone.name)
    )
}

impl Records for Gandi<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let path = |n, _: Option<&Zone>| format!("/domains?per_page={PER_PAGE}&page={n}");
        self.0.paged_zones(PER_PAGE, &path, "", "fqdn", "fqdn")
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let v = self.0.call_opt("GET", &rrset(zone, fqdn, rtype), None)?;
        Ok(api::recs(&v.unwrap_or_default()["rrset_values"], "", ""))
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
        let path = rrset(zone, fqdn, rtype);
        if want.is_empty() {
            self.0.call_opt("DELETE", &path, None)?;
            return Ok(());
        }
        let body = json!({"rrset_values": api::wire(rtype, want), "rrset_ttl": ttl});
        self.0.call("PUT", &path, Some(&body))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn puts_the_rrset_at_its_relative_name() {
        let http = Canned::new(|s| match s.method.as_str() {
            "GET" if s.url.contains("/records/") => {
                (404, r#"{"code":404,"message":"not found"}"#.into())
            }
            "GET" => (200, r#"[{"fqdn":"example.com"}]"#.into()),
            _ => (201, r#"{"message":"DNS Record Created"}"#.into()),
        });
        let clock = FakeClock::at(0);
        let mut p = build("gandi", &[("api_token", "pat")], &http, &clock).unwrap();
        p.add_txt("_acme-challenge.example.com", "v").unwrap();
        let sent = http.sent();
        assert_eq!(
            sent[0].url,
            "https://api.gandi.net/v5/livedns/domains?per_page=100&page=1"
        );
        assert_eq!(sent[0].header("authorization"), Some("Bearer pat"));
        assert!(
            sent[2]
                .url
                .ends_with("/domains/example.com/records/_acme-challenge/TXT")
        );
        assert_eq!(
            sent[2].json(),
            serde_json::json!({"rrset_values": ["\"v\""], "rrset_ttl": 300})
        );
    }
}
