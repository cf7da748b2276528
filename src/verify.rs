//! After a deploy: does the service really serve the new certificate? One TLS
//! handshake with the target, the first domain as SNI, and the leaf it
//! presents compared byte for byte with ours. A renewed certificate that the
//! service never loaded is the failure people do not notice until it expires.
//!
//! The handshake accepts whatever chain the server presents, without path
//! validation, on purpose: nothing from this connection is trusted or used
//! except for one comparison. The answer "serving the new certificate" needs
//! the presented leaf to be exactly ours, and the handshake signature is
//! still checked against that leaf's key, so the server proved it holds our
//! new private key. Any other leaf, trusted or not, means "not the new one".
//! No data is sent over the connection. This checker is the only place that
//! skips path validation and it has no option to do so elsewhere.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::dns_name_error;
use crate::der;

/// Where a deploy target serves TLS: `host:port` or `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Parse `host:port`, `IPv4:port` or `[IPv6]:port`.
    pub fn parse(s: &str) -> Option<Endpoint> {
        let (host, port) = match s.strip_prefix('[') {
            Some(rest) => {
                let (h, p) = rest.split_once("]:")?;
                h.parse::<std::net::Ipv6Addr>().ok()?;
                (h, p)
            }
            None => {
                let (h, p) = s.rsplit_once(':')?;
                let ok = h.parse::<std::net::Ipv4Addr>().is_ok() || dns_name_error(h).is_none();
                ok.then_some((h, p))?
            }
        };
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0 && !port.starts_with('+'))?;
        Some(Endpoint {
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// What a target was found serving after a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Exactly the certificate just deployed.
    New,
    /// Another certificate: the service did not load the new one.
    Old,
    /// No TLS handshake was possible.
    Unreachable,
    /// The target has no host and port to check.
    NotConfigured,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::New,
        Verdict::Old,
        Verdict::Unreachable,
        Verdict::NotConfigured,
    ];

    /// Its name in the state files and `status --json`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::New => "new",
            Verdict::Old => "old",
            Verdict::Unreachable => "unreachable",
            Verdict::NotConfigured => "not_configured",
        }
    }

    pub fn from_name(name: &str) -> Option<Verdict> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// For `status` and the log.
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::New => "serving the new certificate",
            Verdict::Old => "still serving an old certificate",
            Verdict::Unreachable => "unreachable",
            Verdict::NotConfigured => "not checked (no host and port)",
        }
    }
}

/// A verdict and what was seen, e.g. which certificate is served instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub verdict: Verdict,
    pub detail: String,
}

/// Waits between attempts: a service restarting after its reload gets ten
/// seconds to come back with the new certificate.
const RETRY_DELAYS: [u64; 4] = [1, 2, 3, 4];

/// Connect and read timeouts of one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The name to send as SNI: the first domain that is not a wildcard, else
/// the first wildcard's base name (`*.example.com` → `example.com`), since a
/// wildcard is not a host name.
pub fn sni(domains: &[String]) -> &str {
    domains
        .iter()
        .find(|d| !d.starts_with("*."))
        .or(domains.first())
        .map_or("", |d| d.strip_prefix("*.").unwrap_or(d))
}

/// Check `at` until it serves `leaf` (DER) or the retries run out.
pub fn check(at: &Endpoint, sni: &str, leaf: &[u8], clock: &dyn Clock) -> Check {
    let mut result = judge(&served_leaf(at, sni), leaf);
    for delay in RETRY_DELAYS {
        if result.verdict == Verdict::New {
            break;
        }
        log::debug!("{at}: {}; trying again in {delay} s", result.detail);
        clock.sleep(Duration::from_secs(delay));
        result = judge(&served_leaf(at, sni), leaf);
    }
    result
}

/// Compare what was served (or why nothing was) with our leaf. Pure.
pub fn judge(served: &Result<Vec<u8>, String>, ours: &[u8]) -> Check {
    let (verdict, detail) = match served {
        Err(why) => (Verdict::Unreachable, why.to_string()),
        Ok(leaf) if leaf.as_slice() == ours => {
            let until = der::parse_cert(leaf).map(|i| der::rfc3339(i.not_after));
            let until = until.map_or(String::new(), |t| format!(", valid until {t}"));
            (Verdict::New, format!("serves the new certificate{until}"))
        }
        Ok(leaf) => {
            let what = der::parse_cert(leaf).map_or_else(
                || "an unreadable one".to_string(),
                |i| {
                    format!(
                        "one for {} valid until {}",
                        i.dns_names.join(", "),
                        der::rfc3339(i.not_after)
                    )
                },
            );
            (
                Verdict::Old,
                format!("serves another certificate than the new one: {what}"),
            )
        }
    };
    Check { verdict, detail }
}

/// One TLS handshake with `at`; the leaf certificate it presents (DER), or
/// why there is none.
pub fn served_leaf(at: &Endpoint, sni: &str) -> Result<Vec<u8>, String> {
    let provider = crate::http::tls_provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyLeaf(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(sni.to_string())
        .map_err(|_| format!("'{sni}' cannot be sent as a TLS server name"))?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut sock = connect(at)?;
    let failed = |e: std::io::Error| format!("TLS handshake with {at} failed: {e}");
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(failed)?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or_else(|| format!("{at} presented no certificate"))?;
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    crate::crashpoint::step("TLS check of", at);
    Ok(leaf)
}

fn connect(at: &Endpoint) -> Result<TcpStream, String> {
    let addrs = (at.host.as_str(), at.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", at.host))?;
    let mut last = format!("{} has no address", at.host);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, ATTEMPT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(ATTEMPT_TIMEOUT)).ok();
                s.set_write_timeout(Some(ATTEMPT_TIMEOUT)).ok();
                return Ok(s);
            }
            Err(e) => last = format!("cannot connect to {at}: {e}"),
        }
    }
    Err(last)
}

/// Accepts any chain (see the module comment for why that is sound here)
/// but still checks the handshake signature against the presented leaf.
#[derive(Debug)]
struct AnyLeaf(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyLeaf {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 5, 6);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn endpoints() {
        let ep = |s: &str| Endpoint::parse(s).map(|e| (e.host.clone(), e.port, e.to_string()));
        assert_eq!(
            ep("192.168.1.10:443"),
            Some(("192.168.1.10".into(), 443, "192.168.1.10:443".into()))
        );
        assert_eq!(
            ep("[fd00::10]:8443"),
            Some(("fd00::10".into(), 8443, "[fd00::10]:8443".into()))
        );
        assert_eq!(ep("nas.lan:5001").map(|e| e.1), Some(5001));
        for bad in [
            "nas",
            "nas:",
            "nas:0",
            "nas:65536",
            "nas:+1",
            "fd00::1:443",
            "[zz]:1",
            "a b:1",
            ":443",
        ] {
            assert_eq!(ep(bad), None, "{bad}");
        }
    }

    #[test]
    fn sni_is_a_host_name() {
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(sni(&d(&["a.example", "*.a.example"])), "a.example");
        assert_eq!(sni(&d(&["*.a.example", "b.example"])), "b.example");
        assert_eq!(sni(&d(&["*.a.example"])), "a.example");
        assert_eq!(sni(&[]), "");
    }

    #[test]
    fn judging_what_is_served() {
        let ours = cert(&["nas.example.com"]);
        let other = cert(&["nas.example.com", "old.example.com"]);
        let new = judge(&Ok(ours.clone()), &ours);
        assert_eq!(new.verdict, Verdict::New);
        assert_eq!(
            new.detail,
            "serves the new certificate, valid until 2031-05-06T00:00:00Z"
        );
        let old = judge(&Ok(other), &ours);
        assert_eq!(old.verdict, Verdict::Old);
        assert_eq!(
            old.detail,
            "serves another certificate than the new one: one for nas.example.com, old.example.com valid until 2031-05-06T00:00:00Z"
        );
        assert_eq!(judge(&Ok(b"junk".to_vec()), &ours).verdict, Verdict::Old);
        let down = judge(&Err("cannot connect to 127.0.0.1:9: refused".into()), &ours);
        assert_eq!(
            (down.verdict, down.detail.as_str()),
            (
                Verdict::Unreachable,
                "cannot connect to 127.0.0.1:9: refused"
            )
        );
    }

    /// A one-connection TLS server on loopback presenting a fresh
    /// certificate for `name`, over TLS 1.2 or 1.3. Returns its endpoint
    /// and the certificate's DER.
    fn serve_once(
        name: &str,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> (Endpoint, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let der = cert.der().to_vec();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
            )
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut sock).is_err() {
                    return;
                }
            }
            let _ = conn.complete_io(&mut sock);
        });
        let at = Endpoint {
            host: "127.0.0.1".into(),
            port,
        };
        (at, der)
    }

    #[test]
    fn reads_the_served_leaf_over_tls12_and_tls13() {
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let (at, der) = serve_once("nas.example.com", version);
            let clock = crate::clock::FakeClock::at(0);
            let c = check(&at, "nas.example.com", &der, &clock);
            assert_eq!(c.verdict, Verdict::New, "{:?}: {}", version, c.detail);
            assert_eq!(clock.now().as_secs(), 0, "no retry when it is the new one");
        }
    }

    #[test]
    fn unreachable_after_the_retries() {
        // Port 9 (discard) on loopback: nothing listens there.
        let clock = crate::clock::FakeClock::at(1000);
        let at = Endpoint::parse("127.0.0.1:9").unwrap();
        let c = check(&at, "a.example", b"x", &clock);
        assert_eq!(c.verdict, Verdict::Unreachable);
        assert!(
            c.detail.starts_with("cannot connect to 127.0.0.1:9"),
            "{}",
            c.detail
        );
        // It waited (on the fake clock) between the attempts.
        assert_eq!(
            clock.now().as_secs(),
            1000 + RETRY_DELAYS.iter().sum::<u64>()
        );
    }
}
