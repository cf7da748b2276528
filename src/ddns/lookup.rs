//! What the DNS holds now for a record: ask every authoritative server (or
//! the configured `propagation_server`s) for its A and AAAA values. A run
//! does this only when its cache knows nothing or `force_interval` passed.
//! The questions go through an `Ask`, so the logic is tested without a
//! network.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::update::Answers;
use crate::dns::wire::{Message, Name, RData, rcode, rtype};
use crate::dns::{self, net};
use crate::{Error, Result};

/// For one question.
const TIMEOUT: Duration = Duration::from_secs(3);

/// At most this many server addresses are asked: enough to see a lagging
/// secondary, bounded for a zone with many name servers.
const MAX_SERVERS: usize = 4;

/// The DNS questions a lookup asks.
pub trait Ask {
    /// One question to `server`; `recursion` sets RD.
    fn query(
        &mut self,
        server: SocketAddr,
        name: &Name,
        qtype: u16,
        recursion: bool,
    ) -> Result<Message>;
    /// The system's recursive resolver.
    fn system(&mut self) -> Result<SocketAddr>;
    /// The addresses of a configured `host[:port]`.
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>>;
}

/// The network.
pub struct Net;

impl Ask for Net {
    fn query(
        &mut self,
        server: SocketAddr,
        name: &Name,
        qtype: u16,
        recursion: bool,
    ) -> Result<Message> {
        net::query(server, name, qtype, recursion, TIMEOUT)
    }
    fn system(&mut self) -> Result<SocketAddr> {
        net::system_resolver()
    }
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
        net::resolve(host_port, 53)
    }
}

/// Each server's (A, AAAA) values at `fqdn`. `servers`: ask these
/// (recursively, they may be public resolvers) instead of finding the
/// zone's authoritative servers.
pub fn published(fqdn: &str, servers: &[String], ask: &mut dyn Ask) -> Result<Answers> {
    let name = Name::parse(fqdn)?;
    let (targets, recursion) = if servers.is_empty() {
        (authoritative(&name, ask)?, false)
    } else {
        let mut out = Vec::new();
        for s in servers {
            out.extend(ask.resolve(s)?);
        }
        (out, true)
    };
    let mut answers = Vec::new();
    for addr in targets.into_iter().take(MAX_SERVERS) {
        let v4 = values(ask.query(addr, &name, rtype::A, recursion)?, &name, addr)?;
        let v6 = values(ask.query(addr, &name, rtype::AAAA, recursion)?, &name, addr)?;
        answers.push((v4, v6));
    }
    Ok(answers)
}

/// The addresses of the zone's name servers, found through the system's
/// resolver (SOA for the zone, NS for its servers).
fn authoritative(name: &Name, ask: &mut dyn Ask) -> Result<Vec<SocketAddr>> {
    let system = ask.system()?;
    let zone = dns::find_zone(name, |n| ask.query(system, n, rtype::SOA, true))?;
    let ns = ask.query(system, &zone, rtype::NS, true)?;
    let mut out = Vec::new();
    for rr in ns.answers.iter().filter(|rr| rr.name == zone) {
        let RData::Ns(host) = &rr.data else { continue };
        for qtype in [rtype::A, rtype::AAAA] {
            // A server without one family, or one failed question, still
            // leaves the other addresses.
            let Ok(m) = ask.query(system, host, qtype, true) else {
                continue;
            };
            for rr in &m.answers {
                match rr.data {
                    RData::A(ip) => out.push(SocketAddr::new(ip.into(), 53)),
                    RData::Aaaa(ip) => out.push(SocketAddr::new(ip.into(), 53)),
                    _ => {}
                }
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Dns(format!(
            "found no name server address for zone {zone}"
        )));
    }
    Ok(out)
}

/// The A or AAAA values at `name` in an answer; NXDOMAIN and NODATA are
/// empty. Other codes are errors: the answer says nothing about the record.
fn values(m: Message, name: &Name, server: SocketAddr) -> Result<Vec<IpAddr>> {
    match m.rcode() {
        rcode::NOERROR | rcode::NXDOMAIN => {}
        c => {
            return Err(Error::Dns(format!(
                "{server} answered {} for {name}",
                rcode::name(c)
            )));
        }
    }
    Ok(m.answers
        .iter()
        .filter(|rr| rr.name == *name)
        .filter_map(|rr| match rr.data {
            RData::A(ip) => Some(ip.into()),
            RData::Aaaa(ip) => Some(ip.into()),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::wire::{Record, Soa, class, flag};

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn rr(owner: &str, data: RData) -> Record {
        let rtype = match &data {
            RData::A(_) => rtype::A,
            RData::Aaaa(_) => rtype::AAAA,
            RData::Ns(_) => rtype::NS,
            _ => rtype::SOA,
        };
        Record {
            name: name(owner),
            rtype,
            class: class::IN,
            ttl: 60,
            data,
        }
    }

    /// A zone `example.com` with two name servers; ns2 lags behind.
    struct Fake {
        asked: Vec<(SocketAddr, String, u16, bool)>,
    }

    const SYSTEM: &str = "127.0.0.53:53";
    const NS1: &str = "192.0.2.1:53";
    const NS2: &str = "192.0.2.2:53";

    impl Ask for Fake {
        fn query(
            &mut self,
            server: SocketAddr,
            n: &Name,
            qtype: u16,
            recursion: bool,
        ) -> Result<Message> {
            self.asked.push((server, n.to_string(), qtype, recursion));
            let mut m = Message {
                flags: flag::QR,
                ..Message::default()
            };
            let s = server.to_string();
            match (s.as_str(), n.to_string().as_str(), qtype) {
                (SYSTEM, _, rtype::SOA) => m.authority.push(rr(
                    "example.com",
                    RData::Soa(Soa {
                        mname: name("ns1.example.com"),
                        rname: name("h.example.com"),
                        serial: 1,
                        refresh: 1,
                        retry: 1,
                        expire: 1,
                        minimum: 1,
                    }),
                )),
                (SYSTEM, "example.com", rtype::NS) => {
                    m.answers
                        .push(rr("example.com", RData::Ns(name("ns1.example.com"))));
                    m.answers
                        .push(rr("example.com", RData::Ns(name("ns2.example.com"))));
                }
                (SYSTEM, "ns1.example.com", rtype::A) => m.answers.push(rr(
                    n.to_string().as_str(),
                    RData::A("192.0.2.1".parse().unwrap()),
                )),
                (SYSTEM, "ns2.example.com", rtype::A) => m.answers.push(rr(
                    n.to_string().as_str(),
                    RData::A("192.0.2.2".parse().unwrap()),
                )),
                (SYSTEM, _, _) => {}
                (NS1, "home.example.com", rtype::A) => m.answers.push(rr(
                    "home.example.com",
                    RData::A("203.0.113.7".parse().unwrap()),
                )),
                (NS1, "home.example.com", rtype::AAAA) => m.answers.push(rr(
                    "home.example.com",
                    RData::Aaaa("2001:db8::7".parse().unwrap()),
                )),
                (NS2, "home.example.com", rtype::A) => m.answers.push(rr(
                    "home.example.com",
                    RData::A("203.0.113.6".parse().unwrap()),
                )),
                (NS2, _, _) => m.flags |= rcode::NXDOMAIN,
                _ => m.flags |= rcode::REFUSED,
            }
            Ok(m)
        }
        fn system(&mut self) -> Result<SocketAddr> {
            Ok(SYSTEM.parse().unwrap())
        }
        fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
            Ok(vec![host_port.parse().unwrap()])
        }
    }

    #[test]
    fn asks_every_authoritative_server_directly() {
        let mut fake = Fake { asked: Vec::new() };
        let got = published("home.example.com", &[], &mut fake).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            got,
            vec![
                (vec![ip("203.0.113.7")], vec![ip("2001:db8::7")]),
                (vec![ip("203.0.113.6")], vec![]),
            ]
        );
        // Authoritative servers are asked without recursion.
        assert!(
            fake.asked
                .iter()
                .filter(|(s, ..)| s.to_string() == NS1)
                .all(|(.., rd)| !rd)
        );
    }

    #[test]
    fn configured_servers_are_asked_recursively_and_errors_say_who() {
        let mut fake = Fake { asked: Vec::new() };
        let got = published("home.example.com", &[NS1.to_string()], &mut fake).unwrap();
        assert_eq!(got.len(), 1);
        assert!(fake.asked.iter().all(|(.., rd)| *rd));
        let e =
            published("home.example.com", &["192.0.2.9:53".to_string()], &mut fake).unwrap_err();
        assert!(
            e.to_string().contains("192.0.2.9:53 answered REFUSED"),
            "{e}"
        );
    }
}
