//! Wait until the servers the CA may ask answer the challenge TXT values.
//!
//! Layered, in this order:
//! 1. Ask the configured `propagation_server`s (recursively: they may be
//!    resolvers), or else the zone's authoritative servers, found the way
//!    uacme's `nsupdate.sh` does: follow a CNAME at the name, find the zone
//!    by SOA, take its NS set and ask each address directly, without
//!    recursion.
//! 2. When not one of them gives a usable answer — port 53 is blocked, or a
//!    middlebox intercepts it and answers in their place, which shows as
//!    answers without the AA bit from servers that must be authoritative —
//!    go on through DoH resolvers (RFC 8484, `list doh_server`).
//! 3. All of it is bounded by `propagation_timeout`, asked again every
//!    `propagation_interval`, with a progress line. `propagation_wait`
//!    replaces the whole check with a fixed wait.
//!
//! The decisions (`judge`, when to fall back, what to report) are pure; the
//! questions go through `Resolver`, so they are tested with a fake resolver
//! and a fake clock.

use std::net::SocketAddr;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Propagation;
use crate::dns::wire::{Message, Name, RData, flag, rcode, rtype};
use crate::dns::{self, doh, net};
use crate::http::Http;
use crate::{Error, Result};

/// Progress is logged at most this often, so a long wait is neither silent
/// nor noisy.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// For one question; a server slower than this counts as not answering yet.
const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// CNAME chains longer than this are treated as loops.
const MAX_CNAMES: usize = 8;

/// What the check found, server by server: what `wancert dns-test` prints.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The answers came from DoH resolvers: port 53 was blocked or
    /// intercepted.
    pub via_doh: bool,
    /// With `via_doh`: what the servers asked on port 53 answered, which
    /// made the check turn to DoH.
    pub port53: Vec<ServerState>,
    /// One entry per server, in the order they were asked.
    pub servers: Vec<ServerState>,
    /// Seconds from the start to the verdict.
    pub spent: u64,
}

/// What one server answered last.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerState {
    /// `ns1.example.com (192.0.2.1)`, `192.0.2.53:53` or a DoH URL.
    pub label: String,
    /// It answered every value.
    pub sees: bool,
    /// Whether its answer counts: a server that is not authoritative, or a
    /// DoH resolver that cannot be reached while others can, is ignored.
    pub counts: bool,
    /// What it answered, for people: `answered "a", "b"`, `no answer ...`.
    pub detail: String,
}

/// Block until the values are visible, or the timeout passes (an error that
/// names the servers that do not answer them, and the fix). With
/// `propagation_wait` set, skip the check and sleep that long instead.
pub fn wait_for_txt(
    check: &Propagation,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
    http: &dyn Http,
) -> Result<()> {
    wait_with(check, fqdn, values, clock, &mut Net { http })
}

/// Run the check, also when `propagation_wait` is set, and say what each
/// server answered at the end.
pub fn check_txt(
    check: &Propagation,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
    http: &dyn Http,
) -> (Report, Result<()>) {
    run(check, fqdn, values, clock, &mut Net { http })
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
    /// Ask the DoH resolver at `url` one (recursive) question.
    fn doh(&mut self, url: &str, name: &Name, qtype: u16) -> Result<Message>;
    /// The system's recursive resolver.
    fn system(&mut self) -> Result<SocketAddr>;
    /// The addresses of a configured `host[:port]` server.
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>>;
    /// Whether this host has a route to `addr` at all.
    fn routable(&mut self, addr: SocketAddr) -> bool;
}

struct Net<'h> {
    http: &'h dyn Http,
}

impl Resolver for Net<'_> {
    fn query(
        &mut self,
        server: SocketAddr,
        name: &Name,
        qtype: u16,
        recursion: bool,
    ) -> Result<Message> {
        net::query(server, name, qtype, recursion, QUERY_TIMEOUT)
    }
    fn doh(&mut self, url: &str, name: &Name, qtype: u16) -> Result<Message> {
        doh::query(self.http, url, name, qtype)
    }
    fn system(&mut self) -> Result<SocketAddr> {
        net::system_resolver()
    }
    fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
        net::resolve(host_port, 53)
    }
    fn routable(&mut self, addr: SocketAddr) -> bool {
        net::routable(addr)
    }
}

/// Which servers are asked, which decides what their answers mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The zone's authoritative servers, asked without recursion: their
    /// answers must carry AA.
    Authoritative,
    /// `list propagation_server`, asked with recursion.
    Configured,
    /// `list doh_server`.
    Doh,
}

/// One server to ask.
#[derive(Debug, Clone, PartialEq)]
enum Endpoint {
    Udp(SocketAddr),
    Doh(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Target {
    /// How messages name it: as configured, or `ns1.example.com (192.0.2.1)`.
    label: String,
    at: Endpoint,
}

/// What one server answered in one round.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    /// The TXT values at the name (none: not there yet).
    Values(Vec<String>),
    /// An answer without AA, with this rcode, from a server that must be
    /// authoritative: a lame server, or a resolver answering in its place.
    NotAuthoritative(u16),
    /// An error rcode (SERVFAIL, REFUSED, ...).
    Failed(u16),
    /// No answer at all (timeout, refused, unreachable, HTTP failure).
    Silent(String),
}

impl Answer {
    fn from_reply(kind: Kind, name: &Name, reply: Result<Message>) -> Answer {
        let m = match reply {
            Ok(m) => m,
            Err(e) => return Answer::Silent(without_prefix(&e)),
        };
        if kind == Kind::Authoritative && m.flags & flag::AA == 0 {
            return Answer::NotAuthoritative(m.rcode());
        }
        match m.rcode() {
            // NXDOMAIN: the name does not exist (yet); that is no value.
            rcode::NOERROR | rcode::NXDOMAIN => Answer::Values(txt_answer(&m, name)),
            c => Answer::Failed(c),
        }
    }

    fn has_all(&self, values: &[&str]) -> bool {
        match self {
            Answer::Values(got) => values.iter().all(|v| got.iter().any(|g| g == v)),
            _ => false,
        }
    }

    /// Whether the answer counts towards "seen by every server". One that
    /// is not authoritative tells nothing about the zone; DoH resolvers are
    /// stand-ins for the same servers, so one that cannot be reached or
    /// fails is left out as long as another answers.
    fn counts(&self, kind: Kind) -> bool {
        !matches!(
            (kind, self),
            (Kind::Authoritative, Answer::NotAuthoritative(_))
                | (Kind::Doh, Answer::Silent(_) | Answer::Failed(_))
        )
    }

    /// `answered "a", "b"`, for messages.
    fn detail(&self) -> String {
        match self {
            Answer::Values(got) if got.is_empty() => "answered no TXT".into(),
            Answer::Values(got) => {
                let got: Vec<String> = got.iter().map(|g| format!("{g:?}")).collect();
                format!("answered {}", got.join(", "))
            }
            Answer::NotAuthoritative(c) => format!(
                "answered {} without authority (no AA bit): not authoritative, or port 53 is intercepted",
                rcode::name(*c)
            ),
            Answer::Failed(c) => format!("answered {}", rcode::name(*c)),
            Answer::Silent(e) => e.clone(),
        }
    }
}

/// The verdict on one round of answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Every server that counts answers every value.
    Seen,
    /// Some do not yet.
    Waiting,
    /// Not one server gave a usable answer: nothing can be learned from
    /// these servers (blocked, intercepted, or all failing).
    Unusable,
}

fn judge(kind: Kind, answers: &[Answer], values: &[&str]) -> Verdict {
    if !answers.iter().any(|a| matches!(a, Answer::Values(_))) {
        return Verdict::Unusable;
    }
    // At least one `Values` counts, so "all" is never vacuous.
    match answers
        .iter()
        .filter(|a| a.counts(kind))
        .all(|a| a.has_all(values))
    {
        true => Verdict::Seen,
        false => Verdict::Waiting,
    }
}

/// An error's message without the `DNS: ` its display adds.
fn without_prefix(e: &Error) -> String {
    let s = e.to_string();
    s.strip_prefix("DNS: ").unwrap_or(&s).to_string()
}

/// The servers to ask and how, and the name to ask for (the CNAME target
/// when discovery followed one).
fn targets(
    check: &Propagation,
    fqdn: &Name,
    r: &mut dyn Resolver,
) -> Result<(Kind, Vec<Target>, Name)> {
    if !check.servers.is_empty() {
        let mut out = Vec::new();
        for s in &check.servers {
            let addrs = r.resolve(s).map_err(|e| e.context("propagation_server"))?;
            let many = addrs.len() > 1;
            out.extend(addrs.into_iter().map(|addr| Target {
                label: if many {
                    format!("{s} ({})", addr.ip())
                } else {
                    s.clone()
                },
                at: Endpoint::Udp(addr),
            }));
        }
        // Configured servers may be public resolvers, which answer only
        // recursive questions and follow CNAMEs themselves.
        return Ok((Kind::Configured, out, fqdn.clone()));
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
                out.push(Target {
                    label: format!("{host} ({ip})"),
                    at: Endpoint::Udp(SocketAddr::new(ip, 53)),
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
    // An IPv4-only router has no route to the IPv6 addresses: waiting for
    // them would only run into the timeout. If none is routable, keep all,
    // and let their silence lead to DoH.
    let (near, far): (Vec<Target>, Vec<Target>) = out.into_iter().partition(|t| match t.at {
        Endpoint::Udp(a) => r.routable(a),
        Endpoint::Doh(_) => true,
    });
    if near.is_empty() {
        return Ok((Kind::Authoritative, far, name));
    }
    if !far.is_empty() {
        let labels: Vec<&str> = far.iter().map(|t| t.label.as_str()).collect();
        log::info!(
            "not asking {}: no route to them from here",
            labels.join(", ")
        );
    }
    Ok((Kind::Authoritative, near, name))
}

fn doh_targets(check: &Propagation) -> Vec<Target> {
    check
        .doh_servers
        .iter()
        .map(|url| Target {
            label: url.clone(),
            at: Endpoint::Doh(url.clone()),
        })
        .collect()
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
fn txt_answer(m: &Message, name: &Name) -> Vec<String> {
    m.txt_values(&cname_target(m, name))
}

fn wait_with(
    check: &Propagation,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
    r: &mut dyn Resolver,
) -> Result<()> {
    if let Some(wait) = check.wait {
        log::info!(
            "TXT {fqdn}: propagation check skipped on purpose (option propagation_wait): waiting {}s",
            wait.as_secs()
        );
        clock.sleep(wait);
        return Ok(());
    }
    run(check, fqdn, values, clock, r).1
}

/// What each server answered in one round. When not one gave a usable
/// answer, all count: each is a server that does not see the values.
fn states(targets: &[Target], answers: &[Answer], kind: Kind, values: &[&str]) -> Vec<ServerState> {
    let unusable = judge(kind, answers, values) == Verdict::Unusable;
    targets
        .iter()
        .zip(answers)
        .map(|(t, a)| ServerState {
            label: t.label.clone(),
            sees: a.has_all(values),
            counts: unusable || a.counts(kind),
            detail: a.detail(),
        })
        .collect()
}

/// `a, b` for the servers of `report` that `pick` selects.
fn labels(report: &Report, pick: impl Fn(&ServerState) -> bool) -> String {
    let v: Vec<&str> = report
        .servers
        .iter()
        .filter(|s| pick(s))
        .map(|s| s.label.as_str())
        .collect();
    v.join(", ")
}

/// The error when time is up: who does not see the values, what they
/// answered, and the fix.
fn gave_up(fqdn: &Name, rep: &Report) -> Error {
    let why: Vec<String> = rep
        .servers
        .iter()
        .filter(|s| s.counts && !s.sees)
        .map(|s| format!("{}: {}", s.label, s.detail))
        .collect();
    let asked = rep.servers.iter().filter(|s| s.counts).count();
    let (via, fix) = match rep.via_doh {
        true => (
            " through DoH",
            "raise propagation_timeout (resolvers may hold an earlier \"no such name\" for the zone's negative TTL), or check list doh_server",
        ),
        false => (
            "",
            "raise propagation_timeout, or set list propagation_server",
        ),
    };
    Error::Timeout(format!(
        "TXT {fqdn} was not seen by {} of {asked} servers{via} after {}s ({}): {fix}",
        why.len(),
        rep.spent,
        why.join("; "),
    ))
}

/// The progress line: who sees the values, who is waited for, who is
/// ignored, time spent and left.
fn progress(fqdn: &Name, rep: &Report, left: Duration) -> String {
    let ready = labels(rep, |s| s.sees);
    let ignored = labels(rep, |s| !s.counts);
    format!(
        "TXT {fqdn}: seen by {}/{} servers{}{}; waiting for {}{}; {}s spent, {}s left",
        rep.servers.iter().filter(|s| s.sees).count(),
        rep.servers.iter().filter(|s| s.counts).count(),
        if rep.via_doh { " (DoH)" } else { "" },
        if ready.is_empty() {
            String::new()
        } else {
            format!(" ({ready})")
        },
        labels(rep, |s| s.counts && !s.sees),
        if ignored.is_empty() {
            String::new()
        } else {
            format!("; ignoring {ignored}")
        },
        rep.spent,
        left.as_secs(),
    )
}

fn run(
    check: &Propagation,
    fqdn: &str,
    values: &[&str],
    clock: &dyn Clock,
    r: &mut dyn Resolver,
) -> (Report, Result<()>) {
    let start = clock.now();
    let deadline = start + check.timeout;
    let fqdn = match Name::parse(fqdn) {
        Ok(n) => n,
        Err(e) => return (Report::default(), Err(e)),
    };
    let (mut kind, mut targets, name) = match targets(check, &fqdn, r) {
        Ok(t) => t,
        Err(e) if !check.doh_servers.is_empty() => {
            log::warn!(
                "cannot find the servers to check TXT {fqdn} on ({}): asking DoH resolvers instead",
                without_prefix(&e)
            );
            (Kind::Doh, doh_targets(check), fqdn.clone())
        }
        Err(e) => {
            let e = Error::Dns(format!(
                "cannot find the servers to check TXT {fqdn} on: {}; set list propagation_server",
                without_prefix(&e)
            ));
            return (Report::default(), Err(e));
        }
    };
    // A DoH resolver that cannot be reached while another can is not asked
    // again: a blocked one may cost a whole HTTP timeout each round.
    let mut skip = vec![false; targets.len()];
    let mut answers: Vec<Answer> = vec![Answer::Silent("not asked".into()); targets.len()];
    let mut port53 = Vec::new();
    let mut last_log: Option<Duration> = None;
    loop {
        // Resolvers follow CNAMEs themselves; ask them what the CA asks.
        let asked = if kind == Kind::Doh { &fqdn } else { &name };
        for (i, t) in targets.iter().enumerate() {
            if skip[i] {
                continue;
            }
            let reply = match &t.at {
                Endpoint::Udp(a) => r.query(*a, asked, rtype::TXT, kind != Kind::Authoritative),
                Endpoint::Doh(url) => r.doh(url, asked, rtype::TXT),
            };
            answers[i] = Answer::from_reply(kind, asked, reply);
        }
        let now = clock.now();
        let spent = now.saturating_sub(start).as_secs();
        let rep = Report {
            via_doh: kind == Kind::Doh,
            port53: port53.clone(),
            servers: states(&targets, &answers, kind, values),
            spent,
        };
        match judge(kind, &answers, values) {
            Verdict::Seen => {
                log::info!(
                    "TXT {fqdn} is seen by all {} servers{} after {spent}s",
                    rep.servers.iter().filter(|s| s.counts).count(),
                    if kind == Kind::Doh {
                        " (through DoH)"
                    } else {
                        ""
                    }
                );
                return (rep, Ok(()));
            }
            Verdict::Unusable if kind != Kind::Doh && !check.doh_servers.is_empty() => {
                let why: Vec<String> = rep
                    .servers
                    .iter()
                    .map(|s| format!("{}: {}", s.label, s.detail))
                    .collect();
                log::warn!(
                    "TXT {fqdn}: no server gave a usable answer on port 53 ({}): it looks blocked or intercepted; asking DoH resolvers instead ({})",
                    why.join("; "),
                    check.doh_servers.join(", ")
                );
                port53 = rep.servers;
                kind = Kind::Doh;
                targets = doh_targets(check);
                skip = vec![false; targets.len()];
                answers = vec![Answer::Silent("not asked".into()); targets.len()];
                // Ask them at once: the round just spent was wasted.
                continue;
            }
            Verdict::Waiting if kind == Kind::Doh => {
                for (i, a) in answers.iter().enumerate() {
                    if matches!(a, Answer::Silent(_)) && !skip[i] {
                        log::warn!(
                            "DoH resolver {}: {}; not asked again",
                            targets[i].label,
                            a.detail()
                        );
                        skip[i] = true;
                    }
                }
            }
            _ => {}
        }
        if now >= deadline {
            let e = gave_up(&fqdn, &rep);
            return (rep, Err(e));
        }
        if last_log.is_none_or(|t| now.saturating_sub(t) >= LOG_EVERY) {
            log::info!("{}", progress(&fqdn, &rep, deadline.saturating_sub(now)));
            last_log = Some(now);
        }
        clock.sleep(check.interval.min(deadline.saturating_sub(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::dns::wire::{Record, Soa, class};
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

    /// An authoritative answer (AA set).
    fn reply(code: u16, answers: Vec<Record>) -> Message {
        Message {
            flags: flag::QR | flag::AA | code,
            answers,
            ..Message::default()
        }
    }

    /// An answer from a resolver: RA, no AA.
    fn from_resolver(code: u16, answers: Vec<Record>) -> Message {
        Message {
            flags: flag::QR | flag::RA | code,
            answers,
            ..Message::default()
        }
    }

    fn txt(n: &str, values: &[&str]) -> Message {
        reply(
            rcode::NOERROR,
            values.iter().map(|v| rr(n, RData::txt(v))).collect(),
        )
    }

    fn silent(server: &str) -> Result<Message> {
        Err(Error::Dns(format!("no answer from {server} within 3s")))
    }

    type Answerer<'a> = dyn FnMut(&str, &str, u16, bool, u64) -> Result<Message> + 'a;

    /// Answers from a function of (server or DoH URL, name, type, RD,
    /// seconds since start); keeps every question.
    struct Fake<'c> {
        clock: &'c FakeClock,
        answer: Box<Answerer<'c>>,
        asked: RefCell<Vec<String>>,
        unroutable: Vec<SocketAddr>,
    }

    impl<'c> Fake<'c> {
        fn new(
            clock: &'c FakeClock,
            answer: impl FnMut(&str, &str, u16, bool, u64) -> Result<Message> + 'c,
        ) -> Self {
            Fake {
                clock,
                answer: Box::new(answer),
                asked: RefCell::default(),
                unroutable: Vec::new(),
            }
        }
        fn ask(&mut self, server: &str, n: &Name, qtype: u16, rd: bool) -> Result<Message> {
            self.asked
                .borrow_mut()
                .push(format!("{server} {n} {qtype} {rd}"));
            let t = self.clock.now().as_secs() - 1000;
            (self.answer)(server, &n.to_string(), qtype, rd, t)
        }
        fn asked_of(&self, server: &str) -> usize {
            let prefix = format!("{server} ");
            self.asked
                .borrow()
                .iter()
                .filter(|q| q.starts_with(&prefix))
                .count()
        }
    }

    impl Resolver for Fake<'_> {
        fn query(&mut self, server: SocketAddr, n: &Name, qtype: u16, rd: bool) -> Result<Message> {
            self.ask(&server.to_string(), n, qtype, rd)
        }
        fn doh(&mut self, url: &str, n: &Name, qtype: u16) -> Result<Message> {
            self.ask(url, n, qtype, true)
        }
        fn system(&mut self) -> Result<SocketAddr> {
            Ok("10.0.0.1:53".parse().unwrap())
        }
        fn resolve(&mut self, host_port: &str) -> Result<Vec<SocketAddr>> {
            net::resolve(host_port, 53)
        }
        fn routable(&mut self, addr: SocketAddr) -> bool {
            !self.unroutable.contains(&addr)
        }
    }

    const DOH_A: &str = "https://doh-a.test/dns-query";
    const DOH_B: &str = "https://doh-b.test/dns-query";

    fn check(servers: &[&str]) -> Propagation {
        Propagation {
            servers: servers.iter().map(|s| s.to_string()).collect(),
            doh_servers: vec![DOH_A.into(), DOH_B.into()],
            timeout: Duration::from_secs(60),
            interval: Duration::from_secs(5),
            wait: None,
        }
    }

    fn no_doh(servers: &[&str]) -> Propagation {
        Propagation {
            doh_servers: Vec::new(),
            ..check(servers)
        }
    }

    #[test]
    fn the_verdict_on_one_round() {
        use Answer::*;
        use Verdict::*;
        let v = |s: &[&str]| Values(s.iter().map(|x| x.to_string()).collect());
        let quiet = || Silent("no answer".into());
        let want = ["a", "b"];
        let cases: Vec<(Kind, Vec<Answer>, Verdict)> = vec![
            (
                Kind::Configured,
                vec![v(&["a", "b", "c"]), v(&["b", "a"])],
                Seen,
            ),
            (Kind::Configured, vec![v(&["a", "b"]), v(&["a"])], Waiting),
            (Kind::Configured, vec![v(&["a", "b"]), quiet()], Waiting),
            (
                Kind::Configured,
                vec![v(&["a", "b"]), Failed(rcode::SERVFAIL)],
                Waiting,
            ),
            (
                Kind::Configured,
                vec![quiet(), Failed(rcode::REFUSED)],
                Unusable,
            ),
            // A lame server (or a stand-in) is ignored beside an authoritative one ...
            (
                Kind::Authoritative,
                vec![v(&["a", "b"]), NotAuthoritative(0)],
                Seen,
            ),
            // ... but a silent one is waited for.
            (Kind::Authoritative, vec![v(&["a", "b"]), quiet()], Waiting),
            // Nothing authoritative at all: port 53 is blocked or intercepted.
            (
                Kind::Authoritative,
                vec![NotAuthoritative(0), quiet()],
                Unusable,
            ),
            (
                Kind::Authoritative,
                vec![v(&[]), NotAuthoritative(0)],
                Waiting,
            ),
            // DoH resolvers are stand-ins: one answering is enough to judge.
            (
                Kind::Doh,
                vec![v(&["a", "b"]), quiet(), Failed(rcode::SERVFAIL)],
                Seen,
            ),
            (Kind::Doh, vec![v(&["a", "b"]), v(&["a"])], Waiting),
            (Kind::Doh, vec![quiet(), quiet()], Unusable),
        ];
        for (kind, answers, verdict) in cases {
            assert_eq!(
                judge(kind, &answers, &want),
                verdict,
                "{kind:?} {answers:?}"
            );
        }
    }

    #[test]
    fn waits_until_every_configured_server_answers_all_values() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, _q, rd, t| {
            assert!(rd, "configured servers are asked recursively");
            // The second server gets "b" only after 20 seconds.
            if server == "192.0.2.1:53" || t >= 20 {
                Ok(txt(n, &["a", "b"]))
            } else {
                Ok(txt(n, &["a"]))
            }
        });
        let (rep, res) = run(
            &check(&["192.0.2.1:53", "192.0.2.2:5353"]),
            "_acme-challenge.x.test",
            &["a", "b"],
            &clock,
            &mut fake,
        );
        res.unwrap();
        assert_eq!(clock.now().as_secs(), 1020);
        assert_eq!(
            rep,
            Report {
                via_doh: false,
                port53: vec![],
                servers: vec![
                    ServerState {
                        label: "192.0.2.1:53".into(),
                        sees: true,
                        counts: true,
                        detail: "answered \"a\", \"b\"".into()
                    },
                    ServerState {
                        label: "192.0.2.2:5353".into(),
                        sees: true,
                        counts: true,
                        detail: "answered \"a\", \"b\"".into()
                    },
                ],
                spent: 20,
            }
        );
    }

    #[test]
    fn times_out_naming_the_record_the_laggards_and_the_fix() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, _q, _rd, _t| match server {
            "192.0.2.1:53" => Ok(txt(n, &["a"])),
            "192.0.2.2:53" => Ok(txt(n, &["old"])),
            _ => Ok(reply(rcode::SERVFAIL, vec![])),
        });
        let e = wait_with(
            &check(&["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
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
             (192.0.2.2: answered \"old\"; 192.0.2.3: answered SERVFAIL): \
             raise propagation_timeout, or set list propagation_server"
        );
        // Every 5 s from 0 to 60 inclusive: 13 rounds of 3 questions, and
        // no DoH: the servers do answer.
        assert_eq!(fake.asked.borrow().len(), 13 * 3);
    }

    #[test]
    fn a_server_that_never_answers_is_named_when_time_is_up() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, _q, _rd, _t| match server {
            "192.0.2.1:53" => Ok(txt(n, &["a"])),
            s => silent(s),
        });
        let (rep, res) = run(
            &check(&["192.0.2.1:53", "192.0.2.9:53"]),
            "_acme-challenge.x.test",
            &["a"],
            &clock,
            &mut fake,
        );
        let e = res.unwrap_err().to_string();
        assert!(
            e.contains("not seen by 1 of 2 servers")
                && e.contains("192.0.2.9:53: no answer from 192.0.2.9:53"),
            "{e}"
        );
        assert!(!rep.via_doh && rep.servers[0].sees && !rep.servers[1].sees);
        assert_eq!(fake.asked_of(DOH_A), 0, "one server answers: no DoH");
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

    /// The system resolver's side of discovering example.com's servers:
    /// ns1.example.com (192.0.2.1) and ns2.example.net (2001:db8::2).
    fn discovery(server: &str, n: &str, q: u16) -> Option<Message> {
        if server != "10.0.0.1:53" {
            return None;
        }
        Some(match (n, q) {
            ("_acme-challenge.www.example.org", rtype::TXT) => from_resolver(
                rcode::NOERROR,
                vec![rr(n, RData::Cname(name("www.acme.example.com")))],
            ),
            ("www.acme.example.com" | "x.example.com", rtype::SOA) => {
                let mut m = from_resolver(rcode::NXDOMAIN, vec![]);
                m.authority.push(rr("example.com", soa()));
                m
            }
            ("example.com", rtype::NS) => from_resolver(
                rcode::NOERROR,
                vec![
                    rr(n, RData::Ns(name("ns1.example.com"))),
                    rr(n, RData::Ns(name("ns2.example.net"))),
                ],
            ),
            ("ns1.example.com", rtype::A) => {
                from_resolver(rcode::NOERROR, vec![rr(n, RData::A([192, 0, 2, 1].into()))])
            }
            ("ns2.example.net", rtype::AAAA) => from_resolver(
                rcode::NOERROR,
                vec![rr(n, RData::Aaaa("2001:db8::2".parse().unwrap()))],
            ),
            (_, rtype::A | rtype::AAAA) => from_resolver(rcode::NOERROR, vec![]),
            (_, rtype::TXT) => from_resolver(rcode::NXDOMAIN, vec![]),
            other => panic!("unexpected question to the system resolver {other:?}"),
        })
    }

    #[test]
    fn discovers_the_authoritative_servers_through_a_cname() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, q, rd, _t| {
            if let Some(m) = discovery(server, n, q) {
                assert!(rd, "recursion towards the system resolver");
                return Ok(m);
            }
            assert!(!rd, "no recursion towards authoritative servers");
            assert_eq!((n, q), ("www.acme.example.com", rtype::TXT));
            Ok(txt(n, &["tok"]))
        });
        let (rep, res) = run(
            &check(&[]),
            "_acme-challenge.www.example.org",
            &["tok"],
            &clock,
            &mut fake,
        );
        res.unwrap();
        let labels: Vec<&str> = rep.servers.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "ns1.example.com (192.0.2.1)",
                "ns2.example.net (2001:db8::2)"
            ]
        );
        assert_eq!(fake.asked_of("192.0.2.1:53"), 1);
        assert_eq!(fake.asked_of("[2001:db8::2]:53"), 1);
    }

    #[test]
    fn addresses_without_a_route_are_not_asked() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, q, _rd, _t| {
            Ok(discovery(server, n, q).unwrap_or_else(|| txt(n, &["tok"])))
        });
        fake.unroutable = vec!["[2001:db8::2]:53".parse().unwrap()];
        let (rep, res) = run(&check(&[]), "x.example.com", &["tok"], &clock, &mut fake);
        res.unwrap();
        assert_eq!(rep.servers.len(), 1);
        assert_eq!(fake.asked_of("[2001:db8::2]:53"), 0);
    }

    #[test]
    fn intercepted_port_53_falls_back_to_doh() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, q, _rd, t| {
            if let Some(m) = discovery(server, n, q) {
                return Ok(m);
            }
            match server {
                // A middlebox answers for the authoritative servers, from a
                // cache that holds an old value: no AA bit.
                "192.0.2.1:53" | "[2001:db8::2]:53" => Ok(from_resolver(
                    rcode::NOERROR,
                    vec![rr(n, RData::txt("old"))],
                )),
                // The DoH resolvers get the new value after 10 s; B fails.
                DOH_A if t >= 10 => Ok(txt(n, &["tok"])),
                DOH_A => Ok(txt(n, &[])),
                DOH_B => Err(Error::Http {
                    url: DOH_B.into(),
                    msg: "connection reset".into(),
                }),
                other => panic!("unexpected server {other}"),
            }
        });
        let (rep, res) = run(&check(&[]), "x.example.com", &["tok"], &clock, &mut fake);
        res.unwrap();
        assert!(rep.via_doh);
        assert_eq!(clock.now().as_secs(), 1010);
        assert_eq!(fake.asked_of("192.0.2.1:53"), 1, "one round on port 53");
        assert_eq!(fake.asked_of(DOH_A), 3, "at 0, 5 and 10 s");
        assert_eq!(fake.asked_of(DOH_B), 1, "unreachable: not asked again");
        assert_eq!((rep.servers[0].sees, rep.servers[1].counts), (true, false));
        assert!(
            rep.servers[1].detail.contains("connection reset"),
            "{rep:?}"
        );
        // Why it turned to DoH is in the report too.
        assert_eq!(rep.port53.len(), 2);
        assert!(
            rep.port53
                .iter()
                .all(|s| s.counts && !s.sees && s.detail.contains("no AA bit")),
            "{rep:?}"
        );
    }

    #[test]
    fn silence_on_port_53_falls_back_to_doh_and_times_out_there_with_the_fix() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, _q, _rd, _t| match server {
            DOH_A | DOH_B => Ok(txt(n, &[])),
            s => silent(s),
        });
        let (rep, res) = run(
            &check(&["192.0.2.1:53", "192.0.2.2:53"]),
            "_acme-challenge.x.test",
            &["v"],
            &clock,
            &mut fake,
        );
        let e = res.unwrap_err().to_string();
        assert!(rep.via_doh);
        assert!(
            e.contains("not seen by 2 of 2 servers through DoH")
                && e.contains(&format!("{DOH_A}: answered no TXT"))
                && e.contains("check list doh_server"),
            "{e}"
        );
        assert_eq!(fake.asked_of("192.0.2.1:53"), 1);

        // No DoH resolver answers either: each is named, none is ignored.
        let mut fake = Fake::new(&clock, |server, _n, _q, _rd, _t| silent(server));
        let (rep, res) = run(
            &check(&["192.0.2.1:53"]),
            "_acme-challenge.x.test",
            &["v"],
            &clock,
            &mut fake,
        );
        let e = res.unwrap_err().to_string();
        assert!(
            e.contains("not seen by 2 of 2 servers through DoH")
                && e.contains(&format!("{DOH_B}: no answer from {DOH_B}")),
            "{e}"
        );
        assert!(rep.servers.iter().all(|s| s.counts), "{rep:?}");
    }

    #[test]
    fn without_doh_servers_silence_is_waited_out() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, _n, _q, _rd, _t| silent(server));
        let (rep, res) = run(
            &no_doh(&["192.0.2.1:53"]),
            "_acme-challenge.x.test",
            &["v"],
            &clock,
            &mut fake,
        );
        assert!(res.is_err() && !rep.via_doh);
        assert_eq!(fake.asked_of("192.0.2.1:53"), 13);
    }

    #[test]
    fn a_lame_server_is_ignored_beside_an_authoritative_one() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |server, n, q, _rd, _t| {
            if let Some(m) = discovery(server, n, q) {
                return Ok(m);
            }
            Ok(match server {
                "192.0.2.1:53" => txt(n, &["tok"]),
                _ => from_resolver(rcode::REFUSED, vec![]),
            })
        });
        let (rep, res) = run(&check(&[]), "x.example.com", &["tok"], &clock, &mut fake);
        res.unwrap();
        assert!(!rep.via_doh);
        assert!(!rep.servers[1].counts);
        assert!(
            rep.servers[1].detail.contains("without authority"),
            "{rep:?}"
        );
    }

    #[test]
    fn a_zone_without_reachable_servers_is_an_error_with_the_fix() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |_s, n, q, _rd, _t| {
            Ok(match q {
                rtype::SOA => reply(rcode::NOERROR, vec![rr(n, soa())]),
                rtype::NS => reply(
                    rcode::NOERROR,
                    vec![rr(n, RData::Ns(name("ns.gone.example")))],
                ),
                _ => reply(rcode::NOERROR, vec![]),
            })
        });
        let e = wait_with(&no_doh(&[]), "x.example.com", &["v"], &clock, &mut fake)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "DNS: cannot find the servers to check TXT x.example.com on: no address for the name servers \
             of x.example.com (ns.gone.example); set list propagation_server"
        );
        // With DoH resolvers, the check goes on through them.
        let (rep, res) = run(&check(&[]), "x.example.com", &["v"], &clock, &mut fake);
        assert!(rep.via_doh && res.is_err());
    }

    #[test]
    fn the_progress_line_says_who_sees_who_is_waited_for_and_the_time() {
        let state = |label: &str, sees, counts| ServerState {
            label: label.into(),
            sees,
            counts,
            detail: String::new(),
        };
        let rep = Report {
            via_doh: false,
            port53: vec![],
            servers: vec![
                state("ns1 (192.0.2.1)", true, true),
                state("ns2 (192.0.2.2)", false, true),
                state("ns3 (192.0.2.3)", false, false),
            ],
            spent: 12,
        };
        assert_eq!(
            progress(
                &name("_acme-challenge.x.test"),
                &rep,
                Duration::from_secs(288)
            ),
            "TXT _acme-challenge.x.test: seen by 1/2 servers (ns1 (192.0.2.1)); \
             waiting for ns2 (192.0.2.2); ignoring ns3 (192.0.2.3); 12s spent, 288s left"
        );
    }

    #[test]
    fn a_fixed_wait_skips_the_check() {
        let clock = FakeClock::at(1000);
        let mut fake = Fake::new(&clock, |s, _n, _q, _rd, _t| panic!("asked {s}"));
        let conf = Propagation {
            wait: Some(Duration::from_secs(90)),
            ..check(&[])
        };
        wait_with(&conf, "x.example.com", &["v"], &clock, &mut fake).unwrap();
        assert_eq!(clock.now().as_secs(), 1090);
    }

    #[test]
    fn nxdomain_is_no_value_and_cnames_are_followed_in_answers() {
        let n = name("a.b");
        let a = |m: Message| Answer::from_reply(Kind::Configured, &n, Ok(m));
        assert_eq!(a(reply(rcode::NXDOMAIN, vec![])), Answer::Values(vec![]));
        let m = reply(
            rcode::NOERROR,
            vec![
                rr("a.b", RData::Cname(name("c.d"))),
                rr("c.d", RData::txt("v")),
                rr("x.y", RData::txt("no")),
            ],
        );
        assert_eq!(a(m), Answer::Values(vec!["v".into()]));
        assert_eq!(
            a(reply(rcode::REFUSED, vec![])),
            Answer::Failed(rcode::REFUSED)
        );
        let lame = Answer::from_reply(
            Kind::Authoritative,
            &n,
            Ok(from_resolver(rcode::NOERROR, vec![])),
        );
        assert_eq!(lame, Answer::NotAuthoritative(rcode::NOERROR));
    }
}
