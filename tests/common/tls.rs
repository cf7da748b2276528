//! An HTTPS server wancert must not trust, for the TLS verification tests:
//! it completes handshakes with a certificate that is either self-signed or
//! valid for another name, and records how each connection ended, so a test
//! can assert that no HTTP request got past the handshake. Also a fresh
//! certificate and key to install, so a run only deploys.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

/// Which certificate the server presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// Self-signed for 127.0.0.1 and localhost: no trusted root issued it.
    SelfSigned,
    /// Issued by the root in `UntrustedServer::ca_pem` (which the test
    /// trusts through `ca_file`), but for `elsewhere.example` only.
    WrongName,
    /// The control: issued by that root for 127.0.0.1, so a client that
    /// trusts the root gets through.
    Valid,
}

/// How one connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The client broke off the handshake (with this rustls error).
    Refused(String),
    /// The handshake completed and the client sent this many bytes of
    /// application data: a request that must never have been sent.
    Request(usize),
}

pub struct UntrustedServer {
    pub port: u16,
    /// The root that issued a `WrongName` certificate (PEM).
    pub ca_pem: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl UntrustedServer {
    pub fn start(kind: Untrusted) -> UntrustedServer {
        let (chain, key, ca_pem) = match kind {
            Untrusted::SelfSigned => {
                let key = rcgen::KeyPair::generate().unwrap();
                let params =
                    rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
                        .unwrap();
                let cert = params.self_signed(&key).unwrap();
                let pem = wancert::pem::encode("CERTIFICATE", cert.der());
                (vec![cert.der().clone()], key, pem)
            }
            Untrusted::WrongName | Untrusted::Valid => {
                let ca_key = rcgen::KeyPair::generate().unwrap();
                let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
                ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                let ca_cert = ca.self_signed(&ca_key).unwrap();
                let issuer = rcgen::Issuer::new(ca, &ca_key);
                let key = rcgen::KeyPair::generate().unwrap();
                let name = match kind {
                    Untrusted::Valid => "127.0.0.1",
                    _ => "elsewhere.example",
                };
                let leaf = rcgen::CertificateParams::new(vec![name.into()])
                    .unwrap()
                    .signed_by(&key, &issuer)
                    .unwrap();
                let pem = wancert::pem::encode("CERTIFICATE", ca_cert.der());
                (vec![leaf.der().clone(), ca_cert.der().clone()], key, pem)
            }
        };
        let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut tcp) = stream else { continue };
                let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let outcome = loop {
                    if !conn.is_handshaking() {
                        // Whatever arrives now is past the handshake.
                        let mut buf = [0u8; 4096];
                        let n = rustls::Stream::new(&mut conn, &mut tcp)
                            .read(&mut buf)
                            .unwrap_or(0);
                        break Seen::Request(n);
                    }
                    match conn.complete_io(&mut tcp) {
                        Ok((0, 0)) => break Seen::Refused("connection closed".into()),
                        Ok(_) => {}
                        Err(e) => break Seen::Refused(e.to_string()),
                    }
                };
                log.lock().unwrap().push(outcome);
            }
        });
        UntrustedServer { port, ca_pem, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// How each connection so far ended.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Assert that the client connected at least once and never sent a byte
    /// past the handshake.
    pub fn assert_nothing_sent(&self, what: &str) {
        // The server thread records a connection once the client has closed
        // it; give it a moment after the client's error.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while self.seen().is_empty() && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(20));
        }
        let seen = self.seen();
        assert!(!seen.is_empty(), "{what}: never connected to the server");
        assert!(
            seen.iter().all(|s| matches!(s, Seen::Refused(_))),
            "{what}: a request went past an untrusted handshake: {seen:?}"
        );
    }
}

/// A key and a chain for `names` (leaf signed by a throwaway CA, then the
/// CA) valid from yesterday for 90 days: installed, it is fresh, so a run
/// only deploys. (PEM key, PEM chain.)
pub fn fresh_pair(names: &[&str]) -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ymd = |t: i64| {
        let s = wancert::der::rfc3339(t);
        let n = |r: std::ops::Range<usize>| s[r].parse::<i32>().unwrap();
        rcgen::date_time_ymd(n(0..4), n(5..7) as u8, n(8..10) as u8)
    };
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    params.not_before = ymd(now - 86400);
    params.not_after = ymd(now + 89 * 86400);
    let leaf = params.signed_by(&key, &issuer).unwrap();
    let pem = |der: &[u8]| wancert::pem::encode("CERTIFICATE", der);
    (
        wancert::pem::encode("PRIVATE KEY", &key.serialize_der()),
        format!("{}{}", pem(leaf.der()), pem(ca_cert.der())),
    )
}
