//! Duck DNS (duckdns.org), through its update URL. Options: `token` (or
//! `token_file`); `domain` (the Duck DNS name, `myhome` for
//! `myhome.duckdns.org`), needed when the certificate's names are your own
//! and `_acme-challenge.<name>` is a CNAME to `myhome.duckdns.org`; without
//! it the label left of `duckdns.org` in the name is used. There is no zone
//! list: every Duck DNS domain is its own zone.
//!
//! Duck DNS keeps ONE TXT value per domain, answered at every name below it.
//! So a name and its wildcard (two values at once) cannot be validated in
//! one certificate: `add_txt` refuses a second, different value with a
//! message saying so.

use std::net::IpAddr;

use super::api::{self, Api};
use super::{DnsProvider, Env, Family, ProviderType};
use crate::config::PluginSection;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "duckdns",
    about: "Duck DNS (one TXT value per domain)",
    build,
};

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let token = section.secret("token")?;
    let domain = section
        .optional("domain")
        .map(|d| d.trim_end_matches(".duckdns.org").to_string());
    let api = Api::new(
        section,
        env,
        TYPE.name,
        "https://www.duckdns.org",
        "token",
        vec![],
    );
    Ok(Box::new(DuckDns {
        api,
        token,
        domain,
        txt: None,
    }))
}

struct DuckDns<'a> {
    api: Api<'a>,
    token: String,
    domain: Option<String>,
    /// The TXT value this run set, and for which domain.
    txt: Option<(String, String)>,
}

impl DuckDns<'_> {
    /// The Duck DNS domain for `fqdn`.
    fn domain(&self, fqdn: &str) -> Result<String> {
        if let Some(d) = &self.domain {
            return Ok(d.clone());
        }
        let lower = fqdn.trim_end_matches('.').to_ascii_lowercase();
        match lower.strip_suffix(".duckdns.org") {
            Some(rest) => Ok(rest.rsplit('.').next().unwrap_or(rest).to_string()),
            None => Err(Error::Dns(format!(
                "duckdns: {fqdn} is not under duckdns.org: set option domain to your Duck DNS name (and CNAME _acme-challenge.<name> to it)"
            ))),
        }
    }

    /// One call of the update URL; Duck DNS answers `OK` or `KO`.
    fn update(&self, domain: &str, params: &str) -> Result<()> {
        let url = format!(
            "{}/update?domains={domain}&token={}&verbose=true{params}",
            self.api.base, self.token
        );
        let v = self.api.call("GET", &url, None)?;
        match api::text(&v).starts_with("OK") {
            true => Ok(()),
            false => Err(self.api.refused(&format!(
                "it answered KO for domain {domain}; is {domain} one of the account's domains?"
            ))),
        }
    }
}

impl DnsProvider for DuckDns<'_> {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        let domain = self.domain(fqdn)?;
        if let Some((d, v)) = &self.txt
            && *d == domain
            && v != value
        {
            return Err(Error::Dns(format!(
                "duckdns: {domain}.duckdns.org holds one TXT value, and another challenge needs it now: issue a name and its wildcard as two certificates"
            )));
        }
        self.update(&domain, &format!("&txt={value}"))?;
        self.txt = Some((domain, value.to_string()));
        Ok(())
    }

    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        let domain = self.domain(fqdn)?;
        // Only clear what this run set: the one value may be another's.
        if self
            .txt
            .as_ref()
            .is_some_and(|(d, v)| *d == domain && v != value)
        {
            return Ok(());
        }
        self.update(&domain, "&txt=&clear=true")?;
        self.txt = None;
        Ok(())
    }

    fn set_address(&mut self, fqdn: &str, family: Family, addrs: &[IpAddr], _: u32) -> Result<()> {
        let domain = self.domain(fqdn)?;
        let [addr] = addrs else {
            return Err(Error::Dns(format!(
                "duckdns: {domain}.duckdns.org takes exactly one {} address, not {}",
                api::rtype(family),
                addrs.len()
            )));
        };
        let key = match family {
            Family::V4 => "ip",
            Family::V6 => "ipv6",
        };
        self.update(&domain, &format!("&{key}={addr}"))
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn the_domain_is_the_label_left_of_duckdns_org() {
        let http = Canned::new(|_| (200, "OK".into()));
        let clock = FakeClock::at(0);
        let mut p = build("duckdns", &[("token", "secret-tok")], &http, &clock).unwrap();
        p.add_txt("_acme-challenge.a.MyHome.duckdns.org", "v")
            .unwrap();
        let url = &http.sent()[0].url;
        assert!(
            url.starts_with("https://www.duckdns.org/update?domains=myhome&token=secret-tok"),
            "{url}"
        );
        assert!(url.ends_with("&txt=v"), "{url}");
    }

    #[test]
    fn ko_is_a_credentials_error_without_the_token() {
        let http = Canned::new(|_| (200, "KO".into()));
        let clock = FakeClock::at(0);
        let mut p = build("duckdns", &[("token", "secret-tok")], &http, &clock).unwrap();
        let err = p
            .add_txt("myhome.duckdns.org", "v")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("check option token") && !err.contains("secret-tok"),
            "{err}"
        );
    }
}
