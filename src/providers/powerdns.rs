//! PowerDNS Authoritative's HTTP API. Options: `endpoint` (the webserver,
//! e.g. `http://127.0.0.1:8081`), `api_key` (or `api_key_file`),
//! `server_id` (`localhost`). The zone list comes whole (the API does not
//! page it); values are written as whole RRsets (`REPLACE`), read first so
//! that other values at the name stay.

use serde_json::json;

use super::api::{self, Api, Provider, Rec, Records, Zone};
use super::{DnsProvider, Env, ProviderType};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "powerdns",
    about: "PowerDNS Authoritative HTTP API",
    build,
};

const TTL: u32 = 60;

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    // No public default: the endpoint is the user's own server.
    section.required("endpoint")?;
    let key = section.secret("api_key")?;
    let mut api = Api::new(
        section,
        env,
        TYPE.name,
        "",
        "api_key (the server's api-key)",
        vec![("x-api-key", key)],
    );
    let server = section.optional("server_id").unwrap_or("localhost");
    api.base = format!("{}/api/v1/servers/{server}", api.base);
    Ok(Provider::boxed(PowerDns(api), TTL))
}

struct PowerDns<'a>(Api<'a>);

/// PowerDNS names are absolute: `www.example.com.`.
fn dotted(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

impl Records for PowerDns<'_> {
    fn api(&self) -> &Api<'_> {
        &self.0
    }

    fn zones(&self, _: &str) -> Result<Vec<Zone>> {
        let v = self.0.call("GET", "/zones", None)?;
        Ok(api::zones(&v, "name", "id"))
    }

    fn get(&self, zone: &Zone, fqdn: &str, rtype: &str) -> Result<Vec<Rec>> {
        let v = self.0.call("GET", &format!("/zones/{}", zone.id), None)?;
        let name = dotted(fqdn);
        let set = v["rrsets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["type"] == rtype && api::text(&s["name"]).eq_ignore_ascii_case(&name));
        Ok(set.map_or(Vec::new(), |s| api::recs(&s["records"], "", "content")))
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
        let records: Vec<_> = api::wire(rtype, want)
            .into_iter()
            .map(|c| json!({"content": c, "disabled": false}))
            .collect();
        let changetype = match want.is_empty() {
            true => "DELETE",
            false => "REPLACE",
        };
        let body = json!({"rrsets": [{
            "name": dotted(fqdn), "type": rtype, "ttl": ttl,
            "changetype": changetype, "records": records,
        }]});
        self.0
            .call("PATCH", &format!("/zones/{}", zone.id), Some(&body))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn replaces_the_whole_rrset_with_absolute_names() {
        let http = Canned::new(|s| {
            match (s.method.as_str(), s.url.ends_with("/zones")) {
            ("GET", true) => (200, r#"[{"id":"example.com.","name":"example.com."}]"#.into()),
            ("GET", false) => (
                200,
                r#"{"rrsets":[{"name":"_acme-challenge.Example.com.","type":"TXT","records":[{"content":"\"old\""}]}]}"#.into(),
            ),
            _ => (204, String::new()),
        }
        });
        let clock = FakeClock::at(0);
        let opts = [
            ("endpoint", "http://127.0.0.1:8081/"),
            ("api_key", "k"),
            ("server_id", "s1"),
        ];
        let mut p = build("powerdns", &opts, &http, &clock).unwrap();
        p.add_txt("_acme-challenge.example.com", "new").unwrap();
        let sent = http.sent();
        assert_eq!(sent[0].url, "http://127.0.0.1:8081/api/v1/servers/s1/zones");
        assert_eq!(sent[0].header("x-api-key"), Some("k"));
        assert_eq!(sent[2].method, "PATCH");
        let set = &sent[2].json()["rrsets"][0];
        assert_eq!(set["name"], "_acme-challenge.example.com.");
        assert_eq!(set["changetype"], "REPLACE");
        let contents: Vec<&str> = set["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, ["\"old\"", "\"new\""], "the old value stays");
    }
}
