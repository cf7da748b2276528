//! RFC 2136 dynamic UPDATE signed with TSIG (RFC 8945), over UDP with TCP
//! fallback, or over TCP alone.
//!
//! Options: `server` (host or IP, may carry `:port`), `port` (53),
//! `tsig_name`, `tsig_algorithm` (`hmac-sha256` or `hmac-sha512`),
//! `tsig_secret` (base64), `zone` (found from the SOA when absent), and
//! `tcp` (`1`: TCP only, for a server behind a firewall that drops UDP).
//!
//! TXT values are added and removed one by one; for DDNS, `set_address`
//! replaces the A or AAAA set in one UPDATE.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{DnsProvider, Env, Family, ProviderType};
use crate::clock::Clock;
use crate::config::PluginSection;
use crate::dns::tsig::{self, Algorithm, Failure, Key};
use crate::dns::wire::{Message, Name, RData, Update, rcode, rtype};
use crate::dns::{self, net};
use crate::{Error, Result};

pub const TYPE: ProviderType = ProviderType {
    name: "rfc2136",
    about: "RFC 2136 dynamic update with TSIG (BIND, Knot, PowerDNS, ...)",
    build,
};

/// Short, so that a challenge record does not linger in caches once removed.
const TTL: u32 = 60;

/// For one exchange with the primary, over UDP and a TCP retry.
const TIMEOUT: Duration = Duration::from_secs(10);

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let server = section.required("server")?.to_string();
    let port = match section.optional("port") {
        None => 53,
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| {
            section.error(
                "port",
                &format!("option 'port' must be a port number (1-65535), not '{p}'"),
            )
        })?,
    };
    let algorithm = match section.optional("tsig_algorithm") {
        None => Algorithm::HmacSha256,
        Some(a) => Algorithm::from_name(a).ok_or_else(|| {
            section.error(
                "tsig_algorithm",
                &format!("unknown tsig_algorithm '{a}': use hmac-sha256 or hmac-sha512"),
            )
        })?,
    };
    let name = section.required("tsig_name")?;
    Name::parse(name)
        .map_err(|e| section.error("tsig_name", &format!("option 'tsig_name': {e}")))?;
    // The error must not echo the secret: config errors end up in logs.
    let key = Key::new(name, algorithm, &section.secret("tsig_secret")?).map_err(|_| {
        section.error(
            "tsig_secret",
            "option 'tsig_secret' is not valid base64: copy the secret from the server's key file",
        )
    })?;
    let zone = match section.optional("zone") {
        None => None,
        Some(z) => Some(
            Name::parse(z).map_err(|e| section.error("zone", &format!("option 'zone': {e}")))?,
        ),
    };
    Ok(Box::new(Rfc2136 {
        server,
        port,
        tcp: section.flag("tcp", false)?,
        key,
        zone,
        found: None,
        clock: env.clock,
    }))
}

struct Rfc2136<'a> {
    /// As configured, for messages and for resolving at each use (the
    /// router may have no DNS yet when the config is read).
    server: String,
    port: u16,
    /// Option `tcp`: every exchange over TCP.
    tcp: bool,
    key: Key,
    /// From option `zone`.
    zone: Option<Name>,
    /// The last zone found by SOA, with the name it was found for: a
    /// remove follows the add for the same name.
    found: Option<(Name, Name)>,
    clock: &'a dyn Clock,
}

impl Rfc2136<'_> {
    fn address(&self) -> Result<SocketAddr> {
        let addrs = net::resolve(&self.server, self.port).map_err(|e| {
            e.context(&format!(
                "rfc2136 server '{}' (check option server)",
                self.server
            ))
        })?;
        // `resolve` never returns an empty list.
        addrs
            .first()
            .copied()
            .ok_or_else(|| Error::Dns(format!("'{}' has no address", self.server)))
    }

    fn zone_for(&mut self, name: &Name, addr: SocketAddr) -> Result<Name> {
        if let Some(z) = &self.zone {
            return Ok(z.clone());
        }
        if let Some((n, z)) = &self.found
            && n == name
        {
            return Ok(z.clone());
        }
        // Not recursive: the zone that matters is the one `server` holds.
        let tcp = self.tcp;
        let zone = dns::find_zone(name, |n| net::query_via(addr, n, rtype::SOA, false, TIMEOUT, tcp)).map_err(|e| {
            Error::Dns(format!(
                "cannot find the zone of {name} at {}: {}; set option zone, or point server at the zone's primary",
                self.server,
                e.to_string().trim_start_matches("DNS: "),
            ))
        })?;
        self.found = Some((name.clone(), zone.clone()));
        Ok(zone)
    }

    /// Send one signed UPDATE for `fqdn`'s zone, its updates written by
    /// `updates`, and judge the answer. `what` says what it did, for the log.
    fn update(
        &mut self,
        fqdn: &str,
        what: &str,
        updates: impl FnOnce(Update, &Name) -> Update,
    ) -> Result<()> {
        let name = Name::parse(fqdn)?;
        let addr = self.address()?;
        let zone = self.zone_for(&name, addr)?;
        let msg = updates(Update::new(net::random_id()?, &zone), &name).build();
        let signed = tsig::sign(&self.key, &msg.encode()?, self.clock.now().as_secs())?;
        let raw = net::exchange_via(addr, &signed.bytes, TIMEOUT, self.tcp)?;
        let reply = Message::decode(&raw)?;
        let verified = tsig::verify(
            &self.key,
            &signed.mac,
            &raw,
            &reply,
            self.clock.now().as_secs(),
        );
        let attempt = Attempt {
            server: &self.server,
            zone: &zone,
            name: &name,
            key: &self.key,
        };
        judge(&attempt, reply.rcode(), verified).map_err(Error::Dns)?;
        log::debug!("{what} at {name} in zone {zone} via {}", self.server);
        Ok(())
    }
}

impl DnsProvider for Rfc2136<'_> {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.update(fqdn, "added a TXT value", |u, name| {
            u.add(name, rtype::TXT, TTL, RData::txt(value))
        })
    }

    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.update(fqdn, "removed a TXT value", |u, name| {
            u.delete(name, rtype::TXT, RData::txt(value))
        })
    }

    fn set_address(
        &mut self,
        fqdn: &str,
        family: Family,
        addrs: &[IpAddr],
        ttl: u32,
    ) -> Result<()> {
        let (rtype, data) = address_records(family, addrs).map_err(|a| {
            let (want, rr) = match family {
                Family::V4 => ("IPv4", "A"),
                Family::V6 => ("IPv6", "AAAA"),
            };
            Error::Dns(format!(
                "{a} is not an {want} address: cannot set the {rr} records at {fqdn}"
            ))
        })?;
        let what = format!("set {} address(es)", data.len());
        // Delete and add in one message: the server applies an UPDATE as a
        // whole, so no resolver ever sees the name without an address.
        self.update(fqdn, &what, |u, name| {
            data.into_iter().fold(u.delete_rrset(name, rtype), |u, d| {
                u.add(name, rtype, ttl, d)
            })
        })
    }
}

/// The record type and data for `addrs`, or the first address that is not
/// of `family`.
fn address_records(family: Family, addrs: &[IpAddr]) -> Result<(u16, Vec<RData>), IpAddr> {
    let data = addrs
        .iter()
        .map(|a| match (family, a) {
            (Family::V4, IpAddr::V4(ip)) => Ok(RData::A(*ip)),
            (Family::V6, IpAddr::V6(ip)) => Ok(RData::Aaaa(*ip)),
            _ => Err(*a),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rtype = match family {
        Family::V4 => rtype::A,
        Family::V6 => rtype::AAAA,
    };
    Ok((rtype, data))
}

/// What an update was about, for messages.
struct Attempt<'a> {
    server: &'a str,
    zone: &'a Name,
    name: &'a Name,
    key: &'a Key,
}

/// Accept the server's answer or say, in one line, what went wrong and what to
/// do: the answer's rcode and its TSIG check. An unsigned error answer is
/// still reported (a server that does not know our key cannot sign), but an
/// unsigned or badly signed success is not believed.
fn judge(a: &Attempt<'_>, code: u16, verified: Result<(), Failure>) -> Result<(), String> {
    let (server, zone, key) = (a.server, a.zone, a.key.name());
    let tsig_error = match verified {
        Err(Failure::Server(e)) => Some(e),
        Err(Failure::Unsigned) if code != rcode::NOERROR => None,
        Err(f) => {
            return Err(format!(
                "answer from {server} for zone {zone}: {f}; check tsig_name and tsig_secret"
            ));
        }
        Ok(()) => None,
    };
    let head = format!("{server} refused the update of zone {zone}");
    Err(match (tsig_error, code) {
        (None, rcode::NOERROR) => return Ok(()),
        (Some(rcode::BADKEY), _) => {
            format!(
                "{head}: it does not know TSIG key {key} (BADKEY): check tsig_name and tsig_algorithm against the server's key"
            )
        }
        (Some(rcode::BADSIG), _) => {
            format!(
                "{head}: the signature of TSIG key {key} does not match (BADSIG): check tsig_secret and tsig_algorithm"
            )
        }
        (Some(rcode::BADTIME), _) => format!(
            "{head}: our clock and the server's differ by more than {}s (BADTIME): sync the router's clock (NTP)",
            tsig::FUDGE
        ),
        (Some(e), _) => format!(
            "{head}: TSIG error {} with key {key}: check tsig_name and tsig_secret",
            rcode::name(e)
        ),
        (None, rcode::NOTAUTH) => format!(
            "{head} (NOTAUTH): it is not authoritative for the zone, or TSIG key {key} may not update it: check option zone, tsig_name/tsig_secret and the server's update ACL"
        ),
        (None, rcode::REFUSED) => format!(
            "{head} (REFUSED): check that the server's update ACL allows TSIG key {key} (tsig_name/tsig_secret) for this zone"
        ),
        (None, rcode::NOTZONE) => {
            format!(
                "{head} (NOTZONE): {} is not in that zone: fix option zone",
                a.name
            )
        }
        (None, rcode::NOTIMP) => {
            format!("{head} (NOTIMP): the server does not accept dynamic updates")
        }
        (None, c) => format!("{head} ({}) for {}", rcode::name(c), a.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Http, Request, Response};
    use crate::uci::{Opt, Section};

    struct NoHttp;
    impl Http for NoHttp {
        fn send(&self, _: &Request<'_>) -> Result<Response> {
            unreachable!()
        }
    }

    fn section(opts: &[(&str, &str)]) -> PluginSection {
        let options = opts
            .iter()
            .enumerate()
            .map(|(i, (k, v))| Opt {
                name: k.to_string(),
                values: vec![v.to_string()],
                is_list: false,
                line: i + 2,
            })
            .collect();
        PluginSection {
            file: "/etc/config/wancert".into(),
            name: "knot".into(),
            kind: "rfc2136".into(),
            section: Section {
                ty: "provider".into(),
                name: Some("knot".into()),
                line: 1,
                options,
            },
        }
    }

    fn build_err(opts: &[(&str, &str)]) -> String {
        let clock = crate::clock::FakeClock::at(0);
        let env = Env {
            http: &NoHttp,
            clock: &clock,
        };
        match build(&section(opts), &env) {
            Ok(_) => panic!("built"),
            Err(e) => e.to_string(),
        }
    }

    const GOOD: [(&str, &str); 3] = [
        ("server", "127.0.0.1"),
        ("tsig_name", "k."),
        ("tsig_secret", "c2VjcmV0"),
    ];

    #[test]
    fn config_errors_name_the_option_and_the_fix() {
        let e = build_err(&GOOD[1..]);
        assert!(
            e.contains(":1:") && e.contains("'server' is missing"),
            "{e}"
        );
        let e = build_err(&[GOOD[0], GOOD[1], ("tsig_secret", "not base64!")]);
        assert!(
            e.contains(":4:") && e.contains("tsig_secret") && !e.contains("not base64!"),
            "{e}"
        );
        let e = build_err(&[GOOD[0], GOOD[1], GOOD[2], ("tsig_algorithm", "hmac-md5")]);
        assert!(e.contains("use hmac-sha256 or hmac-sha512"), "{e}");
        let e = build_err(&[GOOD[0], GOOD[1], GOOD[2], ("port", "99999")]);
        assert!(e.contains("'port' must be a port number"), "{e}");
        let e = build_err(&[GOOD[0], GOOD[1], GOOD[2], ("zone", "a..b")]);
        assert!(e.contains("option 'zone'"), "{e}");
    }

    #[test]
    fn builds_from_good_options() {
        let clock = crate::clock::FakeClock::at(0);
        let env = Env {
            http: &NoHttp,
            clock: &clock,
        };
        assert!(build(&section(&GOOD), &env).is_ok());
    }

    #[test]
    fn address_records_keep_to_one_family() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            address_records(Family::V4, &[v4]),
            Ok((rtype::A, vec![RData::A("192.0.2.1".parse().unwrap())]))
        );
        assert_eq!(
            address_records(Family::V6, &[v6]),
            Ok((
                rtype::AAAA,
                vec![RData::Aaaa("2001:db8::1".parse().unwrap())]
            ))
        );
        assert_eq!(address_records(Family::V6, &[]), Ok((rtype::AAAA, vec![])));
        assert_eq!(address_records(Family::V4, &[v4, v6]), Err(v6));
    }

    #[test]
    fn option_tcp_is_a_boolean() {
        let e = build_err(&[GOOD[0], GOOD[1], GOOD[2], ("tcp", "tcp")]);
        assert!(e.contains("option tcp 'tcp' is not a boolean"), "{e}");
    }

    fn judged(code: u16, verified: Result<(), Failure>) -> Result<(), String> {
        let key = Key::new("wancert-key", Algorithm::HmacSha256, "c2VjcmV0").unwrap();
        let zone = Name::parse("wancert.test").unwrap();
        let name = Name::parse("_acme-challenge.wancert.test").unwrap();
        judge(
            &Attempt {
                server: "ns.example",
                zone: &zone,
                name: &name,
                key: &key,
            },
            code,
            verified,
        )
    }

    #[test]
    fn answers_are_judged_with_clear_messages() {
        assert_eq!(judged(rcode::NOERROR, Ok(())), Ok(()));
        let e = judged(rcode::NOTAUTH, Err(Failure::Server(rcode::BADSIG))).unwrap_err();
        assert!(
            e.contains("ns.example") && e.contains("wancert.test") && e.contains("BADSIG"),
            "{e}"
        );
        assert!(e.contains("check tsig_secret"), "{e}");
        let e = judged(rcode::NOTAUTH, Err(Failure::Server(rcode::BADKEY))).unwrap_err();
        assert!(
            e.contains("TSIG key wancert-key") && e.contains("tsig_name"),
            "{e}"
        );
        let e = judged(rcode::NOTAUTH, Err(Failure::Server(rcode::BADTIME))).unwrap_err();
        assert!(e.contains("NTP"), "{e}");
        let e = judged(rcode::NOTAUTH, Err(Failure::Unsigned)).unwrap_err();
        assert!(e.contains("NOTAUTH") && e.contains("update ACL"), "{e}");
        let e = judged(rcode::REFUSED, Ok(())).unwrap_err();
        assert!(e.contains("REFUSED") && e.contains("update ACL"), "{e}");
        // A success that is unsigned or badly signed is not believed.
        let e = judged(rcode::NOERROR, Err(Failure::Unsigned)).unwrap_err();
        assert!(e.contains("not TSIG-signed"), "{e}");
        let e = judged(rcode::NOERROR, Err(Failure::BadMac)).unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
    }
}
