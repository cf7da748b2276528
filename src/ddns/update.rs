//! When to talk to the provider: pure decisions over the cache a run keeps
//! in `run_dir` (RAM on OpenWrt).
//!
//! A record whose addresses match what the cache says was published costs
//! nothing: no provider call, no DNS question, no write. When the cache
//! knows nothing (after a reboot), or `force_interval` has passed since the
//! record was last confirmed, the authoritative servers are asked first, so
//! drift is repaired and an unchanged record still costs no API call. After
//! a failure the record backs off; after a refusal that retrying cannot fix
//! (bad credentials, unknown host) it waits for a configuration change or
//! `--force`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::providers::Family;
use crate::{Error, Result, store};

/// Back-off after the first failure, doubled for each further one.
pub const FIRST_BACKOFF: u64 = 300;
/// The longest back-off: a record is retried at least this often.
pub const MAX_BACKOFF: u64 = 3600;

/// What the runs remember, in `run_dir/ddns.json`. Written and read
/// through `serde_json::Value` (see `to_json`), whose code the binary has
/// anyway, rather than derived (de)serializers, which would cost flash.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct State {
    /// One per `config ddns` section.
    pub records: Vec<Entry>,
    /// The WAN addresses the sources reported on the last run.
    pub wan: Vec<WanSeen>,
    /// When the last pass read them (Unix seconds). It changes every pass,
    /// so every pass writes this file — in RAM, never on flash.
    pub checked: Option<i64>,
}

/// One WAN address as a source reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WanSeen {
    pub address: IpAddr,
    /// The ubus interface or the device; empty when the source has none.
    pub interface: String,
    pub source: String,
    /// Why it cannot be reached from the Internet, when it cannot.
    pub nat: Option<String>,
}

/// One record's memory.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    /// The `config ddns` section's name.
    pub name: String,
    /// A digest of the record's and its provider's configuration: when it
    /// changes, everything below is forgotten.
    pub config: String,
    pub v4: FamilyState,
    pub v6: FamilyState,
    /// When the published addresses were last confirmed (sent, or read
    /// back from the authoritative servers). Unix seconds.
    pub confirmed: Option<i64>,
    /// Failures in a row.
    pub failures: u32,
    /// No attempt before this time (Unix seconds).
    pub retry_at: Option<i64>,
    /// The provider refused for a reason retrying cannot fix.
    pub refused: bool,
    pub last_error: Option<String>,
}

/// One family of a record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FamilyState {
    /// The address the sources give now (what should be published).
    pub current: Option<IpAddr>,
    /// What the DNS holds, as far as we know.
    pub published: Vec<IpAddr>,
    /// When `published` last changed (Unix seconds).
    pub changed: Option<i64>,
    /// A public-looking WAN address that a web echo saw hidden behind
    /// another one (IPv4 only).
    pub nat: Option<IpAddr>,
}

// ---- the JSON form: absent values are left out ---------------------------

fn put(m: &mut Map<String, Value>, key: &str, v: impl Into<Value>) {
    m.insert(key.into(), v.into());
}

fn put_some<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        put(m, key, v);
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn ip(v: &Value, key: &str) -> Option<IpAddr> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn ips(addrs: &[IpAddr]) -> Value {
    addrs.iter().map(|a| Value::from(a.to_string())).collect()
}

impl FamilyState {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        put_some(&mut m, "current", self.current.map(|a| a.to_string()));
        if !self.published.is_empty() {
            put(&mut m, "published", ips(&self.published));
        }
        put_some(&mut m, "changed", self.changed);
        put_some(&mut m, "nat", self.nat.map(|a| a.to_string()));
        m.into()
    }

    fn from_json(v: &Value) -> FamilyState {
        FamilyState {
            current: ip(v, "current"),
            published: v
                .get("published")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str()?.parse().ok()).collect())
                .unwrap_or_default(),
            changed: int(v, "changed"),
            nat: ip(v, "nat"),
        }
    }
}

impl Entry {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        put(&mut m, "name", self.name.as_str());
        put(&mut m, "config", self.config.as_str());
        put(&mut m, "v4", self.v4.to_json());
        put(&mut m, "v6", self.v6.to_json());
        put_some(&mut m, "confirmed", self.confirmed);
        if self.failures > 0 {
            put(&mut m, "failures", self.failures);
        }
        put_some(&mut m, "retry_at", self.retry_at);
        if self.refused {
            put(&mut m, "refused", true);
        }
        put_some(&mut m, "last_error", self.last_error.as_deref());
        m.into()
    }

    fn from_json(v: &Value) -> Entry {
        let family = |k: &str| v.get(k).map(FamilyState::from_json).unwrap_or_default();
        Entry {
            name: text(v, "name").unwrap_or_default(),
            config: text(v, "config").unwrap_or_default(),
            v4: family("v4"),
            v6: family("v6"),
            confirmed: int(v, "confirmed"),
            failures: int(v, "failures")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            retry_at: int(v, "retry_at"),
            refused: v.get("refused").and_then(Value::as_bool).unwrap_or(false),
            last_error: text(v, "last_error"),
        }
    }
}

impl WanSeen {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        put(&mut m, "address", self.address.to_string());
        if !self.interface.is_empty() {
            put(&mut m, "interface", self.interface.as_str());
        }
        put(&mut m, "source", self.source.as_str());
        put_some(&mut m, "nat", self.nat.as_deref());
        m.into()
    }

    fn from_json(v: &Value) -> Option<WanSeen> {
        Some(WanSeen {
            address: ip(v, "address")?,
            interface: text(v, "interface").unwrap_or_default(),
            source: text(v, "source").unwrap_or_default(),
            nat: text(v, "nat"),
        })
    }
}

impl Entry {
    pub fn family(&self, f: Family) -> &FamilyState {
        match f {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }
    pub fn family_mut(&mut self, f: Family) -> &mut FamilyState {
        match f {
            Family::V4 => &mut self.v4,
            Family::V6 => &mut self.v6,
        }
    }
}

impl State {
    /// The entry of record `name`.
    pub fn record(&self, name: &str) -> Option<&Entry> {
        self.records.iter().find(|e| e.name == name)
    }

    /// Put `entry` in place of the one of the same name.
    pub fn put(&mut self, entry: Entry) {
        match self.records.iter_mut().find(|e| e.name == entry.name) {
            Some(e) => *e = entry,
            None => self.records.push(entry),
        }
    }

    fn path(run_dir: &Path) -> PathBuf {
        run_dir.join("ddns.json")
    }

    /// Read it; missing or unreadable is empty (it is a cache: the
    /// authoritative servers are asked when it knows nothing).
    pub fn load(run_dir: &Path) -> State {
        store::read(&Self::path(run_dir))
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_slice::<Value>(t.as_bytes()).ok())
            .map(|v| State::from_json(&v))
            .unwrap_or_default()
    }

    /// Write it when it changed. Owner-only: errors may quote a provider.
    pub fn save(&self, run_dir: &Path) -> Result<()> {
        store::ensure_dir(run_dir)?;
        let text = self.to_json().to_string();
        store::write_if_changed(&Self::path(run_dir), text.as_bytes(), store::SECRET).map(drop)
    }

    /// The JSON form: `{"records": [...], "wan": [...], "checked": N}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let records: Value = self.records.iter().map(Entry::to_json).collect();
        put(&mut m, "records", records);
        if !self.wan.is_empty() {
            let wan: Value = self.wan.iter().map(WanSeen::to_json).collect();
            put(&mut m, "wan", wan);
        }
        put_some(&mut m, "checked", self.checked);
        m.into()
    }

    pub fn from_json(v: &Value) -> State {
        let list = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        State {
            records: list("records").iter().map(Entry::from_json).collect(),
            wan: list("wan").iter().filter_map(WanSeen::from_json).collect(),
            checked: int(v, "checked"),
        }
    }
}

/// The addresses a record should have now, per family: `None` when the
/// family is off or has no address right now (its record is then left
/// alone: a WAN that is down must not empty the DNS).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub v4: Option<IpAddr>,
    pub v6: Option<IpAddr>,
}

impl Want {
    pub fn get(&self, f: Family) -> Option<IpAddr> {
        match f {
            Family::V4 => self.v4,
            Family::V6 => self.v6,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.v4.is_none() && self.v6.is_none()
    }
    /// Families with an address, with it.
    pub fn each(&self) -> impl Iterator<Item = (Family, IpAddr)> {
        [(Family::V4, self.v4), (Family::V6, self.v6)]
            .into_iter()
            .filter_map(|(f, a)| a.map(|a| (f, a)))
    }
}

/// Why a record is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `--force`.
    Forced,
    /// An address differs from what is published.
    Changed,
    /// `force_interval` passed and the provider wants to hear from us
    /// (dyndns2 services drop hosts that stay silent).
    Refresh,
}

/// What a run does with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Nothing: the cache says the DNS is current.
    Idle,
    /// No address for any enabled family right now.
    NoAddress,
    /// Backing off after a failure, until then.
    Wait {
        until: i64,
    },
    /// The provider refused; waiting for a configuration change or --force.
    Refused,
    /// Ask the authoritative servers what they hold, then decide
    /// (`after_lookup`). `interval`: because force_interval passed.
    Lookup {
        interval: bool,
    },
    Send(Why),
}

/// Decide from the cache alone (no I/O). `entry` has already been reset if
/// the configuration changed (`fresh_entry`).
pub fn plan(
    entry: Option<&Entry>,
    want: &Want,
    now: i64,
    force_interval: Duration,
    force: bool,
) -> Plan {
    if want.is_empty() {
        return Plan::NoAddress;
    }
    if force {
        return Plan::Send(Why::Forced);
    }
    let Some(e) = entry else {
        return Plan::Lookup { interval: false };
    };
    if e.refused {
        return Plan::Refused;
    }
    if let Some(until) = e.retry_at
        && now < until
    {
        return Plan::Wait { until };
    }
    let Some(confirmed) = e.confirmed else {
        return Plan::Lookup { interval: false };
    };
    let interval = force_interval.as_secs() as i64;
    if interval > 0 && now.saturating_sub(confirmed) >= interval {
        return Plan::Lookup { interval: true };
    }
    if differs(e, want) {
        return Plan::Send(Why::Changed);
    }
    Plan::Idle
}

/// Whether any wanted address is not exactly what is published.
fn differs(e: &Entry, want: &Want) -> bool {
    want.each().any(|(f, a)| e.family(f).published != [a])
}

/// What the authoritative servers answered, per server: (A, AAAA).
pub type Answers = Vec<(Vec<IpAddr>, Vec<IpAddr>)>;

/// After a lookup: send when any server's answer differs from what we want
/// (or the lookup failed: we cannot know), or when the interval passed and
/// the provider wants a refresh anyway. Otherwise the entry records the
/// answer as published and confirmed now.
pub fn after_lookup(
    entry: &mut Entry,
    want: &Want,
    answers: Option<&Answers>,
    interval: bool,
    refresh: bool,
    now: i64,
) -> Option<Why> {
    let Some(answers) = answers.filter(|a| !a.is_empty()) else {
        return Some(Why::Changed);
    };
    let agree = want.each().all(|(f, a)| {
        answers.iter().all(|(v4, v6)| {
            let got = match f {
                Family::V4 => v4,
                Family::V6 => v6,
            };
            got.len() == 1 && got[0] == a
        })
    });
    if !agree {
        // Keep what the first server said, for status and the next plan.
        for (f, _) in want.each() {
            let (v4, v6) = &answers[0];
            let got = if f == Family::V4 { v4 } else { v6 };
            set_published(entry, f, got.clone(), now);
        }
        return Some(Why::Changed);
    }
    if interval && refresh {
        return Some(Why::Refresh);
    }
    for (f, a) in want.each() {
        set_published(entry, f, vec![a], now);
    }
    entry.confirmed = Some(now);
    None
}

fn set_published(entry: &mut Entry, f: Family, addrs: Vec<IpAddr>, now: i64) {
    let fam = entry.family_mut(f);
    if fam.published != addrs {
        fam.published = addrs;
        fam.changed = Some(now);
    }
}

/// Record a successful send of `want`.
pub fn sent(entry: &mut Entry, want: &Want, now: i64) {
    for (f, a) in want.each() {
        set_published(entry, f, vec![a], now);
    }
    entry.confirmed = Some(now);
    entry.failures = 0;
    entry.retry_at = None;
    entry.refused = false;
    entry.last_error = None;
}

/// Record a failed send: back off, or stop on a refusal.
pub fn failed(entry: &mut Entry, err: &Error, now: i64) {
    entry.failures = entry.failures.saturating_add(1);
    entry.last_error = Some(err.to_string());
    let backoff = backoff(entry.failures);
    match err {
        Error::Refused {
            retry_after: None, ..
        } => {
            entry.refused = true;
            entry.retry_at = None;
        }
        Error::Refused {
            retry_after: Some(d),
            ..
        } => entry.retry_at = Some(now + backoff.max(d.as_secs() as i64)),
        _ => entry.retry_at = Some(now + backoff),
    }
}

/// Seconds to wait after `failures` failures in a row.
pub fn backoff(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF << doublings).min(MAX_BACKOFF) as i64
}

/// The entry to plan with: the cached one while its configuration digest
/// matches, else none (a changed record, provider or credential starts
/// over, which also lifts a refusal).
pub fn fresh_entry(cached: Option<&Entry>, config: &str) -> Option<Entry> {
    cached.filter(|e| e.config == config).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86400);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn want(v4: Option<&str>, v6: Option<&str>) -> Want {
        Want {
            v4: v4.map(ip),
            v6: v6.map(ip),
        }
    }

    fn entry_with(v4: &str, confirmed: i64) -> Entry {
        let mut e = Entry {
            config: "c".into(),
            ..Entry::default()
        };
        sent(&mut e, &want(Some(v4), None), confirmed);
        e
    }

    #[test]
    fn unchanged_is_idle_and_a_change_is_sent() {
        let e = entry_with("203.0.113.1", 1000);
        let w = want(Some("203.0.113.1"), None);
        assert_eq!(plan(Some(&e), &w, 2000, DAY, false), Plan::Idle);
        let moved = want(Some("203.0.113.2"), None);
        assert_eq!(
            plan(Some(&e), &moved, 2000, DAY, false),
            Plan::Send(Why::Changed)
        );
        // A family appearing (IPv6 came up) is a change; one disappearing
        // (the WAN went down) is not: its record stays.
        let both = want(Some("203.0.113.1"), Some("2001:db8::1"));
        assert_eq!(
            plan(Some(&e), &both, 2000, DAY, false),
            Plan::Send(Why::Changed)
        );
        assert_eq!(
            plan(Some(&e), &want(None, None), 2000, DAY, false),
            Plan::NoAddress
        );
        assert_eq!(plan(Some(&e), &w, 2000, DAY, true), Plan::Send(Why::Forced));
    }

    #[test]
    fn no_cache_or_an_old_confirmation_asks_the_dns_first() {
        let w = want(Some("203.0.113.1"), None);
        assert_eq!(
            plan(None, &w, 5, DAY, false),
            Plan::Lookup { interval: false }
        );
        let e = entry_with("203.0.113.1", 1000);
        assert_eq!(
            plan(Some(&e), &w, 1000 + 86400, DAY, false),
            Plan::Lookup { interval: true }
        );
        assert_eq!(plan(Some(&e), &w, 1000 + 86399, DAY, false), Plan::Idle);
        // force_interval 0: never.
        assert_eq!(
            plan(Some(&e), &w, 1000 + 10 * 86400, Duration::ZERO, false),
            Plan::Idle
        );
    }

    #[test]
    fn a_lookup_that_agrees_costs_no_call() {
        let w = want(Some("203.0.113.1"), Some("2001:db8::1"));
        let mut e = Entry::default();
        let same: Answers = vec![
            (vec![ip("203.0.113.1")], vec![ip("2001:db8::1")]),
            (vec![ip("203.0.113.1")], vec![ip("2001:db8::1")]),
        ];
        assert_eq!(
            after_lookup(&mut e, &w, Some(&same), false, false, 50),
            None
        );
        assert_eq!(e.confirmed, Some(50));
        assert_eq!(e.v6.published, [ip("2001:db8::1")]);
        assert_eq!(plan(Some(&e), &w, 60, DAY, false), Plan::Idle);
        // One server lagging, a second A value, or no answer at all: send.
        let lagging: Answers = vec![
            same[0].clone(),
            (vec![ip("203.0.113.9")], vec![ip("2001:db8::1")]),
        ];
        assert_eq!(
            after_lookup(&mut Entry::default(), &w, Some(&lagging), false, false, 50),
            Some(Why::Changed)
        );
        let two: Answers = vec![(
            vec![ip("203.0.113.1"), ip("203.0.113.9")],
            vec![ip("2001:db8::1")],
        )];
        assert_eq!(
            after_lookup(&mut Entry::default(), &w, Some(&two), false, false, 50),
            Some(Why::Changed)
        );
        assert_eq!(
            after_lookup(&mut Entry::default(), &w, None, false, false, 50),
            Some(Why::Changed)
        );
        // The interval passed and the provider wants refreshes: send anyway.
        assert_eq!(
            after_lookup(&mut Entry::default(), &w, Some(&same), true, true, 50),
            Some(Why::Refresh)
        );
        assert_eq!(
            after_lookup(&mut Entry::default(), &w, Some(&same), true, false, 50),
            None
        );
    }

    #[test]
    fn failures_back_off_and_refusals_stop() {
        let w = want(Some("203.0.113.1"), None);
        let mut e = Entry::default();
        failed(&mut e, &Error::Dns("timeout".into()), 1000);
        assert_eq!(e.retry_at, Some(1300));
        assert_eq!(
            plan(Some(&e), &w, 1299, DAY, false),
            Plan::Wait { until: 1300 }
        );
        failed(&mut e, &Error::Dns("timeout".into()), 1300);
        assert_eq!(e.retry_at, Some(1900));
        for _ in 0..20 {
            failed(&mut e, &Error::Dns("timeout".into()), 0);
        }
        assert_eq!(e.retry_at, Some(MAX_BACKOFF as i64));
        let maintenance = Error::Refused {
            msg: "911".into(),
            retry_after: Some(Duration::from_secs(1800)),
        };
        let mut e = Entry::default();
        failed(&mut e, &maintenance, 0);
        assert_eq!(e.retry_at, Some(1800));
        let badauth = Error::Refused {
            msg: "badauth".into(),
            retry_after: None,
        };
        failed(&mut e, &badauth, 10);
        assert!(e.refused);
        assert_eq!(plan(Some(&e), &w, 1_000_000, DAY, false), Plan::Refused);
        assert_eq!(
            plan(Some(&e), &w, 1_000_000, DAY, true),
            Plan::Send(Why::Forced)
        );
        assert_eq!(e.last_error.as_deref(), Some("badauth"));
        // A changed configuration lifts it.
        let e = Entry {
            config: "old".into(),
            ..e
        };
        assert!(fresh_entry(Some(&e), "new").is_none());
        assert!(fresh_entry(Some(&e), "old").is_some_and(|e| e.refused));
        sent(&mut e.clone(), &w, 5);
    }

    #[test]
    fn state_round_trips_and_stays_small() {
        let mut s = State::default();
        s.put(Entry {
            name: "home".into(),
            ..entry_with("203.0.113.1", 1000)
        });
        s.wan.push(WanSeen {
            address: ip("100.72.13.5"),
            interface: "wan".into(),
            source: "ubus".into(),
            nat: Some("CGNAT".into()),
        });
        s.checked = Some(1234);
        let text = s.to_json().to_string();
        assert_eq!(
            text,
            r#"{"checked":1234,"records":[{"config":"c","confirmed":1000,"name":"home","v4":{"changed":1000,"published":["203.0.113.1"]},"v6":{}}],"wan":[{"address":"100.72.13.5","interface":"wan","nat":"CGNAT","source":"ubus"}]}"#
        );
        let back = State::from_json(&serde_json::from_str(&text).unwrap());
        assert_eq!(back, s);
        // Every field, set, comes back.
        let mut e = Entry {
            name: "x".into(),
            config: "d".into(),
            confirmed: Some(1),
            failures: 3,
            retry_at: Some(9),
            refused: true,
            last_error: Some("why".into()),
            ..Entry::default()
        };
        e.v6 = FamilyState {
            current: Some(ip("2001:db8::1")),
            published: vec![ip("2001:db8::1"), ip("2001:db8::2")],
            changed: Some(5),
            nat: Some(ip("192.0.2.1")),
        };
        assert_eq!(Entry::from_json(&e.to_json()), e);
        // Garbage is an empty cache, not an error.
        assert_eq!(
            State::from_json(&serde_json::json!([1, 2])),
            State::default()
        );
    }
}
