//! DDNS: keep each `config ddns` record's A and AAAA values at the router's
//! WAN addresses, or its AAAA at a LAN host (delegated prefix + the host's
//! identifier), through the record's DNS provider.
//!
//! A run reads the addresses (`sources`), chooses what to publish
//! (`selection`), and decides from a cache in `run_dir` whether anything is
//! to be done (`update`); only then does it ask the authoritative servers
//! (`lookup`) or call the provider. So a cron run with nothing to do costs
//! one source lookup, no provider call, no DNS question and no write.

pub mod lookup;
pub mod selection;
pub mod sources;
pub mod update;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use selection::{Seen, V4Kind};
use sources::Edges;
use update::{Answers, Entry, Plan, State, WanSeen, Want, Why};

use crate::clock::Clock;
use crate::config::{AddrSource, CgnatPolicy, Config, DdnsConf, PluginSection};
use crate::http::{Http, LazyHttp};
use crate::providers::{self, DnsProvider, Family};
use crate::{Error, Result, proc};

#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Send every record now, whatever the cache says, refusals included.
    pub force: bool,
}

/// What happened to one record.
#[derive(Debug)]
pub enum Outcome {
    /// The DNS already has the addresses.
    Current,
    /// Sent to the provider.
    Updated(Want),
    /// Nothing was done, for the reason given (no address, backing off,
    /// behind NAT).
    Skipped(String),
    /// Not tried: the provider refused earlier for a reason retrying cannot
    /// fix; a person must change the configuration (or `--force`).
    Refused(String),
    Failed(Error),
}

/// The outside world of a run: the sources' edges, plus the lookup of what
/// the DNS holds.
pub trait World: Edges {
    /// Each server's (A, AAAA) at `fqdn` (see `lookup::published`).
    fn published(&mut self, fqdn: &str, servers: &[String]) -> Result<Answers>;
}

/// Builds a record's provider from its section.
pub type Build<'a, 'b> = &'b dyn Fn(&PluginSection) -> Result<Box<dyn DnsProvider + 'a>>;

/// Run every enabled record (or only `only`). Each record's failure is
/// recorded and the others go on.
pub fn run(
    config: &Config,
    http: &dyn Http,
    clock: &dyn Clock,
    opts: Options,
    only: Option<&str>,
) -> Result<Vec<(String, Outcome)>> {
    let env = providers::Env { http, clock };
    let build = |s: &PluginSection| providers::build(s, &env);
    let mut world = System::new(config);
    run_with(
        config,
        &mut world,
        &build,
        clock.now().as_secs() as i64,
        opts,
        only,
    )
}

/// `run`, with the world and the providers passed in: what the tests drive.
pub fn run_with<'a>(
    config: &Config,
    world: &mut dyn World,
    build: Build<'a, '_>,
    now: i64,
    opts: Options,
    only: Option<&str>,
) -> Result<Vec<(String, Outcome)>> {
    if let Some(name) = only
        && config.ddns_record(name).is_none()
    {
        return Err(Error::other(format!(
            "no config ddns '{name}' in {}",
            config.file
        )));
    }
    let run_dir = &config.global.run_dir;
    let mut state = State::load(run_dir);
    let old_wan = std::mem::take(&mut state.wan);
    let mut pass = Pass {
        config,
        memo: Memo {
            world,
            answers: Vec::new(),
        },
        now,
        wan: Vec::new(),
        old_wan: &old_wan,
    };
    let mut results = Vec::new();
    for conf in config
        .ddns
        .iter()
        .filter(|d| d.enabled && only.is_none_or(|o| o == d.name))
    {
        let cached = state.record(&conf.name);
        let fingerprint = fingerprint(config, conf);
        let mut entry = update::fresh_entry(cached, &fingerprint).unwrap_or_else(|| Entry {
            name: conf.name.clone(),
            config: fingerprint.clone(),
            ..Entry::default()
        });
        let had = cached.is_some_and(|c| c.config == fingerprint);
        let outcome = pass
            .one(conf, &mut entry, had, opts, build)
            .unwrap_or_else(|e| {
                log::error!("ddns {}: {e}", conf.name);
                entry.last_error = Some(e.to_string());
                Outcome::Failed(e)
            });
        state.put(entry);
        results.push((conf.name.clone(), outcome));
    }
    state
        .records
        .retain(|e| config.ddns_record(&e.name).is_some_and(|d| d.enabled));
    // With `only`, the other records' WAN view stays what it was.
    state.wan = if only.is_some() && pass.wan.is_empty() {
        old_wan.clone()
    } else {
        pass.wan
    };
    state.checked = Some(now);
    if let Err(e) = state.save(run_dir) {
        log::warn!("cannot record the DDNS state: {e}");
    }
    Ok(results)
}

/// A digest of everything that, when changed, makes the cache stale: the
/// record's options and its provider's (credentials included, so a fixed
/// password lifts a refusal). Only the digest is stored.
fn fingerprint(config: &Config, conf: &DdnsConf) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let provider = config.provider(&conf.provider).map(|p| &p.section);
    for section in std::iter::once(&conf.section).chain(provider) {
        for o in &section.options {
            ctx.update(o.name.as_bytes());
            for v in &o.values {
                ctx.update(b"\0");
                ctx.update(v.as_bytes());
            }
            ctx.update(b"\n");
        }
        ctx.update(b"\n");
    }
    crate::b64::url(&ctx.finish().as_ref()[..12])
}

struct Pass<'c, 'w> {
    config: &'c Config,
    memo: Memo<'w>,
    now: i64,
    /// WAN addresses seen in this run, for status.
    wan: Vec<WanSeen>,
    /// ... and in the last one: a NAT warning is logged once per change.
    old_wan: &'c [WanSeen],
}

/// What a source reported for one family.
struct Observed {
    seen: Vec<Seen>,
    /// The interface or device it came from, for status and messages.
    interface: String,
}

impl Pass<'_, '_> {
    fn one<'a>(
        &mut self,
        conf: &DdnsConf,
        entry: &mut Entry,
        had_cache: bool,
        opts: Options,
        build: Build<'a, '_>,
    ) -> Result<Outcome> {
        let source = conf.source.unwrap_or_else(|| self.default_source());
        let mut want = self.want(conf, source, entry)?;
        entry.v4.current = want.v4;
        entry.v6.current = want.v6;
        let plan = update::plan(
            had_cache.then_some(&*entry),
            &want,
            self.now,
            conf.force_interval,
            opts.force,
        );
        let mut provider: Option<Box<dyn DnsProvider + 'a>> = None;
        let why = match plan {
            Plan::Idle => {
                entry.last_error = None;
                return Ok(Outcome::Current);
            }
            Plan::NoAddress => {
                // The WAN is down or has no usable address: nothing to
                // fix here, and a down WAN must not fill the log.
                let msg = "no usable address: records left as they are".to_string();
                log::debug!("ddns {}: {msg}", conf.name);
                return Ok(Outcome::Skipped(msg));
            }
            Plan::Wait { until } => {
                let msg = format!(
                    "backing off after an error until {}",
                    crate::der::rfc3339(until)
                );
                log::debug!("ddns {}: {msg}", conf.name);
                return Ok(Outcome::Skipped(msg));
            }
            Plan::Refused => {
                let msg = format!(
                    "the provider refused earlier ({}); fix the configuration or run `wancert ddns --force {}`",
                    entry.last_error.as_deref().unwrap_or("no detail"),
                    conf.name
                );
                log::warn!("ddns {}: {msg}", conf.name);
                return Ok(Outcome::Refused(msg));
            }
            Plan::Send(why) => why,
            Plan::Lookup { interval } => {
                // A provider that wants refreshes is sent to at the interval
                // whatever the DNS says: skip the question.
                let refresh =
                    interval && self.provider(conf, &mut provider, build)?.wants_refresh();
                // The servers certificates check (`list propagation_server`,
                // the provider's own or the global one) are the ones to ask.
                let servers = self.config.propagation(&conf.provider)?.servers;
                let answers = if refresh {
                    None
                } else {
                    match self.memo.world.published(&conf.domain, &servers) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            log::info!(
                                "ddns {}: cannot read {} from its DNS servers ({e}): sending",
                                conf.name,
                                conf.domain
                            );
                            None
                        }
                    }
                };
                match update::after_lookup(
                    entry,
                    &want,
                    answers.as_ref(),
                    interval,
                    refresh,
                    self.now,
                ) {
                    None => {
                        log::debug!("ddns {}: the DNS servers already have it", conf.name);
                        return Ok(Outcome::Current);
                    }
                    Some(why) => why,
                }
            }
        };
        // Before a new IPv4 address goes out, make sure it is the one the
        // Internet sees (only then: it costs a web request).
        if let Some(v4) = want.v4
            && entry.v4.published != [v4]
            && conf.nat_check
            && source != AddrSource::Web
            && selection::classify_v4(v4_of(v4)) == Some(V4Kind::Public)
        {
            want.v4 = self.nat_check(conf, v4);
            entry.v4.nat = (want.v4 != Some(v4)).then_some(v4);
            entry.v4.current = want.v4;
            if want.is_empty() {
                return Ok(Outcome::Skipped(
                    "behind NAT: the A record is left alone".into(),
                ));
            }
        }
        let addrs: Vec<(Family, IpAddr)> = want.each().collect();
        let shown: Vec<String> = addrs.iter().map(|(_, a)| a.to_string()).collect();
        let result = self
            .provider(conf, &mut provider, build)
            .and_then(|p| p.set_addresses(&conf.domain, &addrs, conf.ttl));
        match result {
            Ok(()) => {
                log::info!(
                    "ddns {}: {} now points at {} ({})",
                    conf.name,
                    conf.domain,
                    shown.join(", "),
                    match why {
                        Why::Forced => "forced",
                        Why::Changed => "changed",
                        Why::Refresh => "periodic refresh",
                    }
                );
                update::sent(entry, &want, self.now);
                Ok(Outcome::Updated(want))
            }
            Err(e) => {
                update::failed(entry, &e, self.now);
                let next = match entry.retry_at {
                    Some(t) => format!("retrying after {}", crate::der::rfc3339(t)),
                    None => "not retrying until the configuration changes".into(),
                };
                log::error!(
                    "ddns {}: updating {} failed: {e}; {next}",
                    conf.name,
                    conf.domain
                );
                Ok(Outcome::Failed(e))
            }
        }
    }

    fn provider<'p, 'a>(
        &self,
        conf: &DdnsConf,
        slot: &'p mut Option<Box<dyn DnsProvider + 'a>>,
        build: Build<'a, '_>,
    ) -> Result<&'p mut Box<dyn DnsProvider + 'a>> {
        if slot.is_none() {
            let section = self.config.provider(&conf.provider).ok_or_else(|| {
                Error::other(format!(
                    "config ddns '{}': no config provider '{}'",
                    conf.name, conf.provider
                ))
            })?;
            *slot = Some(build(section)?);
        }
        slot.as_mut().ok_or_else(|| Error::other("no provider"))
    }

    /// ubus where it exists (OpenWrt), else the kernel's view.
    fn default_source(&self) -> AddrSource {
        if proc::exists(&self.config.global.ubus) {
            AddrSource::Ubus
        } else {
            AddrSource::Interface
        }
    }

    /// The addresses the record should have now.
    fn want(&mut self, conf: &DdnsConf, source: AddrSource, entry: &Entry) -> Result<Want> {
        let mut want = Want::default();
        let previous = |f: Family| entry.family(f).published.first().copied();
        // A family that cannot be read (no IPv6 route for the web echo or
        // the route source) leaves its record alone; the record fails only
        // when no family gives an address.
        let mut errors = Vec::new();
        if conf.ipv4 {
            match self.observe(conf, source, Family::V4) {
                Ok(o) => {
                    if let Some((ip, kind)) = selection::pick_v4(&o.seen, previous(Family::V4)) {
                        want.v4 = match kind {
                            // A NAT check found this address hidden behind
                            // another: remembered, so that no run asks again
                            // (or calls the provider) until it changes.
                            V4Kind::Public if entry.v4.nat == Some(ip.into()) => {
                                self.behind_nat(conf, ip, HIDDEN_NAT, &o.interface, source)
                            }
                            V4Kind::Public => {
                                self.saw(ip.into(), &o.interface, source, None);
                                Some(ip.into())
                            }
                            _ => self.behind_nat(conf, ip, kind.describe(), &o.interface, source),
                        };
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if conf.ipv6 {
            let v6 = match conf.host {
                Some(id) => self
                    .lan_prefixes(conf, source)
                    .map(|p| selection::lan_host(&p, id, previous(Family::V6))),
                None => self.observe(conf, source, Family::V6).map(|o| {
                    let ip = selection::pick_v6(&o.seen, previous(Family::V6));
                    if let Some(ip) = ip {
                        self.saw(ip.into(), &o.interface, source, None);
                    }
                    ip
                }),
            };
            match v6 {
                Ok(ip) => want.v6 = ip.map(Into::into),
                Err(e) => errors.push(e),
            }
        }
        match errors.into_iter().next() {
            Some(e) if want.is_empty() => Err(e),
            Some(e) => {
                log::debug!("ddns {}: {e}", conf.name);
                Ok(want)
            }
            None => Ok(want),
        }
    }

    /// The WAN IPv4 address is private or shared: warn, then follow the
    /// record's `cgnat` policy.
    fn behind_nat(
        &mut self,
        conf: &DdnsConf,
        ip: Ipv4Addr,
        why: &str,
        interface: &str,
        source: AddrSource,
    ) -> Option<IpAddr> {
        let new = self.saw(ip.into(), interface, source, Some(why.to_string()));
        let warn = |msg: String| {
            if new {
                log::warn!("ddns {}: {msg}", conf.name);
            } else {
                log::debug!("ddns {}: {msg}", conf.name);
            }
        };
        match conf.cgnat {
            CgnatPolicy::Skip => {
                warn(format!(
                    "the WAN address {ip} is {why}; an A record pointing at it would be unreachable, so it is left alone (option cgnat 'web' publishes the address the Internet sees instead)"
                ));
                None
            }
            CgnatPolicy::Web => match self.observe(conf, AddrSource::Web, Family::V4) {
                Ok(o) => {
                    let public = o.seen.first().map(|s| s.ip);
                    warn(format!(
                        "the WAN address {ip} is {why}; publishing the address the Internet sees, {}, which reaches the router only if the provider forwards ports",
                        public.map_or("(none)".into(), |p| p.to_string())
                    ));
                    public
                }
                Err(e) => {
                    log::warn!(
                        "ddns {}: the WAN address {ip} is {why}, and no web echo answered: {e}",
                        conf.name
                    );
                    None
                }
            },
        }
    }

    /// Ask a web echo whether the Internet sees `v4`; when it sees another
    /// address, there is a NAT upstream: warn and apply the policy.
    fn nat_check(&mut self, conf: &DdnsConf, v4: IpAddr) -> Option<IpAddr> {
        let seen = match self.observe(conf, AddrSource::Web, Family::V4) {
            Ok(o) => o.seen.first().map(|s| s.ip),
            Err(e) => {
                log::info!(
                    "ddns {}: could not check {v4} against a web echo ({e}); publishing it",
                    conf.name
                );
                return Some(v4);
            }
        };
        match seen {
            Some(public) if public != v4 => {
                let msg = format!(
                    "the Internet sees this router as {public}, not as its WAN address {v4}: a NAT upstream"
                );
                match conf.cgnat {
                    CgnatPolicy::Skip => {
                        log::warn!(
                            "ddns {}: {msg}; the A record is left alone (option cgnat 'web' publishes {public})",
                            conf.name
                        );
                        None
                    }
                    CgnatPolicy::Web => {
                        log::warn!("ddns {}: {msg}; publishing {public}", conf.name);
                        Some(public)
                    }
                }
            }
            _ => Some(v4),
        }
    }

    /// Note a WAN address for status; returns whether the last run did not
    /// see it the same way (so a warning about it is news).
    fn saw(
        &mut self,
        address: IpAddr,
        interface: &str,
        source: AddrSource,
        nat: Option<String>,
    ) -> bool {
        let w = WanSeen {
            address,
            interface: interface.to_string(),
            source: source.name().to_string(),
            nat,
        };
        let new = !self.old_wan.contains(&w);
        if !self.wan.contains(&w) {
            self.wan.push(w);
        }
        new
    }

    /// What `source` reports for `family`.
    fn observe(&mut self, conf: &DdnsConf, source: AddrSource, family: Family) -> Result<Observed> {
        let configured = conf.interface.as_deref();
        match source {
            AddrSource::Ubus => {
                let ifaces = sources::parse_ubus_dump(&self.memo.ubus()?)?;
                Ok(match sources::ubus_wan(&ifaces, family, configured)? {
                    Some(wan) => Observed {
                        seen: sources::ubus_addresses(&ifaces, wan, family),
                        interface: wan.name.clone(),
                    },
                    None => Observed {
                        seen: Vec::new(),
                        interface: String::new(),
                    },
                })
            }
            AddrSource::Interface => {
                let dev = match configured {
                    Some(d) => Some(d.to_string()),
                    None => self.default_dev(family)?,
                };
                let Some(dev) = dev else {
                    return Ok(Observed {
                        seen: Vec::new(),
                        interface: String::new(),
                    });
                };
                let seen = match family {
                    Family::V4 => sources::parse_ip_addr(&self.memo.ip_addr(&dev)?),
                    Family::V6 => {
                        let all = self.inet6()?;
                        let on = |d: &str| {
                            all.iter()
                                .filter(|(x, _)| x == d)
                                .map(|(_, s)| s.clone())
                                .collect::<Vec<_>>()
                        };
                        let own = on(&dev);
                        if own.iter().any(selection::usable_v6) {
                            own
                        } else {
                            // A WAN with only a delegated prefix: the router
                            // is reached at its LAN address.
                            on(conf.lan_interface.as_deref().unwrap_or("br-lan"))
                        }
                    }
                };
                Ok(Observed {
                    seen,
                    interface: dev,
                })
            }
            AddrSource::Web => {
                let defaults = match family {
                    Family::V4 => sources::WEB_V4,
                    Family::V6 => sources::WEB_V6,
                };
                let urls: Vec<&str> = if conf.web_urls.is_empty() {
                    defaults.to_vec()
                } else {
                    conf.web_urls.iter().map(String::as_str).collect()
                };
                let mut errors = Vec::new();
                for url in &urls {
                    match self.memo.web(url, family) {
                        Ok(body) => match sources::find_ips(&body, family).first() {
                            Some(ip) => {
                                return Ok(Observed {
                                    seen: vec![Seen::plain(*ip)],
                                    interface: String::new(),
                                });
                            }
                            None => errors.push(format!(
                                "{url}: no {} address in the answer",
                                family_name(family)
                            )),
                        },
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                Err(Error::other(format!(
                    "no web echo service answered over {}: {}; set list web_url",
                    family_name(family),
                    errors.join("; ")
                )))
            }
            AddrSource::Route => {
                let ip = self.memo.route(family)?;
                let seen = match ip {
                    IpAddr::V4(_) => vec![Seen::plain(ip)],
                    IpAddr::V6(_) => {
                        // The kernel may prefer a temporary address: then
                        // take the stable ones of the same device.
                        let all = self.inet6().unwrap_or_default();
                        match all.iter().find(|(_, s)| s.ip == ip) {
                            Some((_, s)) if selection::usable_v6(s) => vec![s.clone()],
                            Some((dev, _)) => all
                                .iter()
                                .filter(|(d, _)| d == dev)
                                .map(|(_, s)| s.clone())
                                .collect(),
                            None => vec![Seen::plain(ip)],
                        }
                    }
                };
                Ok(Observed {
                    seen,
                    interface: String::new(),
                })
            }
            AddrSource::Script => {
                let out = self.memo.script(&conf.script)?;
                Ok(Observed {
                    seen: sources::find_ips(&out, family)
                        .into_iter()
                        .map(Seen::plain)
                        .collect(),
                    interface: String::new(),
                })
            }
        }
    }

    fn inet6(&mut self) -> Result<Vec<(String, Seen)>> {
        Ok(sources::parse_if_inet6(&self.memo.proc_net("if_inet6")?))
    }

    fn default_dev(&mut self, family: Family) -> Result<Option<String>> {
        Ok(match family {
            Family::V4 => sources::default_dev_v4(&self.memo.proc_net("route")?),
            Family::V6 => sources::default_dev_v6(&self.memo.proc_net("ipv6_route")?),
        })
    }

    /// The LAN's prefixes, for a LAN host's AAAA.
    fn lan_prefixes(&mut self, conf: &DdnsConf, source: AddrSource) -> Result<Vec<Seen>> {
        match source {
            AddrSource::Ubus => {
                let ifaces = sources::parse_ubus_dump(&self.memo.ubus()?)?;
                sources::ubus_lan_prefixes(&ifaces, conf.lan_interface.as_deref().unwrap_or("lan"))
            }
            _ => {
                let dev = conf.lan_interface.as_deref().unwrap_or("br-lan");
                Ok(self
                    .inet6()?
                    .into_iter()
                    .filter(|(d, _)| d == dev)
                    .map(|(_, s)| s)
                    .collect())
            }
        }
    }
}

/// Why a public-looking WAN address is not published.
const HIDDEN_NAT: &str = "not what the Internet sees (a NAT upstream)";

fn v4_of(ip: IpAddr) -> Ipv4Addr {
    match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

/// Each edge question asked at most once per run, whatever the number of
/// records asking it. Errors are kept as text (they are shown, not matched).
struct Memo<'w> {
    world: &'w mut dyn World,
    answers: Vec<(String, std::result::Result<String, String>)>,
}

impl Memo<'_> {
    fn get(
        &mut self,
        key: String,
        ask: impl FnOnce(&mut dyn World) -> Result<String>,
    ) -> Result<String> {
        let answer = match self.answers.iter().find(|(k, _)| *k == key) {
            Some((_, a)) => a.clone(),
            None => {
                let a = ask(&mut *self.world).map_err(|e| e.to_string());
                self.answers.push((key, a.clone()));
                a
            }
        };
        answer.map_err(Error::Other)
    }
    fn ubus(&mut self) -> Result<String> {
        self.get("ubus".into(), |w| w.ubus_dump())
    }
    fn proc_net(&mut self, name: &str) -> Result<String> {
        self.get(format!("proc {name}"), |w| w.proc_net(name))
    }
    fn ip_addr(&mut self, dev: &str) -> Result<String> {
        self.get(format!("ip {dev}"), |w| w.ip_addr(dev))
    }
    fn web(&mut self, url: &str, family: Family) -> Result<String> {
        self.get(format!("web {family:?} {url}"), |w| w.web(url, family))
    }
    fn route(&mut self, family: Family) -> Result<IpAddr> {
        let text = self.get(format!("route {family:?}"), |w| {
            w.route(family).map(|ip| ip.to_string())
        })?;
        text.parse()
            .map_err(|_| Error::other(format!("bad route address {text}")))
    }
    fn script(&mut self, argv: &[String]) -> Result<String> {
        self.get(format!("script {argv:?}"), |w| w.script(argv))
    }
}

/// How long the edges may take: a router's own helpers answer in well under
/// a second; a web echo gets a few seconds before the next one is tried.
const UBUS_TIMEOUT: Duration = Duration::from_secs(15);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);
const WEB_TIMEOUT: Duration = Duration::from_secs(8);

/// Public addresses toward which the route source asks the kernel for a
/// source address (Cloudflare's resolver). No packet is sent: `connect` on
/// a UDP socket only picks the route.
const ROUTE_V4: Ipv4Addr = Ipv4Addr::new(1, 1, 1, 1);
const ROUTE_V6: Ipv6Addr = Ipv6Addr::new(0x2606, 0x4700, 0x4700, 0, 0, 0, 0, 0x1111);

/// The real world: processes, `/proc`, HTTP over one family, sockets, DNS.
pub struct System {
    ubus: String,
    http4: LazyHttp,
    http6: LazyHttp,
}

impl System {
    pub fn new(config: &Config) -> System {
        let ca = config.global.ca_file.as_deref();
        System {
            ubus: config.global.ubus.clone(),
            http4: LazyHttp::with_family(ca, WEB_TIMEOUT, Some(Family::V4)),
            http6: LazyHttp::with_family(ca, WEB_TIMEOUT, Some(Family::V6)),
        }
    }
}

impl Edges for System {
    fn ubus_dump(&mut self) -> Result<String> {
        let argv = [&self.ubus, "call", "network.interface", "dump"].map(String::from);
        proc::capture(&argv, UBUS_TIMEOUT)
    }

    fn proc_net(&mut self, name: &str) -> Result<String> {
        let path = format!("/proc/net/{name}");
        std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))
    }

    fn ip_addr(&mut self, dev: &str) -> Result<String> {
        // The kernel's list through getifaddrs(3): no process per run. A
        // device that does not exist is left to `ip`, whose error names it.
        let exists = std::path::Path::new("/sys/class/net").join(dev).exists();
        if let Some(list) = crate::netif::ipv4_addresses(dev).filter(|_| exists) {
            return Ok(crate::netif::as_ip_addr_text(&list));
        }
        let argv = ["ip", "addr", "show", "dev", dev].map(String::from);
        proc::capture(&argv, UBUS_TIMEOUT)
    }

    fn web(&mut self, url: &str, family: Family) -> Result<String> {
        let http = match family {
            Family::V4 => &self.http4,
            Family::V6 => &self.http6,
        };
        let resp = http.get(url)?;
        if resp.status != 200 {
            return Err(Error::Http {
                url: url.into(),
                msg: format!("HTTP {}", resp.status),
            });
        }
        Ok(String::from_utf8_lossy(&resp.body).into_owned())
    }

    fn route(&mut self, family: Family) -> Result<IpAddr> {
        let (bind, target): (IpAddr, IpAddr) = match family {
            Family::V4 => (Ipv4Addr::UNSPECIFIED.into(), ROUTE_V4.into()),
            Family::V6 => (Ipv6Addr::UNSPECIFIED.into(), ROUTE_V6.into()),
        };
        route_source(SocketAddr::new(bind, 0), SocketAddr::new(target, 53))
    }

    fn script(&mut self, argv: &[String]) -> Result<String> {
        proc::capture(argv, SCRIPT_TIMEOUT)
    }
}

impl World for System {
    fn published(&mut self, fqdn: &str, servers: &[String]) -> Result<Answers> {
        lookup::published(fqdn, servers, &mut lookup::Net)
    }
}

/// The address the kernel would send from toward `target`.
pub fn route_source(bind: SocketAddr, target: SocketAddr) -> Result<IpAddr> {
    let fail = |e: std::io::Error| {
        Error::other(format!(
            "no route toward {} ({e}): the WAN is down or has no address of that family",
            target.ip()
        ))
    };
    let sock = UdpSocket::bind(bind).map_err(fail)?;
    sock.connect(target).map_err(fail)?;
    let ip = sock.local_addr().map_err(fail)?.ip();
    if ip.is_unspecified() {
        return Err(Error::other(format!(
            "the kernel picked no source address toward {}",
            target.ip()
        )));
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::PathBuf;
    use std::rc::Rc;

    use super::*;
    use crate::config;

    fn fixture(name: &str) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ddns/");
        std::fs::read_to_string(format!("{path}{name}")).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A world answering from fixtures, counting every question.
    #[derive(Default)]
    struct Fake {
        dump: String,
        if_inet6: String,
        /// url → body
        web: std::collections::BTreeMap<String, String>,
        /// What the DNS servers hold: (A, AAAA).
        dns: Option<(Vec<IpAddr>, Vec<IpAddr>)>,
        asked: Vec<String>,
    }

    impl Edges for Fake {
        fn ubus_dump(&mut self) -> Result<String> {
            self.asked.push("ubus".into());
            Ok(self.dump.clone())
        }
        fn proc_net(&mut self, name: &str) -> Result<String> {
            self.asked.push(format!("proc {name}"));
            match name {
                "if_inet6" => Ok(self.if_inet6.clone()),
                "ipv6_route" => Ok(fixture("ipv6_route_router")),
                _ => Ok(fixture("route_pppoe")),
            }
        }
        fn ip_addr(&mut self, dev: &str) -> Result<String> {
            self.asked.push(format!("ip {dev}"));
            Ok("    inet 100.72.13.5 peer 100.64.0.1/32 scope global pppoe-wan\n".into())
        }
        fn web(&mut self, url: &str, family: Family) -> Result<String> {
            self.asked.push(format!("web {family:?} {url}"));
            self.web.get(url).cloned().ok_or_else(|| Error::Http {
                url: url.into(),
                msg: "connection refused".into(),
            })
        }
        fn route(&mut self, family: Family) -> Result<IpAddr> {
            self.asked.push(format!("route {family:?}"));
            Ok(match family {
                Family::V4 => ip("203.0.113.45"),
                Family::V6 => ip("2001:db8:6:1:9c3e:51d0:8e7a:2f44"),
            })
        }
        fn script(&mut self, argv: &[String]) -> Result<String> {
            self.asked.push(format!("script {}", argv.join(" ")));
            Ok("203.0.113.99\n2001:db8::99\n".into())
        }
    }

    impl World for Fake {
        fn published(&mut self, fqdn: &str, _servers: &[String]) -> Result<Answers> {
            self.asked.push(format!("dns {fqdn}"));
            self.dns
                .clone()
                .map(|a| vec![a])
                .ok_or_else(|| Error::Dns("no answer".into()))
        }
    }

    /// One `set_addresses` call: the name and the addresses.
    type Sent = (String, Vec<(Family, IpAddr)>);
    /// Makes the error the provider answers with, if it fails.
    type Failure = Option<fn() -> Error>;

    /// What the counting provider was asked, and how it answers.
    #[derive(Default, Clone)]
    struct Calls {
        sent: Rc<RefCell<Vec<Sent>>>,
        fail: Rc<RefCell<Failure>>,
        refresh: bool,
    }

    struct Counting(Calls);

    impl DnsProvider for Counting {
        fn add_txt(&mut self, _: &str, _: &str) -> Result<()> {
            unreachable!()
        }
        fn remove_txt(&mut self, _: &str, _: &str) -> Result<()> {
            unreachable!()
        }
        fn set_addresses(
            &mut self,
            fqdn: &str,
            addrs: &[(Family, IpAddr)],
            _ttl: u32,
        ) -> Result<()> {
            self.0.sent.borrow_mut().push((fqdn.into(), addrs.to_vec()));
            match *self.0.fail.borrow() {
                Some(f) => Err(f()),
                None => Ok(()),
            }
        }
        fn wants_refresh(&self) -> bool {
            self.0.refresh
        }
    }

    struct Lab {
        dir: PathBuf,
        calls: Calls,
    }

    impl Lab {
        fn new(tag: &str) -> Lab {
            let dir =
                std::env::temp_dir().join(format!("wancert-ddns-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Lab {
                dir,
                calls: Calls::default(),
            }
        }

        fn config(&self, record: &str) -> Config {
            let text = format!(
                "config wancert 'global'\n\toption state_dir '{0}/state'\n\toption run_dir '{0}/run'\n\
                 config provider 'p'\n\toption type 'fake'\n\
                 config ddns 'home'\n\toption provider 'p'\n\toption domain 'home.example.com'\n\toption source 'ubus'\n{record}",
                self.dir.display()
            );
            config::parse("/etc/config/wancert", &text).unwrap()
        }

        fn run(
            &self,
            config: &Config,
            world: &mut Fake,
            now: i64,
            force: bool,
        ) -> Vec<(String, Outcome)> {
            let calls = self.calls.clone();
            let build = move |_: &PluginSection| {
                Ok(Box::new(Counting(calls.clone())) as Box<dyn DnsProvider>)
            };
            run_with(config, world, &build, now, Options { force }, None).unwrap()
        }

        fn sent(&self) -> Vec<Sent> {
            self.calls.sent.borrow().clone()
        }
    }

    impl Drop for Lab {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn dual_stack_world() -> Fake {
        Fake {
            dump: fixture("ubus_dual_stack.json"),
            web: [("http://echo/4".to_string(), "203.0.113.45\n".to_string())].into(),
            ..Fake::default()
        }
    }

    const ECHO: &str = "\tlist web_url 'http://echo/4'\n";

    #[test]
    fn a_run_with_nothing_to_do_calls_no_provider_and_writes_nothing() {
        let lab = Lab::new("noop");
        let config = lab.config(ECHO);
        let mut world = dual_stack_world();
        world.dns = Some((vec![ip("203.0.113.45")], vec![ip("2001:db8:0:1::1234")]));

        // After a reboot the cache is empty: the DNS is asked, and agrees.
        let out = lab.run(&config, &mut world, 1_700_000_000, false);
        assert!(matches!(out[0].1, Outcome::Current), "{out:?}");
        assert_eq!(world.asked, ["ubus", "dns home.example.com"]);
        assert!(lab.sent().is_empty());
        let first = State::load(&lab.dir.join("run"));

        // Every later run: one ubus call, nothing else; the cache in RAM
        // changes only in when the WAN was last read.
        for i in 1..=3 {
            world.asked.clear();
            let now = 1_700_000_000 + i * 300;
            let out = lab.run(&config, &mut world, now, false);
            assert!(matches!(out[0].1, Outcome::Current), "{out:?}");
            assert_eq!(world.asked, ["ubus"]);
            let state = State::load(&lab.dir.join("run"));
            assert_eq!(state.checked, Some(now));
            assert_eq!(
                State {
                    checked: first.checked,
                    ..state
                },
                first
            );
        }
        assert!(lab.sent().is_empty(), "no provider call");
        assert!(!lab.dir.join("state").exists(), "nothing under state_dir");
    }

    #[test]
    fn a_changed_address_is_sent_once() {
        let lab = Lab::new("change");
        let config = lab.config(ECHO);
        let mut world = dual_stack_world();
        world.dns = Some((vec![ip("198.51.100.1")], vec![]));
        let out = lab.run(&config, &mut world, 1000, false);
        assert!(matches!(out[0].1, Outcome::Updated(_)), "{out:?}");
        // The NAT check asked the web echo once, and it agreed.
        assert!(
            world.asked.contains(&"web V4 http://echo/4".to_string()),
            "{:?}",
            world.asked
        );
        assert_eq!(
            lab.sent(),
            [(
                "home.example.com".to_string(),
                vec![
                    (Family::V4, ip("203.0.113.45")),
                    (Family::V6, ip("2001:db8:0:1::1234"))
                ]
            )]
        );
        let out = lab.run(&config, &mut world, 1300, false);
        assert!(matches!(out[0].1, Outcome::Current));
        assert_eq!(lab.sent().len(), 1);
        // --force sends even so.
        lab.run(&config, &mut world, 1600, true);
        assert_eq!(lab.sent().len(), 2);
    }

    #[test]
    fn a_lan_host_follows_a_prefix_change() {
        let lab = Lab::new("lanhost");
        let config = lab.config("\toption host_suffix '::1:2'\n\toption ipv4 '0'\n");
        let mut world = dual_stack_world();
        lab.run(&config, &mut world, 1000, false);
        world.dump = fixture("ubus_renumbered.json");
        lab.run(&config, &mut world, 1300, false);
        lab.run(&config, &mut world, 1600, false);
        let sent: Vec<Vec<(Family, IpAddr)>> = lab.sent().into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            sent,
            [
                vec![(Family::V6, ip("2001:db8:aa00:10::1:2"))],
                vec![(Family::V6, ip("2001:db8:bb00:10::1:2"))],
            ]
        );
    }

    #[test]
    fn never_publishes_the_ula_the_upstream_router_hands_out() {
        let lab = Lab::new("ula");
        let config = lab.config("\toption ipv4 '0'\n");
        let mut world = Fake {
            dump: fixture("ubus_ula_deprecated.json"),
            ..Fake::default()
        };
        lab.run(&config, &mut world, 1000, false);
        assert_eq!(
            lab.sent()[0].1,
            [(Family::V6, ip("2001:db8:6:1:2a0:c9ff:fe12:3456"))]
        );
    }

    #[test]
    fn behind_cgnat_skips_or_publishes_the_web_address() {
        let lab = Lab::new("cgnat");
        let mut world = Fake {
            dump: fixture("ubus_pppoe_cgnat.json"),
            web: [(
                "http://echo/4".to_string(),
                "ip=198.51.100.200\n".to_string(),
            )]
            .into(),
            ..Fake::default()
        };
        let skip = lab.config(ECHO);
        lab.run(&skip, &mut world, 1000, false);
        assert_eq!(lab.sent()[0].1, [(Family::V6, ip("2001:db8:dd:1::5"))]);
        assert!(
            !world.asked.iter().any(|a| a.starts_with("web")),
            "skip needs no web: {:?}",
            world.asked
        );
        let state = State::load(&lab.dir.join("run"));
        let nat = state
            .wan
            .iter()
            .find(|w| w.address == ip("100.72.13.5"))
            .unwrap();
        assert_eq!(nat.interface, "wan");
        assert!(
            nat.nat.as_deref().unwrap().contains("carrier-grade NAT"),
            "{nat:?}"
        );

        let web = lab.config(&format!("{ECHO}\toption cgnat 'web'\n"));
        lab.run(&web, &mut world, 2000, false);
        assert_eq!(
            lab.sent()[1].1,
            [
                (Family::V4, ip("198.51.100.200")),
                (Family::V6, ip("2001:db8:dd:1::5"))
            ]
        );
    }

    #[test]
    fn a_public_wan_address_the_internet_does_not_see_is_not_published() {
        let lab = Lab::new("natcheck");
        let config = lab.config(ECHO);
        let mut world = dual_stack_world();
        world
            .web
            .insert("http://echo/4".into(), "198.51.100.9".into());
        lab.run(&config, &mut world, 1000, false);
        assert_eq!(lab.sent()[0].1, [(Family::V6, ip("2001:db8:0:1::1234"))]);
        // The verdict is kept: later runs neither ask the web nor call the
        // provider while the WAN address stays.
        world.asked.clear();
        lab.run(&config, &mut world, 1300, false);
        assert_eq!(world.asked, ["ubus"]);
        assert_eq!(lab.sent().len(), 1);
        let state = State::load(&lab.dir.join("run"));
        let seen = state
            .wan
            .iter()
            .find(|w| w.address == ip("203.0.113.45"))
            .unwrap();
        assert!(
            seen.nat.as_deref().unwrap().contains("NAT upstream"),
            "{seen:?}"
        );

        let lab = Lab::new("natcheck-v4");
        let config = lab.config(&format!("{ECHO}\toption ipv6 '0'\n"));
        let out = lab.run(&config, &mut world, 1000, false);
        assert!(matches!(out[0].1, Outcome::Skipped(_)), "{out:?}");
        assert!(lab.sent().is_empty());
        let off = lab.config(&format!(
            "{ECHO}\toption ipv6 '0'\n\toption nat_check '0'\n"
        ));
        lab.run(&off, &mut world, 1000, false);
        assert_eq!(lab.sent()[0].1, [(Family::V4, ip("203.0.113.45"))]);
    }

    #[test]
    fn errors_back_off_and_refusals_wait_for_a_fix() {
        let lab = Lab::new("errors");
        let config = lab.config(&format!("{ECHO}\toption ipv6 '0'\n"));
        let mut world = dual_stack_world();
        *lab.calls.fail.borrow_mut() = Some(|| Error::Dns("server down".into()));
        let out = lab.run(&config, &mut world, 1000, false);
        assert!(matches!(out[0].1, Outcome::Failed(_)));
        lab.run(&config, &mut world, 1100, false);
        assert_eq!(lab.sent().len(), 1, "backing off");
        lab.run(
            &config,
            &mut world,
            1000 + update::FIRST_BACKOFF as i64,
            false,
        );
        assert_eq!(lab.sent().len(), 2, "retried after the back-off");

        *lab.calls.fail.borrow_mut() = Some(|| Error::Refused {
            msg: "badauth".into(),
            retry_after: None,
        });
        lab.run(&config, &mut world, 100_000, false);
        for t in [100_300, 200_000, 900_000] {
            let out = lab.run(&config, &mut world, t, false);
            assert!(matches!(out[0].1, Outcome::Refused(_)));
        }
        assert_eq!(lab.sent().len(), 3, "no retry after a refusal");
        let status = State::load(&lab.dir.join("run"));
        assert_eq!(
            status.record("home").unwrap().last_error.as_deref(),
            Some("badauth")
        );
        // A changed configuration (a fixed password) tries again.
        *lab.calls.fail.borrow_mut() = None;
        let fixed = lab.config(&format!("{ECHO}\toption ipv6 '0'\n\toption ttl '120'\n"));
        lab.run(&fixed, &mut world, 900_300, false);
        assert_eq!(lab.sent().len(), 4);
        assert_eq!(
            State::load(&lab.dir.join("run"))
                .record("home")
                .unwrap()
                .last_error,
            None
        );
    }

    #[test]
    fn force_interval_reads_the_dns_or_refreshes() {
        let lab = Lab::new("interval");
        let config = lab.config(&format!(
            "{ECHO}\toption ipv6 '0'\n\toption force_interval '1h'\n"
        ));
        let mut world = dual_stack_world();
        world.dns = Some((vec![ip("203.0.113.45")], vec![]));
        lab.run(&config, &mut world, 1000, false);
        world.asked.clear();
        lab.run(&config, &mut world, 1000 + 3600, false);
        assert_eq!(world.asked, ["ubus", "dns home.example.com"]);
        assert!(lab.sent().is_empty());
        // Drift: someone changed the record by hand.
        world.dns = Some((vec![ip("192.0.2.1")], vec![]));
        lab.run(&config, &mut world, 1000 + 7200, false);
        assert_eq!(lab.sent().len(), 1);
        // A dyndns2-like provider is sent to at the interval without asking.
        let mut lab = Lab::new("refresh");
        lab.calls.refresh = true;
        let config = lab.config(&format!(
            "{ECHO}\toption ipv6 '0'\n\toption force_interval '1h'\n"
        ));
        world.dns = Some((vec![ip("203.0.113.45")], vec![]));
        lab.run(&config, &mut world, 1000, false);
        world.asked.clear();
        lab.run(&config, &mut world, 1000 + 3600, false);
        assert_eq!(world.asked, ["ubus"]);
        assert_eq!(lab.sent().len(), 1);
    }

    #[test]
    fn kernel_route_and_script_sources() {
        let lab = Lab::new("sources");
        let mut world = Fake {
            if_inet6: fixture("if_inet6_router"),
            ..Fake::default()
        };
        let kernel = lab
            .config("\toption source 'interface'\n\toption nat_check '0'\n")
            .ddns;
        let config = Config {
            ddns: kernel,
            ..lab.config("")
        };
        let mut config = config;
        config.ddns[0].source = Some(AddrSource::Interface);
        lab.run(&config, &mut world, 1000, false);
        // IPv4 from `ip addr show dev pppoe-wan` (the default route's
        // device), which is carrier-grade NAT: skipped; IPv6 from eth1.
        assert!(
            world.asked.contains(&"ip pppoe-wan".to_string()),
            "{:?}",
            world.asked
        );
        assert_eq!(
            lab.sent()[0].1,
            [(Family::V6, ip("2001:db8:6:1:2a0:c9ff:fe12:3456"))]
        );

        // The kernel would use the temporary address: the stable one of the
        // same device is published instead.
        config.ddns[0].source = Some(AddrSource::Route);
        config.ddns[0].domain = "route.example.com".into();
        lab.run(&config, &mut world, 2000, false);
        assert_eq!(
            lab.sent()[1].1,
            [
                (Family::V4, ip("203.0.113.45")),
                (Family::V6, ip("2001:db8:6:1:2a0:c9ff:fe12:3456"))
            ]
        );

        config.ddns[0].source = Some(AddrSource::Script);
        config.ddns[0].script = vec!["/usr/bin/myip".into()];
        lab.run(&config, &mut world, 3000, false);
        assert_eq!(
            lab.sent()[2].1,
            [
                (Family::V4, ip("203.0.113.99")),
                (Family::V6, ip("2001:db8::99"))
            ]
        );
    }

    #[test]
    fn web_source_tries_urls_in_order() {
        let lab = Lab::new("web");
        let config = lab.config(
            "\toption source 'web'\n\tlist web_url 'http://down/'\n\tlist web_url 'http://junk/'\n\tlist web_url 'http://echo/'\n",
        );
        let mut world = Fake {
            web: [
                ("http://junk/".to_string(), "<html>hello</html>".to_string()),
                (
                    "http://echo/".to_string(),
                    "203.0.113.45 2001:db8::45".to_string(),
                ),
            ]
            .into(),
            ..Fake::default()
        };
        lab.run(&config, &mut world, 1000, false);
        assert_eq!(
            lab.sent()[0].1,
            [
                (Family::V4, ip("203.0.113.45")),
                (Family::V6, ip("2001:db8::45"))
            ]
        );
        // Each URL once per family, however many records ask.
        let webs = world.asked.iter().filter(|a| a.starts_with("web")).count();
        assert_eq!(webs, 6);
        // An IPv4-only network: the IPv6 lookup fails, the A record is
        // still kept current and the run is not a failure.
        let v4_only = lab.config(
            "\toption source 'web'\n\tlist web_url 'http://junk/'\n\tlist web_url 'http://v4/'\n",
        );
        let mut world = Fake {
            web: [("http://v4/".to_string(), "198.51.100.4".to_string())].into(),
            ..Fake::default()
        };
        let out = lab.run(&v4_only, &mut world, 1500, false);
        assert!(matches!(out[0].1, Outcome::Updated(_)), "{out:?}");
        assert_eq!(lab.sent()[1].1, [(Family::V4, ip("198.51.100.4"))]);
        let bad = lab.config("\toption source 'web'\n\tlist web_url 'http://down/'\n");
        let out = lab.run(&bad, &mut Fake::default(), 2000, false);
        let Outcome::Failed(e) = &out[0].1 else {
            panic!("{out:?}")
        };
        assert!(
            e.to_string()
                .contains("no web echo service answered over IPv4"),
            "{e}"
        );
    }
}
