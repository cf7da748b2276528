//! Notifications (`config notify`): tell a person when a certificate was
//! renewed, when renewing one failed, and when one whose renewals keep
//! failing nears its expiry. Let's Encrypt no longer sends expiry mail, so
//! this is the only warning a user gets. A notifier is one file here, listed
//! in `TYPES`.
//!
//! Failures and expiry warnings are rate-limited per certificate (global
//! option `notify_interval`, a day by default), so an hourly cron job that
//! keeps failing does not send one every hour. What was sent when is kept in
//! `run_dir/notify.json`, in RAM: after a reboot an ongoing failure is told
//! once more, which is better than writing flash at every notification.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{Config, PluginSection};
use crate::http::Http;
use crate::run::{CertFiles, Outcome};
use crate::{Error, Result, der, store};

pub mod command;
pub mod ntfy;
pub mod telegram;
pub mod webhook;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A certificate was issued or renewed.
    Renewed,
    /// Issuing, renewing or deploying a certificate failed.
    Failed,
    /// Renewing failed and the installed certificate expires soon.
    Expiring,
}

impl Kind {
    /// Every kind, in the order of `list event` documentation.
    pub const ALL: [Kind; 3] = [Kind::Renewed, Kind::Failed, Kind::Expiring];

    /// The name used in `list event` and in the webhook's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Renewed => "renewed",
            Kind::Failed => "failed",
            Kind::Expiring => "expiring",
        }
    }
}

/// One notification, as every notifier receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: Kind,
    /// The `config cert` section's name.
    pub cert: String,
    pub domains: Vec<String>,
    /// One line: the new expiry, or the error.
    pub message: String,
    /// Expiry of the installed certificate (Unix seconds), if there is one.
    pub not_after: Option<i64>,
    /// The router's host name, so that one inbox can tell routers apart.
    pub host: String,
    /// When it happened (Unix seconds).
    pub time: i64,
}

impl Event {
    /// A short subject line.
    pub fn title(&self) -> String {
        let (host, cert) = (&self.host, &self.cert);
        match self.kind {
            Kind::Renewed => format!("{host}: certificate {cert} renewed"),
            Kind::Failed => format!("{host}: certificate {cert} could not be renewed"),
            Kind::Expiring => match self.not_after {
                Some(t) => format!(
                    "{host}: certificate {cert} expires in {} days",
                    (t - self.time).div_euclid(86400)
                ),
                None => format!("{host}: certificate {cert} expires soon"),
            },
        }
    }

    /// The plain-text body: title, names, message.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.title(),
            self.domains.join(", "),
            self.message
        )
    }

    /// The JSON document webhooks receive (documented in README).
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "event": self.kind.name(),
            "cert": self.cert,
            "domains": self.domains,
            "title": self.title(),
            "message": self.message,
            "not_after": self.not_after.map(der::rfc3339),
            "host": self.host,
            "time": der::rfc3339(self.time),
        })
    }
}

/// Sends events somewhere.
pub trait Notifier {
    /// Deliver one event; an error says what failed and never holds a secret.
    fn send(&self, event: &Event) -> Result<()>;
}

/// Builds a notifier from its section; it sends through `http`.
pub type Builder = for<'a> fn(&PluginSection, &'a dyn Http) -> Result<Box<dyn Notifier + 'a>>;

/// A notifier type: its `option type` name, a line about it, its builder.
pub struct NotifyType {
    pub name: &'static str,
    pub about: &'static str,
    pub build: Builder,
}

/// Every notifier type built in.
pub const TYPES: &[NotifyType] = &[command::TYPE, ntfy::TYPE, telegram::TYPE, webhook::TYPE];

/// Build the notifier a `config notify` section describes.
pub fn build<'a>(section: &PluginSection, http: &'a dyn Http) -> Result<Box<dyn Notifier + 'a>> {
    match TYPES.iter().find(|t| t.name == section.kind) {
        Some(t) => (t.build)(section, http),
        None => {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            Err(section.error(
                "type",
                &format!(
                    "unknown notify type '{}': use one of {}",
                    section.kind,
                    known.join(", ")
                ),
            ))
        }
    }
}

/// The kinds a section wants (`list event`; every kind when absent).
pub fn wanted(section: &PluginSection) -> Result<Vec<Kind>> {
    let names = section.list("event");
    if names.is_empty() {
        return Ok(Kind::ALL.to_vec());
    }
    names
        .iter()
        .map(|n| {
            Kind::ALL
                .into_iter()
                .find(|k| k.name() == *n)
                .ok_or_else(|| {
                    section.error(
                        "event",
                        &format!("list event '{n}' is not one of renewed, failed, expiring"),
                    )
                })
        })
        .collect()
}

/// `scheme://host[:port]` of a URL: all that errors show of it, because the
/// path or query of a webhook or bot URL often is the secret.
pub fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

/// A sending error as one line naming `what`, without the request's URL and
/// with every one of `secrets` blanked out.
pub fn failed(what: &str, e: Error, secrets: &[&str]) -> Error {
    let mut msg = match e {
        Error::Http { msg, .. } => msg,
        e => e.to_string(),
    };
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        msg = msg.replace(*s, "***");
    }
    Error::other(format!("{what}: {msg}"))
}

/// Check a URL option: http(s), a host, no spaces.
pub fn url_option<'s>(section: &'s PluginSection, key: &str) -> Result<&'s str> {
    let url = section.required(key)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.bytes().any(|c| c <= b' ') => {
            Ok(url)
        }
        _ => Err(section.error(
            key,
            &format!(
                "option {key} is not an http:// or https:// URL: write it as https://host/path"
            ),
        )),
    }
}

/// How one certificate's pass ended, as notifications see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Issued,
    Fresh,
    Failed(String),
}

/// One certificate after a pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub cert: String,
    pub domains: Vec<String>,
    pub done: Done,
    /// Expiry of the certificate installed after the pass.
    pub not_after: Option<i64>,
}

/// The events a pass gives: a renewal per issued certificate; a failure per
/// failed one, and an expiry warning too when what is installed expires
/// within `warn_days`.
pub fn events(reports: &[Report], host: &str, now: i64, warn_days: u32) -> Vec<Event> {
    let mut out = Vec::new();
    for r in reports {
        let event = |kind, message: String| Event {
            kind,
            cert: r.cert.clone(),
            domains: r.domains.clone(),
            message,
            not_after: r.not_after,
            host: host.into(),
            time: now,
        };
        match &r.done {
            Done::Fresh => {}
            Done::Issued => {
                let until = r.not_after.map(der::rfc3339).unwrap_or_default();
                out.push(event(Kind::Renewed, format!("valid until {until}")));
            }
            Done::Failed(error) => {
                out.push(event(Kind::Failed, error.clone()));
                let soon = r
                    .not_after
                    .is_some_and(|t| t - now <= i64::from(warn_days) * 86400);
                if soon {
                    let until = r.not_after.map(der::rfc3339).unwrap_or_default();
                    let msg = format!(
                        "the installed certificate expires at {until} and renewing it keeps failing: {error}"
                    );
                    out.push(event(Kind::Expiring, msg));
                }
            }
        }
    }
    out
}

/// When the last failure and expiry warning about each certificate went out.
/// Read and written by hand (`crate::json` says why).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sent {
    /// `CERT/KIND` → Unix seconds.
    pub last: BTreeMap<String, i64>,
}

impl Sent {
    fn key(e: &Event) -> String {
        format!("{}/{}", e.cert, e.kind.name())
    }

    /// Whether `e` goes out now: renewals always; failures and warnings when
    /// none of the kind about that certificate went out in `interval`.
    pub fn due(&self, e: &Event, now: i64, interval: i64) -> bool {
        e.kind == Kind::Renewed
            || self
                .last
                .get(&Self::key(e))
                .is_none_or(|t| now - t >= interval || now < *t)
    }

    /// Note that `e` went out at `now`.
    pub fn record(&mut self, e: &Event, now: i64) {
        if e.kind != Kind::Renewed {
            self.last.insert(Self::key(e), now);
        }
    }

    /// Forget certificates that are fine again (or gone), so that their next
    /// failure is told at once.
    pub fn forget_recovered(&mut self, reports: &[Report], configured: &[&str]) {
        crate::status::retain_entries(&mut self.last, |key, _| {
            let cert = key.rsplit_once('/').map_or(key, |(c, _)| c);
            configured.contains(&cert)
                && reports
                    .iter()
                    .find(|r| r.cert == cert)
                    .is_none_or(|r| matches!(r.done, Done::Failed(_)))
        });
    }

    fn path(run_dir: &Path) -> PathBuf {
        run_dir.join("notify.json")
    }

    /// Read it; missing or unreadable is empty (at worst a failure is told
    /// once more).
    pub fn load(run_dir: &Path) -> Sent {
        store::read(&Self::path(run_dir))
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_slice::<Value>(t.as_bytes()).ok())
            .map(|v| Sent::from_json(&v))
            .unwrap_or_default()
    }

    fn from_json(v: &Value) -> Sent {
        let last = v
            .get("last")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        Sent {
            last: last
                .filter_map(|(k, t)| Some((k.clone(), t.as_i64()?)))
                .collect(),
        }
    }

    fn to_json(&self) -> Value {
        let last = self.last.iter().map(|(k, t)| (k.clone(), Value::from(*t)));
        serde_json::json!({ "last": Value::Object(last.collect()) })
    }

    pub fn save(&self, run_dir: &Path) -> Result<()> {
        store::ensure_dir(run_dir)?;
        let text = self.to_json().to_string();
        store::write_if_changed(&Self::path(run_dir), text.as_bytes(), store::PUBLIC).map(drop)
    }
}

/// What a pass's outcomes mean for notifications (reads the installed
/// certificates' expiry).
pub fn reports(config: &Config, results: &[(String, Outcome)]) -> Vec<Report> {
    results
        .iter()
        .filter_map(|(name, outcome)| {
            let cert = config.cert(name)?;
            let not_after = CertFiles::new(&config.global.state_dir, name)
                .installed()
                .ok()
                .flatten()
                .map(|(_, info)| info.not_after);
            let done = match outcome {
                Outcome::Issued { .. } => Done::Issued,
                Outcome::Fresh { .. } => Done::Fresh,
                Outcome::Failed(e) => Done::Failed(e.to_string()),
                // Still failing: the earlier error stands, and an expiry
                // warning must keep coming while the back-off lasts.
                Outcome::BackingOff { retry_at } => Done::Failed(format!(
                    "renewal keeps failing; the next attempt is at {}",
                    crate::der::rfc3339(*retry_at)
                )),
            };
            Some(Report {
                cert: name.clone(),
                domains: cert.domains.clone(),
                done,
                not_after,
            })
        })
        .collect()
}

/// The router's host name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "router".into())
}

/// Send what a pass gives to every notifier that wants it. Never fails the
/// pass: a notifier that cannot send is logged, and an event no notifier
/// delivered is tried again by the next run.
pub fn dispatch(config: &Config, reports: &[Report], http: &dyn Http, now: i64) {
    if config.notifiers.is_empty() {
        return;
    }
    let mut targets = Vec::new();
    for section in &config.notifiers {
        match wanted(section).and_then(|kinds| Ok((kinds, build(section, http)?))) {
            Ok((kinds, notifier)) => targets.push((section.name.as_str(), kinds, notifier)),
            Err(e) => log::error!("notify {}: {e}", section.name),
        }
    }
    let run_dir = &config.global.run_dir;
    let mut sent = Sent::load(run_dir);
    let before = sent.clone();
    let configured: Vec<&str> = config.certs.iter().map(|c| c.name.as_str()).collect();
    sent.forget_recovered(reports, &configured);
    let interval = config.global.notify_interval.as_secs() as i64;
    let host = hostname();
    for event in events(reports, &host, now, config.global.expiry_warn_days) {
        if !sent.due(&event, now, interval) {
            log::debug!(
                "{}: {} already notified, not again before {}",
                event.cert,
                event.kind.name(),
                der::rfc3339(sent.last.get(&Sent::key(&event)).copied().unwrap_or(now) + interval)
            );
            continue;
        }
        let mut delivered = false;
        for (name, kinds, notifier) in &targets {
            if !kinds.contains(&event.kind) {
                continue;
            }
            match notifier.send(&event) {
                Ok(()) => {
                    log::info!("notify {name}: sent \"{}\"", event.title());
                    delivered = true;
                }
                Err(e) => log::error!("notify {name}: {e}"),
            }
        }
        if delivered {
            sent.record(&event, now);
        }
    }
    if sent != before
        && let Err(e) = sent.save(run_dir)
    {
        log::warn!("cannot record the notifications sent: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_750_000_000;
    const DAY: i64 = 86400;

    fn report(cert: &str, done: Done, not_after: Option<i64>) -> Report {
        Report {
            cert: cert.into(),
            domains: vec![format!("{cert}.example.com")],
            done,
            not_after,
        }
    }

    #[test]
    fn events_of_a_pass() {
        let reports = [
            report("a", Done::Issued, Some(NOW + 90 * DAY)),
            report("b", Done::Fresh, Some(NOW + 60 * DAY)),
            report(
                "c",
                Done::Failed("DNS: refused".into()),
                Some(NOW + 20 * DAY),
            ),
            report(
                "d",
                Done::Failed("DNS: refused".into()),
                Some(NOW + 5 * DAY),
            ),
            report("e", Done::Failed("no account".into()), None),
        ];
        let ev = events(&reports, "gw", NOW, 14);
        let kinds: Vec<_> = ev.iter().map(|e| (e.cert.as_str(), e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a", Kind::Renewed),
                ("c", Kind::Failed),
                ("d", Kind::Failed),
                ("d", Kind::Expiring),
                ("e", Kind::Failed),
            ]
        );
        assert_eq!(ev[0].title(), "gw: certificate a renewed");
        assert!(ev[0].message.contains(&der::rfc3339(NOW + 90 * DAY)));
        assert_eq!(ev[1].message, "DNS: refused");
        assert_eq!(ev[3].title(), "gw: certificate d expires in 5 days");
        assert!(ev[3].message.ends_with("keeps failing: DNS: refused"));
        let json = ev[3].json();
        assert_eq!(json["event"], "expiring");
        assert_eq!(json["domains"][0], "d.example.com");
        assert_eq!(json["host"], "gw");
        assert_eq!(json["not_after"], der::rfc3339(NOW + 5 * DAY));
    }

    #[test]
    fn failures_are_rate_limited_until_the_certificate_recovers() {
        let failing = [report(
            "c",
            Done::Failed("boom".into()),
            Some(NOW + 5 * DAY),
        )];
        let mut sent = Sent::default();
        let ev = events(&failing, "gw", NOW, 14);
        assert!(ev.iter().all(|e| sent.due(e, NOW, DAY)));
        ev.iter().for_each(|e| sent.record(e, NOW));

        // The next hourly runs: nothing new, until a day has passed.
        for hours in [1, 5, 23] {
            let t = NOW + hours * 3600;
            assert!(
                events(&failing, "gw", t, 14)
                    .iter()
                    .all(|e| !sent.due(e, t, DAY))
            );
        }
        let t = NOW + DAY;
        assert!(
            events(&failing, "gw", t, 14)
                .iter()
                .all(|e| sent.due(e, t, DAY))
        );

        // Renewals are never held back, and a recovery resets the limit.
        let renewed = [report("c", Done::Issued, Some(NOW + 90 * DAY))];
        let ev = events(&renewed, "gw", NOW + 3600, 14);
        assert!(sent.due(&ev[0], NOW + 3600, DAY));
        sent.record(&ev[0], NOW + 3600);
        assert_eq!(sent.last.len(), 2, "renewals are not recorded");
        sent.forget_recovered(&renewed, &["c"]);
        assert!(sent.last.is_empty());
        let t = NOW + 7200;
        assert!(
            events(&failing, "gw", t, 14)
                .iter()
                .all(|e| sent.due(e, t, DAY))
        );

        // A certificate that left the configuration is forgotten too.
        sent.record(&events(&failing, "gw", t, 14)[0], t);
        assert_eq!(sent.last.len(), 1);
        sent.forget_recovered(&[], &["other"]);
        assert!(sent.last.is_empty());
    }

    #[test]
    fn a_clock_that_went_back_does_not_silence_failures() {
        let failing = [report("c", Done::Failed("boom".into()), None)];
        let mut sent = Sent::default();
        let e = &events(&failing, "gw", NOW, 14)[0];
        sent.record(e, NOW);
        assert!(sent.due(e, NOW - 3600, DAY));
    }

    #[test]
    fn origins_and_redaction() {
        assert_eq!(
            origin("https://h.example:8443/bot123:ABC/send?x=1"),
            "https://h.example:8443"
        );
        assert_eq!(origin("http://h?token=1"), "http://h");
        assert_eq!(origin("https://h"), "https://h");
        let e = Error::Http {
            url: "https://api/botSECRET/sendMessage".into(),
            msg: "io: refused at /botSECRET".into(),
        };
        assert_eq!(
            failed("telegram", e, &["SECRET"]).to_string(),
            "telegram: io: refused at /bot***"
        );
    }
}
