//! deSEC (desec.io). Options: `token` (or `token_file`); `endpoint` for
//! tests. The zone is not listed but asked for: `GET /domains/?owns_qname=`
//! answers the account's domain responsible for the name (the longest
//! match, by deSEC's own rule). Values are written as whole RRsets, read
//! first so that other values at the name stay.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType, rest};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "desec",
    about: "deSEC (desec.io, dedyn.io)",
    build,
};

/// deSEC's minimum TTL for most domains.
const TTL: u32 = 3600;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let token = section.secret("token")?;
    let api = Api::new(
        section,
        env,
        TYPE.name,
        "https://desec.io/api/v1",
        "token",
        vec![("authorization", format!("Token {token}"))],
    );
    Ok(Provider::boxed(Desec(api), TTL))
}

struct Desec<'a>(Api<'a>);

/// The RRset's subname: `""` at the apex.
fn subname<'n>(fqdn: &'n str, zone: &Zone) -> &'n str {
    match rest::relative(fqdn, &zone.name) {
        "@" => "",
        s => s,
    }
}

impl Records for Desec<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, fqdn: &str) -> Result<Vec<Zone>> {
        let v = self
            .0
            .call("GET", &format!("/domains/?owns_qname={fqdn}"), None)?;
        Ok(api::zones(&v, "name", "name"))
    }

    fn lists_zones(&self) -> bool {
        false
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        // `@` stands for the apex in the RRset's URL.
        let path = format!(
            "/domains/{}/rrsets/{}/{rtype}/",
            zone.id,
            rest::relative(fqdn, &zone.name)
        );
        let v = self.0.call_opt("GET", &path, None)?.unwrap_or_default();
        Ok(api::recs(&v["records"], "", ""))
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
        let records = api::wire(rtype, want);
        // A bulk PATCH creates, replaces, or (with no records) deletes.
        let body = json!([{
            "subname": subname(fqdn, zone), "type": rtype, "ttl": ttl, "records": records,
        }]);
        self.0.call(
            "PATCH",
            &format!("/domains/{}/rrsets/", zone.id),
            Some(&body),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn asks_for_the_zone_and_writes_the_apex_with_an_empty_subname() {
        let http = Canned::new(|s| match s.method.as_str() {
            "GET" if s.url.contains("owns_qname") => (200, r#"[{"name":"dedyn.example"}]"#.into()),
            "GET" => (404, r#"{"detail":"Not found."}"#.into()),
            _ => (200, "[]".into()),
        });
        let clock = FakeClock::at(0);
        let mut p = build("desec", &[("token", "tk")], &http, &clock).unwrap();
        let addrs = ["192.0.2.1".parse().unwrap()];
        p.set_address("dedyn.example", super::super::Family::V4, &addrs, 60)
            .unwrap();
        let sent = http.sent();
        assert_eq!(
            sent[0].url,
            "https://desec.io/api/v1/domains/?owns_qname=dedyn.example"
        );
        assert_eq!(sent[0].header("authorization"), Some("Token tk"));
        assert!(sent[1].url.ends_with("/domains/dedyn.example/rrsets/@/A/"));
        let set = &sent[2].json()[0];
        assert_eq!(
            (set["subname"].as_str(), set["ttl"].as_u64()),
            (Some(""), Some(3600))
        );
    }
}
