//! ACME Renewal Information (RFC 9773): the certificate identifier the CA's
//! `renewalInfo` resource is asked about, and the choice of one moment inside
//! the window the CA suggests. Pure: the random value and the time come in.

use super::types::RenewalInfo;
use crate::{b64, der};

/// When the CA sends no usable Retry-After, check again after this long
/// (RFC 9773 §4.3 suggests a few hours; Let's Encrypt sends six).
pub const DEFAULT_RETRY: i64 = 6 * 3600;

/// Retry-After values are clamped to this range (RFC 9773 §4.3: clients set
/// reasonable limits): at most daily, at least a minute apart.
const MIN_RETRY: i64 = 60;
const MAX_RETRY: i64 = 86400;

/// RFC 9773 §4.1: `base64url(AKI keyIdentifier) "." base64url(serial)`,
/// both unpadded, the serial as the DER INTEGER's content octets (with its
/// leading zero, if any).
pub fn cert_id(aki: &[u8], serial: &[u8]) -> String {
    format!("{}.{}", b64::url(aki), b64::url(serial))
}

/// A suggested renewal window in Unix seconds, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    /// The window of a renewalInfo answer; `None` when a timestamp does not
    /// parse or the end is not after the start (RFC 9773 §4.2: such a
    /// window is invalid and the client falls back to its own schedule).
    pub fn of(info: &RenewalInfo) -> Option<Window> {
        let start = der::parse_rfc3339(&info.suggested_window.start)?;
        let end = der::parse_rfc3339(&info.suggested_window.end)?;
        (start < end).then_some(Window { start, end })
    }

    /// RFC 9773 §4.2: a moment chosen uniformly at random inside the window,
    /// so that the CA's clients spread their renewals. `random` is any value
    /// from a random source.
    pub fn choose(&self, random: u64) -> i64 {
        let span = (self.end - self.start) as u64;
        self.start + (random % span) as i64
    }
}

/// When to ask again: `retry_after` seconds (from the answer's Retry-After),
/// clamped, or the default when the CA sent none.
pub fn next_check(now: i64, retry_after: Option<u64>) -> i64 {
    let wait = retry_after.map_or(DEFAULT_RETRY, |s| {
        i64::try_from(s)
            .unwrap_or(MAX_RETRY)
            .clamp(MIN_RETRY, MAX_RETRY)
    });
    now + wait
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acme::types::SuggestedWindow;
    use crate::clock::{Clock, FakeClock};

    fn hex(s: &str) -> Vec<u8> {
        s.split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    // RFC 9773 §4.1's example: keyIdentifier 69:88:5B:... and serial
    // 00:87:65:43:21 (the leading zero is kept).
    #[test]
    fn rfc9773_cert_id_example() {
        let aki = hex("69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4");
        let serial = hex("00:87:65:43:21");
        assert_eq!(
            cert_id(&aki, &serial),
            "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
        );
    }

    #[test]
    fn cert_id_of_a_real_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap();
        params.serial_number = Some(rcgen::SerialNumber::from(vec![0x00, 0x80, 0x01]));
        params.use_authority_key_identifier_extension = true;
        let issuer_key = rcgen::KeyPair::generate().unwrap();
        let mut issuer_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        issuer_params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![7; 20]);
        let issuer = rcgen::Issuer::new(issuer_params, &issuer_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let info = der::parse_cert(cert.der()).unwrap();
        assert_eq!(
            cert_id(info.aki.as_deref().unwrap(), &info.serial),
            format!("{}.AIAB", b64::url(&[7; 20]))
        );
    }

    fn info(start: &str, end: &str) -> RenewalInfo {
        RenewalInfo {
            suggested_window: SuggestedWindow {
                start: start.into(),
                end: end.into(),
            },
            explanation_url: None,
        }
    }

    // RFC 9773 §4.2's example window.
    #[test]
    fn window_parses_and_rejects_inverted_or_garbled() {
        let w = Window::of(&info("2025-01-02T04:00:00Z", "2025-01-03T04:00:00Z")).unwrap();
        assert_eq!(w.end - w.start, 86400);
        assert_eq!(der::rfc3339(w.start), "2025-01-02T04:00:00Z");
        assert!(Window::of(&info("2025-01-03T04:00:00Z", "2025-01-02T04:00:00Z")).is_none());
        assert!(Window::of(&info("2025-01-02T04:00:00Z", "2025-01-02T04:00:00Z")).is_none());
        assert!(Window::of(&info("soon", "2025-01-02T04:00:00Z")).is_none());
    }

    #[test]
    fn chosen_moment_is_inside_and_spread_over_the_window() {
        let clock = FakeClock::at(1_735_790_400);
        let now = clock.now().as_secs() as i64;
        let w = Window {
            start: now + 3600,
            end: now + 3600 + 86400,
        };
        let mut seen = Vec::new();
        // A fixed sequence standing in for a random source.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = w.choose(x);
            assert!((w.start..w.end).contains(&t), "{t} outside the window");
            seen.push(t);
        }
        let quarter = (w.end - w.start) / 4;
        for q in 0..4 {
            let lo = w.start + q * quarter;
            let n = seen
                .iter()
                .filter(|&&t| (lo..lo + quarter).contains(&t))
                .count();
            assert!((150..350).contains(&n), "quarter {q} got {n} of 1000");
        }
        assert_eq!(w.choose(0), w.start);
        assert_eq!(w.choose(u64::MAX), w.start + (u64::MAX % 86400) as i64);
    }

    #[test]
    fn next_check_follows_retry_after_within_limits() {
        assert_eq!(next_check(1000, Some(21600)), 1000 + 21600);
        assert_eq!(next_check(1000, None), 1000 + DEFAULT_RETRY);
        assert_eq!(next_check(1000, Some(1)), 1000 + 60);
        assert_eq!(next_check(1000, Some(10 * 86400)), 1000 + 86400);
        assert_eq!(next_check(1000, Some(u64::MAX)), 1000 + 86400);
    }
}
