//! When a certificate is due: a pure decision over what is installed, what is
//! configured, what the CA suggested (ARI, RFC 9773), earlier failures, and
//! the time.

use crate::der::CertInfo;

/// Before this moment (2024-01-01) the clock cannot be right: a router
/// without a real-time clock boots in 1970 until NTP syncs.
pub const CLOCK_SANE_AFTER: i64 = 1_704_067_200;

/// Back-off after a failed attempt: the first wait, and the longest.
pub const BACKOFF_FIRST: i64 = 3600;
pub const BACKOFF_MAX: i64 = 86400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// No certificate is installed.
    Missing,
    /// The installed certificate does not cover exactly the configured names.
    NamesChanged,
    /// The installed certificate was revoked (`wancert revoke`).
    Revoked,
    /// Renewal was asked for.
    Forced,
    /// A run was cut off with an order in flight: finish it.
    Interrupted,
    /// Inside the renewal window.
    Expiring { not_after: i64 },
    /// The moment chosen in the CA's ARI window (RFC 9773) has come.
    Suggested { at: i64 },
    /// Fresh; renew from `renew_at`.
    NotYet { renew_at: i64 },
    /// Due, but an earlier attempt failed: wait until `retry_at`.
    BackingOff { retry_at: i64 },
}

impl Due {
    pub fn is_due(&self) -> bool {
        !matches!(self, Due::NotYet { .. } | Due::BackingOff { .. })
    }
}

/// What the decision takes besides the installed certificate.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Option `renew_days`.
    pub renew_days: Option<u32>,
    /// The moment chosen inside the CA's ARI window, when the CA has one.
    pub ari_renew_at: Option<i64>,
    /// No automatic attempt before this (back-off after a failure).
    pub retry_at: Option<i64>,
    /// The installed certificate was revoked.
    pub revoked: bool,
    /// `renew --force`.
    pub force: bool,
    /// A manual `renew`: the back-off does not hold it back.
    pub manual: bool,
    /// An interrupted run left an order in flight.
    pub in_flight: bool,
}

/// The moment to renew without ARI: when a third of the lifetime remains
/// (half of it for short-lived, under 10 days, certificates), or
/// `renew_days` before the end when set.
pub fn fallback_renew_at(info: &CertInfo, renew_days: Option<u32>) -> i64 {
    if let Some(days) = renew_days {
        return info.not_after - i64::from(days) * 86400;
    }
    let lifetime = (info.not_after - info.not_before).max(0);
    let keep = if lifetime < 10 * 86400 {
        lifetime / 2
    } else {
        lifetime / 3
    };
    info.not_after - keep
}

/// The moment to renew: the CA's ARI choice when there is one (RFC 9773
/// §4.2: the CA knows about incidents and load), else the fallback; with
/// `renew_days` set, whichever comes first.
pub fn renew_at(info: &CertInfo, inputs: &Inputs) -> i64 {
    let fallback = fallback_renew_at(info, inputs.renew_days);
    match (inputs.ari_renew_at, inputs.renew_days) {
        (Some(ari), Some(_)) => ari.min(fallback),
        (Some(ari), None) => ari,
        (None, _) => fallback,
    }
}

/// How long to wait after the `failures`-th failure in a row: an hour,
/// doubling, at most a day.
pub fn backoff(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(8);
    (BACKOFF_FIRST << doublings).min(BACKOFF_MAX)
}

pub fn decide(installed: Option<&CertInfo>, domains: &[String], now: i64, inputs: &Inputs) -> Due {
    let due = match installed {
        None => Due::Missing,
        Some(info) => {
            let mut have: Vec<&str> = info.dns_names.iter().map(String::as_str).collect();
            let mut want: Vec<&str> = domains.iter().map(String::as_str).collect();
            have.sort_unstable();
            want.sort_unstable();
            let at = renew_at(info, inputs);
            if have != want {
                Due::NamesChanged
            } else if inputs.force {
                return Due::Forced;
            } else if inputs.revoked {
                Due::Revoked
            } else if inputs.in_flight {
                Due::Interrupted
            } else if now >= at && inputs.ari_renew_at == Some(at) {
                Due::Suggested { at }
            } else if now >= at {
                Due::Expiring {
                    not_after: info.not_after,
                }
            } else {
                return Due::NotYet { renew_at: at };
            }
        }
    };
    match inputs.retry_at {
        Some(retry_at) if now < retry_at && !inputs.manual && !inputs.force => {
            Due::BackingOff { retry_at }
        }
        _ => due,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(not_before: i64, days: i64, names: &[&str]) -> CertInfo {
        CertInfo {
            serial: vec![1],
            not_before,
            not_after: not_before + days * 86400,
            spki: vec![],
            aki: None,
            dns_names: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn plain() -> Inputs {
        Inputs::default()
    }

    #[test]
    fn renewal_window_without_ari() {
        let names = ["a.example".to_string(), "*.a.example".to_string()];
        let c = cert(0, 90, &["*.a.example", "a.example"]);
        assert_eq!(decide(None, &names, 0, &plain()), Due::Missing);
        assert_eq!(
            decide(Some(&c), &names, 59 * 86400, &plain()),
            Due::NotYet {
                renew_at: 60 * 86400
            }
        );
        assert!(decide(Some(&c), &names, 60 * 86400, &plain()).is_due());
        let force = Inputs {
            force: true,
            ..plain()
        };
        assert_eq!(decide(Some(&c), &names, 0, &force), Due::Forced);
        assert_eq!(
            decide(Some(&c), &names[..1], 0, &plain()),
            Due::NamesChanged
        );
        // A 6-day certificate renews at half its life; a 45-day one at 30 days.
        assert_eq!(fallback_renew_at(&cert(0, 6, &[]), None), 3 * 86400);
        assert_eq!(fallback_renew_at(&cert(0, 45, &[]), None), 30 * 86400);
        // renew_days replaces the fraction.
        assert_eq!(fallback_renew_at(&cert(0, 90, &[]), Some(10)), 80 * 86400);
        let revoked = Inputs {
            revoked: true,
            ..plain()
        };
        assert_eq!(decide(Some(&c), &names, 0, &revoked), Due::Revoked);
        let in_flight = Inputs {
            in_flight: true,
            ..plain()
        };
        assert_eq!(decide(Some(&c), &names, 0, &in_flight), Due::Interrupted);
    }

    #[test]
    fn ari_choice_wins_and_renew_days_can_only_bring_it_forward() {
        let c = cert(0, 90, &["a.example"]);
        let names = ["a.example".to_string()];
        let ari = |at: i64, days: Option<u32>| Inputs {
            ari_renew_at: Some(at),
            renew_days: days,
            ..plain()
        };
        // The CA suggests later than the fallback (day 60): its choice holds.
        assert_eq!(renew_at(&c, &ari(70 * 86400, None)), 70 * 86400);
        // An incident: the CA moves the window into the past; due now.
        assert_eq!(
            decide(Some(&c), &names, 5 * 86400, &ari(86400, None)),
            Due::Suggested { at: 86400 }
        );
        // renew_days 30 (day 60) is earlier than the CA's day 70.
        assert_eq!(renew_at(&c, &ari(70 * 86400, Some(30))), 60 * 86400);
        assert_eq!(renew_at(&c, &ari(50 * 86400, Some(30))), 50 * 86400);
    }

    #[test]
    fn backoff_doubles_from_an_hour_to_a_day() {
        let waits: Vec<i64> = (1..=7).map(backoff).collect();
        assert_eq!(waits, [3600, 7200, 14400, 28800, 57600, 86400, 86400]);
        assert_eq!(backoff(u32::MAX), 86400);

        let names = ["a.example".to_string()];
        let waiting = Inputs {
            retry_at: Some(1000),
            ..plain()
        };
        assert_eq!(
            decide(None, &names, 999, &waiting),
            Due::BackingOff { retry_at: 1000 }
        );
        assert_eq!(decide(None, &names, 1000, &waiting), Due::Missing);
        let manual = Inputs {
            manual: true,
            ..waiting.clone()
        };
        assert_eq!(decide(None, &names, 999, &manual), Due::Missing);
        // A fresh certificate stays fresh whatever the back-off says.
        let c = cert(0, 90, &["a.example"]);
        assert_eq!(
            decide(Some(&c), &names, 999, &waiting),
            Due::NotYet {
                renew_at: 60 * 86400
            }
        );
    }
}
