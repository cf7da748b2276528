//! dynv6 (REST API v2 and the update URL). Options: `token` (or
//! `token_file`), an HTTP token; `endpoint` (`https://dynv6.com`) for tests.
//! Zones are listed (the API does not page them), the longest match taken;
//! TXT values and addresses below a zone are records, one per value. The
//! address of a zone itself is no record but the zone's own, set through
//! the update URL (`/api/update?zone=...`): one address per family, and
//! only the IPv4 one can be removed.

use std::net::IpAddr;

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, Family, ProviderType, rest};
use crate::config::PluginSection;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "dynv6",
    about: "dynv6.com (HTTP token)",
    build,
};

const TTL: u32 = 60;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let token = section.secret("token")?;
    let mut api = Api::new(
        section,
        env,
        TYPE.name,
        "https://dynv6.com",
        "token",
        vec![("authorization", format!("Bearer {token}"))],
    );
    let update = format!("{}/api/update", api.base);
    api.base.push_str("/api/v2");
    Ok(Box::new(Dynv6 {
        records: Provider::new(Dynv6Api(api), TTL),
        update,
        token,
    }))
}

/// Records below zones go through `records`; a zone's own address through
/// the update URL.
struct Dynv6<'a> {
    records: Provider<'a>,
    update: String,
    token: String,
}

impl DnsProvider for Dynv6<'_> {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.records.add_txt(fqdn, value)
    }

    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.records.remove_txt(fqdn, value)
    }

    fn set_address(
        &mut self,
        fqdn: &str,
        family: Family,
        addrs: &[IpAddr],
        ttl: u32,
    ) -> Result<()> {
        let zone = self.records.zone(fqdn)?;
        if rest::relative(fqdn, &zone.name) != "@" {
            return self.records.set_address(fqdn, family, addrs, ttl);
        }
        // `ipv4=-` removes the zone's A address; the AAAA one cannot be.
        let addr = match (addrs, family) {
            ([a], _) => a.to_string(),
            ([], Family::V4) => "-".into(),
            _ => {
                return Err(Error::Dns(format!(
                    "dynv6: zone {fqdn} itself takes one {} address, not {}: give one, or use a name below the zone",
                    api::rtype(family),
                    addrs.len()
                )));
            }
        };
        let key = match family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        };
        // The token is in the query: `Api` keeps queries out of messages.
        let url = format!(
            "{}?zone={}&{key}={addr}&token={}",
            self.update, zone.name, self.token
        );
        self.records.api().call("GET", &url, None).map(drop)
    }
}

struct Dynv6Api<'a>(Api<'a>);

impl Records for Dynv6Api<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let v = self.0.call("GET", "/zones", None)?;
        Ok(api::zones(&v, "name", "id"))
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let v = self
            .0
            .call("GET", &format!("/zones/{}/records", zone.id), None)?;
        let name = match rest::relative(fqdn, &zone.name) {
            "@" => "",
            n => n,
        };
        // The API has no filter: all of the zone's records come.
        let mut v = v;
        if let Some(list) = v.as_array_mut() {
            list.retain(|r| r["type"] == rtype && api::text(&r["name"]).eq_ignore_ascii_case(name));
        }
        Ok(api::recs(&v, "id", "data"))
    }

    fn change(
        &self,
        zone: &Zone,
        fqdn: &str,
        rtype: &str,
        have: &[Rec],
        want: &[String],
        _: u32,
    ) -> Result<()> {
        let name = match rest::relative(fqdn, &zone.name) {
            "@" => "",
            n => n,
        };
        let body = |v: &str| json!({"type": rtype, "name": name, "data": v});
        self.0
            .per_record(&format!("/zones/{}/records", zone.id), have, want, &body)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::Family;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn a_zone_address_goes_through_the_update_url() {
        let http = Canned::new(|s| match s.url.contains("/api/update") {
            true => (200, "addresses updated".into()),
            false => (200, r#"[{"id":7,"name":"home.v6.rocks"}]"#.into()),
        });
        let clock = FakeClock::at(0);
        let mut p = build("dynv6", &[("token", "tk")], &http, &clock).unwrap();
        let addr = ["2001:db8::1".parse().unwrap()];
        p.set_address("home.v6.rocks", Family::V6, &addr, 60)
            .unwrap();
        let sent = http.sent();
        assert_eq!(sent[0].url, "https://dynv6.com/api/v2/zones");
        assert_eq!(sent[0].header("authorization"), Some("Bearer tk"));
        assert_eq!(
            sent[1].url,
            "https://dynv6.com/api/update?zone=home.v6.rocks&ipv6=2001:db8::1&token=tk"
        );
    }
}
