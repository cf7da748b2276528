//! acme-dns (joohoi/acme-dns): a tiny DNS server that holds challenge
//! values only, for CNAME delegation. Options: `server` (its HTTP API, e.g.
//! `https://auth.example.org`), and the credentials `/register` returned:
//! `username`, `password`, `subdomain` (each also as `..._file`). Point
//! `_acme-challenge.<name>` (CNAME) at `<subdomain>.<acme-dns domain>`.
//!
//! There is no zone to find: every value goes to the one subdomain, whatever
//! the name. `/update` does not add beside the others but acme-dns keeps the
//! two latest values of a subdomain, so a name and its wildcard (two values
//! at `_acme-challenge.<name>`) validate together; a third would push out
//! the first. Values cannot be removed: they age out as newer ones come.

use serde_json::json;

use super::api::Api;
use super::{DnsProvider, Env, ProviderType};
use crate::Result;
use crate::config::PluginSection;

pub const TYPE: ProviderType = ProviderType {
    name: "acmedns",
    about: "acme-dns server (CNAME delegation)",
    build,
};

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let server = section.required("server")?;
    let auth = vec![
        ("x-api-user", section.secret("username")?),
        ("x-api-key", section.secret("password")?),
    ];
    let subdomain = section.secret("subdomain")?;
    let api = Api::new(
        section,
        env,
        TYPE.name,
        server,
        "username and password",
        auth,
    );
    Ok(Box::new(AcmeDns { api, subdomain }))
}

struct AcmeDns<'a> {
    api: Api<'a>,
    subdomain: String,
}

impl DnsProvider for AcmeDns<'_> {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        let body = json!({"subdomain": self.subdomain, "txt": value});
        self.api.call("POST", "/update", Some(&body))?;
        log::debug!(
            "acmedns: value for {fqdn} sent to subdomain {}",
            self.subdomain
        );
        Ok(())
    }

    fn remove_txt(&mut self, _: &str, _: &str) -> Result<()> {
        // acme-dns has no delete; the value is replaced by later ones.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn updates_the_subdomain_with_the_api_headers() {
        let http = Canned::new(|_| (200, r#"{"txt":"v"}"#.into()));
        let clock = FakeClock::at(0);
        let opts = [
            ("server", "https://auth.example.org/"),
            ("username", "u"),
            ("password", "p"),
            ("subdomain", "sd"),
        ];
        let mut p = build("acmedns", &opts, &http, &clock).unwrap();
        p.add_txt("_acme-challenge.nas.example.com", "v").unwrap();
        p.remove_txt("_acme-challenge.nas.example.com", "v")
            .unwrap();
        let sent = http.sent();
        assert_eq!(sent.len(), 1, "nothing to remove");
        assert_eq!(sent[0].url, "https://auth.example.org/update");
        assert_eq!(
            (sent[0].header("x-api-user"), sent[0].header("x-api-key")),
            (Some("u"), Some("p"))
        );
        assert_eq!(
            sent[0].json(),
            serde_json::json!({"subdomain": "sd", "txt": "v"})
        );
    }
}
