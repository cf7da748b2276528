//! When a certificate is due: a pure decision over what is installed, what is
//! configured, and the time.

use crate::der::CertInfo;

/// Before this moment (2024-01-01) the clock cannot be right: a router
/// without a real-time clock boots in 1970 until NTP syncs.
pub const CLOCK_SANE_AFTER: i64 = 1_704_067_200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// No certificate is installed.
    Missing,
    /// The installed certificate does not cover exactly the configured names.
    NamesChanged,
    /// Renewal was asked for.
    Forced,
    /// Inside the renewal window.
    Expiring { not_after: i64 },
    /// Fresh; renew from `renew_at`.
    NotYet { renew_at: i64 },
}

impl Due {
    pub fn is_due(&self) -> bool {
        !matches!(self, Due::NotYet { .. })
    }
}

/// The moment to renew: when a third of the lifetime remains, or half of it
/// for short-lived (under 10 days) certificates.
pub fn renew_at(info: &CertInfo) -> i64 {
    let lifetime = (info.not_after - info.not_before).max(0);
    let keep = if lifetime < 10 * 86400 {
        lifetime / 2
    } else {
        lifetime / 3
    };
    info.not_after - keep
}

pub fn decide(installed: Option<&CertInfo>, domains: &[String], now: i64, force: bool) -> Due {
    let Some(info) = installed else {
        return Due::Missing;
    };
    let mut have: Vec<&str> = info.dns_names.iter().map(String::as_str).collect();
    let mut want: Vec<&str> = domains.iter().map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    if have != want {
        Due::NamesChanged
    } else if force {
        Due::Forced
    } else if now >= renew_at(info) {
        Due::Expiring {
            not_after: info.not_after,
        }
    } else {
        Due::NotYet {
            renew_at: renew_at(info),
        }
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

    #[test]
    fn renewal_window() {
        let names = ["a.example".to_string(), "*.a.example".to_string()];
        let c = cert(0, 90, &["*.a.example", "a.example"]);
        assert_eq!(decide(None, &names, 0, false), Due::Missing);
        assert_eq!(
            decide(Some(&c), &names, 59 * 86400, false),
            Due::NotYet {
                renew_at: 60 * 86400
            }
        );
        assert!(decide(Some(&c), &names, 60 * 86400, false).is_due());
        assert_eq!(decide(Some(&c), &names, 0, true), Due::Forced);
        assert_eq!(decide(Some(&c), &names[..1], 0, false), Due::NamesChanged);
        // A 6-day certificate renews at half its life.
        assert_eq!(renew_at(&cert(0, 6, &[])), 3 * 86400);
    }
}
