//! What HTTP-API providers share: bounded retry with back-off on 429 and 5xx,
//! zone discovery by longest match, and the small encoders their signatures
//! need. Pure except `send`, which goes through the `Http` and `Clock` seams.

use std::time::Duration;

use crate::acme::client::retry_after;
use crate::clock::Clock;
use crate::http::{Http, Request, Response};
use crate::{Error, Result};

/// Attempts for one call, and the first pause (doubled each time, or the
/// server's Retry-After, capped at `MAX_PAUSE`).
const ATTEMPTS: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Send `req`, retrying on transport errors, 429 and 5xx a bounded number of
/// times. Any other answer (2xx, 3xx, 4xx) is returned for the provider to
/// judge. `what` names the provider in errors ("cloudflare").
pub fn send(http: &dyn Http, clock: &dyn Clock, req: &Request<'_>, what: &str) -> Result<Response> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        let outcome = http.send(req);
        let retry = match &outcome {
            Ok(r) => r.status == 429 || r.status >= 500,
            Err(Error::Http { .. }) => true,
            Err(_) => false,
        };
        if !retry || attempt == ATTEMPTS {
            return match outcome {
                Ok(r) if r.status == 429 || r.status >= 500 => Err(Error::Dns(format!(
                    "{what} API answered HTTP {} {} times to {} {}: the service is failing or rate-limiting, try later",
                    r.status,
                    ATTEMPTS,
                    req.method,
                    strip_query(req.url)
                ))),
                // The last transport error, saying whose API and how often.
                Err(Error::Http { url, msg }) => Err(Error::Http {
                    url,
                    msg: format!("{what} API: {msg} ({ATTEMPTS} attempts)"),
                }),
                other => other,
            };
        }
        let asked = outcome
            .as_ref()
            .ok()
            .and_then(|r| r.header("retry-after"))
            .and_then(|v| retry_after(v, clock.now()));
        let wait = asked.unwrap_or(pause).min(MAX_PAUSE);
        log::debug!(
            "{what}: retrying {} in {} ms",
            strip_query(req.url),
            wait.as_millis()
        );
        clock.sleep(wait);
        pause *= 2;
        attempt += 1;
    }
}

/// The URL without its query, which may carry credentials (duckdns, dyndns).
pub fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The longest zone in `zones` that `name` is in or equal to (case- and
/// trailing-dot-insensitive). Never a guess from splitting the name:
/// `a.b.example.co.uk` belongs to `example.co.uk` only if the account has it.
pub fn longest_zone<'a>(name: &str, zones: &'a [String]) -> Option<&'a str> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    zones
        .iter()
        .map(|z| z.as_str())
        .filter(|z| {
            let z = z.trim_end_matches('.').to_ascii_lowercase();
            name == z || name.ends_with(&format!(".{z}"))
        })
        .max_by_key(|z| z.trim_end_matches('.').len())
}

/// The part of `name` left of `zone` (`_acme-challenge.www` for
/// `_acme-challenge.www.example.com` in `example.com`), or `@` at the apex.
pub fn relative<'a>(name: &'a str, zone: &str) -> &'a str {
    let name = name.trim_end_matches('.');
    let zone = zone.trim_end_matches('.');
    if name.len() > zone.len() && name[name.len() - zone.len()..].eq_ignore_ascii_case(zone) {
        name[..name.len() - zone.len()].trim_end_matches('.')
    } else {
        "@"
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as
/// the RPC and SigV4-style signatures want.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::clock::FakeClock;

    #[test]
    fn zones_match_by_longest_suffix_only() {
        let zones = vec![
            "example.com".to_string(),
            "sub.example.com.".to_string(),
            "ample.com".to_string(),
        ];
        assert_eq!(
            longest_zone("_acme-challenge.a.sub.example.com", &zones),
            Some("sub.example.com.")
        );
        assert_eq!(longest_zone("Example.COM", &zones), Some("example.com"));
        assert_eq!(longest_zone("www.example.com", &zones), Some("example.com"));
        assert_eq!(longest_zone("notexample.com", &zones), None);
        assert_eq!(
            relative("_acme-challenge.www.example.com", "example.com"),
            "_acme-challenge.www"
        );
        assert_eq!(relative("example.com.", "example.com"), "@");
    }

    #[test]
    fn encoders() {
        assert_eq!(percent_encode("a b/c~d*é"), "a%20b%2Fc~d%2A%C3%A9");
        // FIPS 180-2 "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // RFC 4231 test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    struct Flaky {
        statuses: Vec<u16>,
        calls: Cell<usize>,
    }

    impl Http for Flaky {
        fn send(&self, _: &Request<'_>) -> Result<Response> {
            let i = self.calls.get();
            self.calls.set(i + 1);
            let status = self.statuses[i.min(self.statuses.len() - 1)];
            Ok(Response {
                status,
                headers: vec![("retry-after".into(), "2".into())],
                body: vec![],
            })
        }
    }

    #[test]
    fn retries_429_and_5xx_a_bounded_number_of_times() {
        let req = Request {
            method: "GET",
            url: "https://api.example/x?token=secret",
            headers: &[],
            body: None,
        };
        let clock = FakeClock::at(1000);
        let http = Flaky {
            statuses: vec![503, 429, 200],
            calls: Cell::new(0),
        };
        assert_eq!(send(&http, &clock, &req, "test").unwrap().status, 200);
        assert_eq!(
            clock.now(),
            Duration::from_secs(1004),
            "waited Retry-After twice"
        );

        let http = Flaky {
            statuses: vec![500],
            calls: Cell::new(0),
        };
        let err = send(&http, &clock, &req, "test").unwrap_err().to_string();
        assert_eq!(http.calls.get(), 4);
        assert!(err.contains("HTTP 500") && !err.contains("secret"), "{err}");

        let http = Flaky {
            statuses: vec![403],
            calls: Cell::new(0),
        };
        assert_eq!(send(&http, &clock, &req, "test").unwrap().status, 403);
        assert_eq!(
            http.calls.get(),
            1,
            "a 4xx is the provider's to judge, not retried"
        );
    }
}
