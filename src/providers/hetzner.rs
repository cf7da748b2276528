//! Hetzner DNS, through the Hetzner Cloud API (`api.hetzner.cloud/v1`,
//! where Hetzner moved DNS from the old DNS Console API). Options:
//! `api_token` (or `api_token_file`), a project token with read and write;
//! `endpoint` for tests. Zones are listed 50 a page, the longest match
//! taken; values are RRsets, read first so that other values stay.

use serde_json::{Value, json};

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "hetzner",
    about: "Hetzner DNS (Cloud API token)",
    build,
};

const TTL: u32 = 60;
const PER_PAGE: usize = 50;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let api = Api::bearer(
        section,
        env,
        TYPE.name,
        "https://api.hetzner.cloud/v1",
        "api_token",
        "api_token (a Cloud project token, read & write)",
    )?;
    Ok(Provider::boxed(Hetzner(api), TTL))
}

struct Hetzner<'a>(Api<'a>);

fn rrset(zone: &Zone, fqdn: &str, rtype: &str) -> String {
    format!(
        "/zones/{}/rrsets/{}/{rtype}",
        zone.id,
        rest::relative(fqdn, &zone.name)
    )
}

/// `[{"value": ...}]`, TXT values quoted as the API wants them.
fn records(rtype: &str, want: &[String]) -> Value {
    let list: Vec<_> = api::wire(rtype, want)
        .into_iter()
        .map(|v| json!({"value": v}))
        .collect();
    json!(list)
}

impl Records for Hetzner<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let path = |n, _: Option<&Zone>| format!("/zones?per_page={PER_PAGE}&page={n}");
        self.0.paged_zones(PER_PAGE, &path, "zones", "name", "id")
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let v = self.0.call_opt("GET", &rrset(zone, fqdn, rtype), None)?;
        Ok(api::recs(
            &v.unwrap_or_default()["rrset"]["records"],
            "",
            "value",
        ))
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
        let path = rrset(zone, fqdn, rtype);
        let body = match (have.is_empty(), want.is_empty()) {
            (_, true) => return self.0.call_opt("DELETE", &path, None).map(drop),
            (true, false) => {
                let body = json!({
                    "name": rest::relative(fqdn, &zone.name), "type": rtype,
                    "ttl": ttl, "records": records(rtype, want),
                });
                let create = format!("/zones/{}/rrsets", zone.id);
                return self.0.call("POST", &create, Some(&body)).map(drop);
            }
            (false, false) => json!({"records": records(rtype, want)}),
        };
        self.0
            .call("POST", &format!("{path}/actions/set_records"), Some(&body))
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn creates_an_rrset_then_sets_its_records() {
        let http = Canned::new(|s| match (s.method.as_str(), s.url.contains("/rrsets/")) {
            ("GET", false) => (200, r#"{"zones":[{"id":42,"name":"example.com"}]}"#.into()),
            ("GET", true) if s.url.contains("/www/") => {
                (200, r#"{"rrset":{"records":[{"value":"\"a\""}]}}"#.into())
            }
            ("GET", true) => (
                404,
                r#"{"error":{"code":"not_found","message":"x"}}"#.into(),
            ),
            _ => (201, r#"{"action":{"id":1}}"#.into()),
        });
        let clock = FakeClock::at(0);
        let mut p = build("hetzner", &[("api_token", "t")], &http, &clock).unwrap();
        p.add_txt("_acme-challenge.example.com", "v").unwrap();
        p.add_txt("www.example.com", "b").unwrap();
        let sent = http.sent();
        assert_eq!(
            sent[0].url,
            "https://api.hetzner.cloud/v1/zones?per_page=50&page=1"
        );
        assert!(sent[2].url.ends_with("/zones/42/rrsets"));
        assert_eq!(sent[2].json()["records"][0]["value"], "\"v\"");
        assert!(
            sent[4]
                .url
                .ends_with("/zones/42/rrsets/www/TXT/actions/set_records")
        );
        assert_eq!(sent[4].json()["records"][1]["value"], "\"b\"");
    }
}
