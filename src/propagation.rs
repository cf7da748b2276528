//! Wait until every server the CA may ask answers the challenge TXT values.
//!
//! The servers are the configured `propagation_server`s, or else the zone's
//! authoritative servers, found the way uacme's `nsupdate.sh` does: follow a
//! CNAME at the name, find the zone by SOA, take its NS set and ask each
//! address directly. The DNS questions go through `Resolver`, so the loop and
//! its decisions are tested with a fake resolver and a fake clock.

use std::net::SocketAddr;
use std::time::Duration;

use crate::clock::Clock;
use crate::dns::wire::{Message, Name, RData, rcode, rtype};
use crate::dns::{self, net};
use crate::{Error, Result};

/// Where to look and how long to wait.
pub struct Check<'a> {
    /// `host:port` servers to ask; empty means discover the zone's
    /// authoritative servers.
    pub servers: &'a [String],
    pub timeout: Duration,
    pub interval: Duration,
}

/// Progress is logged at most this often, so a long wait is neither silent
/// nor noisy.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// For one question; a server slower than this counts as not answering yet.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// CNAME chains longer than this are treated as loops.
const MAX_CNAMES: usize = 8;

/// Block until every server answers every one of `values` for TXT `fqdn`, or
/// the timeout passes. Logs a progress line while waiting.
pub fn wait_for_txt(
    check: &Check<'_>,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
) -> Result<()> {
    wait_with(check, fqdn, values, clock, &mut Net)
}

/// The DNS questions the check asks: the network in production, a fake in tests.
pub trait Resolver {
    /// Ask `server` one question; `recursion` sets RD.
    fn query(
        &mut self,
        server: SocketAddr,
        name: &Name,
        qtype: u16,
        recursion: bool,
    ) -> Result<Message>;
    /// The system's recursive resolver.
    fn system(&mut self) -> Result<SocketAddr>;
    /// The addresses of a configured `host[:port]` server.
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>>;
}

struct Net;

impl Resolver for Net {
    fn query(
        &mut self,
        server: SocketAddr,
        name: &Name,
        qtype: u16,
        recursion: bool,
    ) -> Result<Message> {
        net::query(server, name, qtype, recursion, QUERY_TIMEOUT)
    }
    fn system(&mut self) -> Result<SocketAddr> {
        net::system_resolver()
    }
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
        net::resolve(host_port, 53)
    }
}

/// One server to ask.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    /// How messages name it: as configured, or `ns1.example.com (192.0.2.1)`.
    label: String,
    addr: SocketAddr,
}

/// What one server answered in one round: the TXT values, or why none.
struct Seen<'t> {
    target: &'t Target,
    answer: Result<Vec<String>, String>,
}

impl Seen<'_> {
    fn has_all(&self, values: &[&str]) -> bool {
        self.answer
            .as_ref()
            .is_ok_and(|got| values.iter().all(|v| got.iter().any(|g| g == v)))
    }

    /// `ns1 (192.0.2.1) answered "a", "b"`, for messages.
    fn describe(&self) -> String {
        match &self.answer {
            Ok(got) if got.is_empty() => format!("{} answered no TXT", self.target.label),
            Ok(got) => {
                let got: Vec<String> = got.iter().map(|g| format!("{g:?}")).collect();
                format!("{} answered {}", self.target.label, got.join(", "))
            }
            Err(e) => format!("{}: {e}", self.target.label),
        }
    }
}

/// The servers to ask, whether to ask them recursively, and the name to ask
/// for (the CNAME target when discovery followed one).
fn targets(
    check: &Check<'_>,
    fqdn: &Name,
    r: &mut dyn Resolver,
) -> Result<(Vec<Target>, bool, Name)> {
    if !check.servers.is_empty() {
        let mut out = Vec::new();
        for s in check.servers {
            let addrs = r.resolve(s).map_err(|e| e.context("propagation_server"))?;
            let many = addrs.len() > 1;
            out.extend(addrs.into_iter().map(|addr| Target {
                label: if many {
                    format!("{s} ({})", addr.ip())
                } else {
                    s.clone()
                },
                addr,
            }));
        }
        // Configured servers may be public resolvers, which answer only
        // recursive questions and follow CNAMEs themselves.
        return Ok((out, true, fqdn.clone()));
    }
    let system = r.system()?;
    let first = r.query(system, fqdn, rtype::TXT, true)?;
    let name = cname_target(&first, fqdn);
    if name != *fqdn {
        log::info!("{fqdn} is a CNAME: checking its target {name}");
    }
    let zone = dns::find_zone(&name, |n| r.query(system, n, rtype::SOA, true))?;
    let ns = r.query(system, &zone, rtype::NS, true)?;
    let ns: Vec<Name> = ns
        .answers
        .iter()
        .filter(|rr| rr.name == zone)
        .filter_map(|rr| match &rr.data {
            RData::Ns(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    if ns.is_empty() {
        return Err(Error::Dns(format!("zone {zone} has no NS records")));
    }
    let mut out = Vec::new();
    for host in &ns {
        for qtype in [rtype::A, rtype::AAAA] {
            let m = match r.query(system, host, qtype, true) {
                Ok(m) => m,
                // A host without one address family, or a resolver that
                // fails one question, still leaves the other addresses.
                Err(e) => {
                    log::warn!("cannot look up the address of name server {host}: {e}");
                    continue;
                }
            };
            for rr in &m.answers {
                let ip = match rr.data {
                    RData::A(ip) => ip.into(),
                    RData::Aaaa(ip) => ip.into(),
                    _ => continue,
                };
                let addr = SocketAddr::new(ip, 53);
                out.push(Target {
                    label: format!("{host} ({ip})"),
                    addr,
                });
            }
        }
    }
    if out.is_empty() {
        let names: Vec<String> = ns.iter().map(Name::to_string).collect();
        return Err(Error::Dns(format!(
            "no address for the name servers of {zone} ({})",
            names.join(", ")
        )));
    }
    Ok((out, false, name))
}

/// Where a CNAME chain starting at `name` in `m`'s answer section ends.
fn cname_target(m: &Message, name: &Name) -> Name {
    let mut at = name.clone();
    for _ in 0..MAX_CNAMES {
        let next = m.answers.iter().find_map(|rr| match &rr.data {
            RData::Cname(t) if rr.name == at => Some(t.clone()),
            _ => None,
        });
        match next {
            Some(t) => at = t,
            None => break,
        }
    }
    at
}

/// The TXT values for `name` in an answer, following a CNAME chain in it.
fn txt_answer(m: &Message, name: &Name) -> Result<Vec<String>, String> {
    match m.rcode() {
        // NXDOMAIN: the name does not exist (yet); that is an empty answer.
        rcode::NOERROR | rcode::NXDOMAIN => Ok(m.txt_values(&cname_target(m, name))),
        c => Err(format!("answered {}", rcode::name(c))),
    }
}

fn wait_with(
    check: &Check<'_>,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
    r: &mut dyn Resolver,
) -> Result<()> {
    let start = clock.now();
    let deadline = start + check.timeout;
    let fqdn = Name::parse(fqdn)?;
    let (targets, recursion, name) = targets(check, &fqdn, r).map_err(|e| {
        let e = e.to_string();
        let e = e.strip_prefix("DNS: ").unwrap_or(&e);
        Error::Dns(format!(
            "cannot find the servers to check TXT {fqdn} on: {e}; set list propagation_server"
        ))
    })?;
    let mut last_log: Option<Duration> = None;
    loop {
        let seen: Vec<Seen<'_>> = targets
            .iter()
            .map(|t| Seen {
                target: t,
                answer: r
                    .query(t.addr, &name, rtype::TXT, recursion)
                    .map_err(|e| e.to_string())
                    .and_then(|m| txt_answer(&m, &name)),
            })
            .collect();
        let now = clock.now();
        let spent = now.saturating_sub(start).as_secs();
        let (ready, waiting): (Vec<&Seen<'_>>, Vec<&Seen<'_>>) =
            seen.iter().partition(|s| s.has_all(values));
        if waiting.is_empty() {
            log::info!(
                "TXT {fqdn} is seen by all {} servers after {spent}s",
                ready.len()
            );
            return Ok(());
        }
        if now >= deadline {
            let why: Vec<String> = waiting.iter().map(|s| s.describe()).collect();
            return Err(Error::Timeout(format!(
                "TXT {fqdn} was not seen by {} of {} servers after {spent}s ({}): raise propagation_timeout, or set list propagation_server",
                waiting.len(),
                seen.len(),
                why.join("; ")
            )));
        }
        if last_log.is_none_or(|t| now.saturating_sub(t) >= LOG_EVERY) {
            let left = deadline.saturating_sub(now).as_secs();
            let labels = |v: &[&Seen<'_>]| {
                v.iter()
                    .map(|s| s.target.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let seen_by = if ready.is_empty() {
                String::new()
            } else {
                format!(" ({})", labels(&ready))
            };
            log::info!(
                "TXT {fqdn}: seen by {}/{} servers{seen_by}; waiting for {}; {spent}s spent, {left}s left",
                ready.len(),
                seen.len(),
                labels(&waiting),
            );
            last_log = Some(now);
        }
        clock.sleep(check.interval.min(deadline.saturating_sub(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::dns::wire::{Record, Soa, class, flag};
    use std::cell::RefCell;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn rr(owner: &str, data: RData) -> Record {
        let rtype = match &data {
            RData::A(_) => rtype::A,
            RData::Aaaa(_) => rtype::AAAA,
            RData::Ns(_) => rtype::NS,
            RData::Cname(_) => rtype::CNAME,
            RData::Soa(_) => rtype::SOA,
            _ => rtype::TXT,
        };
        Record {
            name: name(owner),
            rtype,
            class: class::IN,
            ttl: 60,
            data,
        }
    }

    fn reply(code: u16, answers: Vec<Record>) -> Message {
        Message {
            flags: flag::QR | code,
            answers,
            ..Message::default()
        }
    }

    /// Answers from a function of (server, name, type, RD, seconds since start).
    struct Fake<'c, F> {
        clock: &'c FakeClock,
        answer: F,
        asked: RefCell<Vec<String>>,
    }

    impl<F: FnMut(&str, &str, u16, bool, u64) -> Result<Message>> Resolver for Fake<'_, F> {
        fn query(&mut self, server: SocketAddr, n: &Name, qtype: u16, rd: bool) -> Result<Message> {
            self.asked
                .borrow_mut()
                .push(format!("{server} {n} {qtype} {rd}"));
            let t = self.clock.now().as_secs() - 1000;
            (self.answer)(&server.to_string(), &n.to_string(), qtype, rd, t)
        }
        fn system(&mut self) -> Result<SocketAddr> {
            Ok("10.0.0.1:53".parse().unwrap())
        }
        fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
            net::resolve(host_port, 53)
        }
    }

    fn check(servers: &[String]) -> Check<'_> {
        Check {
            servers,
            timeout: Duration::from_secs(60),
            interval: Duration::from_secs(5),
        }
    }

    #[test]
    fn waits_until_every_configured_server_answers_all_values() {
        let clock = FakeClock::at(1000);
        let servers = ["192.0.2.1:53".to_string(), "192.0.2.2:5353".to_string()];
        let mut fake = Fake {
            clock: &clock,
            asked: RefCell::default(),
            answer: |server: &str, n: &str, _q: u16, rd: bool, t: u64| {
                assert!(rd, "configured servers are asked recursively");
                let mut vals = vec![rr(n, RData::txt("a"))];
                // The second server gets "b" only after 20 seconds.
                if server == "192.0.2.1:53" || t >= 20 {
                    vals.push(rr(n, RData::txt("b")));
                }
                Ok(reply(rcode::NOERROR, vals))
            },
        };
        wait_with(
            &check(&servers),
            "_acme-challenge.x.test",
            &["a", "b"],
            &clock,
            &mut fake,
        )
        .unwrap();
        assert_eq!(clock.now().as_secs(), 1020);
    }

    #[test]
    fn times_out_naming_the_record_the_laggards_and_the_fix() {
        let clock = FakeClock::at(1000);
        let servers = [
            "192.0.2.1".to_string(),
            "192.0.2.2".to_string(),
            "192.0.2.3".to_string(),
        ];
        let mut fake = Fake {
            clock: &clock,
            asked: RefCell::default(),
            answer: |server: &str, n: &str, _q: u16, _rd: bool, _t: u64| match server {
                "192.0.2.1:53" => Ok(reply(rcode::NOERROR, vec![rr(n, RData::txt("a"))])),
                "192.0.2.2:53" => Ok(reply(rcode::NOERROR, vec![rr(n, RData::txt("old"))])),
                _ => Ok(reply(rcode::SERVFAIL, vec![])),
            },
        };
        let e = wait_with(
            &check(&servers),
            "_acme-challenge.x.test",
            &["a"],
            &clock,
            &mut fake,
        )
        .unwrap_err();
        assert_eq!(
            clock.now().as_secs(),
            1060,
            "gives up at the deadline, not later"
        );
        assert_eq!(
            e.to_string(),
            "timed out: TXT _acme-challenge.x.test was not seen by 2 of 3 servers after 60s \
             (192.0.2.2 answered \"old\"; 192.0.2.3: answered SERVFAIL): \
             raise propagation_timeout, or set list propagation_server"
        );
        // Every 5 s from 0 to 60 inclusive: 13 rounds of 3 questions.
        assert_eq!(fake.asked.borrow().len(), 13 * 3);
    }

    fn soa() -> RData {
        RData::Soa(Soa {
            mname: name("ns1.example.com"),
            rname: name("admin.example.com"),
            serial: 1,
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum: 1,
        })
    }

    #[test]
    fn discovers_the_authoritative_servers_through_a_cname() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake {
            clock: &clock,
            asked: RefCell::default(),
            answer: |server: &str, n: &str, q: u16, rd: bool, _t: u64| {
                let sys = server == "10.0.0.1:53";
                assert_eq!(sys, rd, "RD only towards the system resolver");
                Ok(match (server, n, q) {
                    (_, "_acme-challenge.www.example.org", rtype::TXT) => reply(
                        rcode::NOERROR,
                        vec![rr(n, RData::Cname(name("www.acme.example.com")))],
                    ),
                    ("10.0.0.1:53", "www.acme.example.com", rtype::SOA) => {
                        let mut m = reply(rcode::NXDOMAIN, vec![]);
                        m.authority.push(rr("example.com", soa()));
                        m
                    }
                    ("10.0.0.1:53", "example.com", rtype::NS) => reply(
                        rcode::NOERROR,
                        vec![
                            rr(n, RData::Ns(name("ns1.example.com"))),
                            rr(n, RData::Ns(name("ns2.example.net"))),
                        ],
                    ),
                    ("10.0.0.1:53", "ns1.example.com", rtype::A) => {
                        reply(rcode::NOERROR, vec![rr(n, RData::A([192, 0, 2, 1].into()))])
                    }
                    ("10.0.0.1:53", "ns2.example.net", rtype::AAAA) => reply(
                        rcode::NOERROR,
                        vec![rr(n, RData::Aaaa("2001:db8::2".parse().unwrap()))],
                    ),
                    ("10.0.0.1:53", _, rtype::A | rtype::AAAA) => reply(rcode::NOERROR, vec![]),
                    (_, "www.acme.example.com", rtype::TXT) => {
                        reply(rcode::NOERROR, vec![rr(n, RData::txt("tok"))])
                    }
                    other => panic!("unexpected question {other:?}"),
                })
            },
        };
        wait_with(
            &check(&[]),
            "_acme-challenge.www.example.org",
            &["tok"],
            &clock,
            &mut fake,
        )
        .unwrap();
        let asked = fake.asked.borrow();
        assert!(
            asked.contains(&"192.0.2.1:53 www.acme.example.com 16 false".to_string()),
            "{asked:?}"
        );
        assert!(
            asked.contains(&"[2001:db8::2]:53 www.acme.example.com 16 false".to_string()),
            "{asked:?}"
        );
    }

    #[test]
    fn a_zone_without_reachable_servers_is_an_error_with_the_fix() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake {
            clock: &clock,
            asked: RefCell::default(),
            answer: |_s: &str, n: &str, q: u16, _rd: bool, _t: u64| {
                Ok(match q {
                    rtype::SOA => reply(rcode::NOERROR, vec![rr(n, soa())]),
                    rtype::NS => reply(
                        rcode::NOERROR,
                        vec![rr(n, RData::Ns(name("ns.gone.example")))],
                    ),
                    _ => reply(rcode::NOERROR, vec![]),
                })
            },
        };
        let e = wait_with(&check(&[]), "x.example.com", &["v"], &clock, &mut fake)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "DNS: cannot find the servers to check TXT x.example.com on: no address for the name servers \
             of x.example.com (ns.gone.example); set list propagation_server"
        );
    }

    #[test]
    fn nxdomain_is_an_empty_answer_and_cnames_are_followed_in_answers() {
        let m = reply(rcode::NXDOMAIN, vec![]);
        assert_eq!(txt_answer(&m, &name("a.b")), Ok(vec![]));
        let m = reply(
            rcode::NOERROR,
            vec![
                rr("a.b", RData::Cname(name("c.d"))),
                rr("c.d", RData::txt("v")),
                rr("x.y", RData::txt("no")),
            ],
        );
        assert_eq!(txt_answer(&m, &name("a.b")), Ok(vec!["v".to_string()]));
        assert_eq!(
            txt_answer(&reply(rcode::REFUSED, vec![]), &name("a.b")),
            Err("answered REFUSED".into())
        );
    }
}
