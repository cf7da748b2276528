//! DNS providers: the registry. A provider is one file here that adds and
//! removes single TXT values (never replacing the set: a name and its wildcard
//! need two values at `_acme-challenge.<name>` at once).

use std::net::IpAddr;

use crate::clock::Clock;
use crate::config::PluginSection;
use crate::http::Http;
use crate::{Error, Result};

pub mod acmedns;
pub mod alidns;
pub mod api;
pub mod cloud;
pub mod cloudflare;
pub mod desec;
pub mod digitalocean;
pub mod dnspod;
pub mod duckdns;
pub mod dyndns2;
pub mod dynv6;
pub mod exec;
pub mod gandi;
pub mod godaddy;
pub mod hetzner;
pub mod huaweicloud;
pub mod porkbun;
pub mod powerdns;
pub mod rest;
pub mod rfc2136;
pub mod route53;

pub trait DnsProvider {
    /// Add one TXT value at `fqdn` (no trailing dot), keeping other values.
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()>;
    /// Remove exactly that TXT value; removing a value that is absent is fine.
    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()>;
    /// DDNS: make `addrs` the whole A set (IPv4) or AAAA set (IPv6) at
    /// `fqdn`. All addresses are of the one family the call is about; an
    /// empty list removes that family's records.
    fn set_address(
        &mut self,
        fqdn: &str,
        family: Family,
        addrs: &[IpAddr],
        ttl: u32,
    ) -> Result<()> {
        let _ = (addrs, ttl);
        Err(Error::Dns(format!(
            "this provider cannot set {family:?} records (at {fqdn})"
        )))
    }

    /// DDNS: set both families at once, each to its one address (a family
    /// absent from `addrs` is left alone). Providers whose protocol sends
    /// both in one request (dyndns2) override this; the others get one
    /// `set_address` per family.
    fn set_addresses(&mut self, fqdn: &str, addrs: &[(Family, IpAddr)], ttl: u32) -> Result<()> {
        // The loop is in a function shared by every provider: a default
        // method's body is compiled once per implementation.
        per_family(addrs, &mut |family, set| {
            self.set_address(fqdn, family, set, ttl)
        })
    }

    /// DDNS: whether an unchanged record must still be sent now and then.
    /// Classic DDNS services delete hosts that stay silent for weeks; a DNS
    /// server's records do not expire.
    fn wants_refresh(&self) -> bool {
        false
    }
}

/// Call `set` once per family present in `addrs`, with its addresses.
fn per_family(
    addrs: &[(Family, IpAddr)],
    set: &mut dyn FnMut(Family, &[IpAddr]) -> Result<()>,
) -> Result<()> {
    for family in [Family::V4, Family::V6] {
        let some: Vec<IpAddr> = addrs
            .iter()
            .filter(|(f, _)| *f == family)
            .map(|(_, a)| *a)
            .collect();
        if !some.is_empty() {
            set(family, &some)?;
        }
    }
    Ok(())
}

/// An address family, for DDNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A records.
    V4,
    /// AAAA records.
    V6,
}

/// What a provider may use from the outside world.
pub struct Env<'a> {
    pub http: &'a dyn Http,
    pub clock: &'a dyn Clock,
}

pub type Builder = for<'a> fn(&PluginSection, &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>>;

/// A provider type: its `option type` name, a one-line description, and the
/// function that builds it from its config section.
pub struct ProviderType {
    pub name: &'static str,
    pub about: &'static str,
    pub build: Builder,
}

/// Every provider type built in.
pub const TYPES: &[ProviderType] = &[
    rfc2136::TYPE,
    cloudflare::TYPE,
    powerdns::TYPE,
    desec::TYPE,
    duckdns::TYPE,
    dynv6::TYPE,
    godaddy::TYPE,
    porkbun::TYPE,
    digitalocean::TYPE,
    hetzner::TYPE,
    gandi::TYPE,
    acmedns::TYPE,
    exec::TYPE,
    alidns::TYPE,
    dnspod::TYPE,
    huaweicloud::TYPE,
    route53::TYPE,
    dyndns2::TYPE,
];

/// Build the provider a `config provider` section describes.
pub fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    match TYPES.iter().find(|t| t.name == section.kind) {
        Some(t) => (t.build)(section, env),
        None => {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            Err(section.error(
                "type",
                &format!(
                    "unknown provider type '{}': use one of {}",
                    section.kind,
                    known.join(", ")
                ),
            ))
        }
    }
}
