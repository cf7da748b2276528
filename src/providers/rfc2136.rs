//! RFC 2136 dynamic UPDATE signed with TSIG (RFC 8945), over UDP with TCP
//! fallback.

use super::{DnsProvider, Env, ProviderType};
use crate::config::PluginSection;
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "rfc2136",
    about: "RFC 2136 dynamic update with TSIG (BIND, Knot, PowerDNS, ...)",
    build,
};

fn build<'a>(section: &PluginSection, _env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    Err(section.error("type", "rfc2136 is not implemented yet"))
}

#[allow(dead_code)]
struct Rfc2136;

impl DnsProvider for Rfc2136 {
    fn add_txt(&mut self, _fqdn: &str, _value: &str) -> Result<()> {
        Err(Error::Dns("not implemented".into()))
    }
    fn remove_txt(&mut self, _fqdn: &str, _value: &str) -> Result<()> {
        Err(Error::Dns("not implemented".into()))
    }
}
