//! The HTTP seam. ACME and HTTP-API DNS providers talk through `Http`, so tests
//! can swap in an in-memory server. 4xx and 5xx answers come back as a
//! `Response` (ACME puts a problem document in them), never as an error.

use crate::Result;

#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request. `body` is sent with `content_type` when given.
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<(&'a str, &'a [u8])>,
}

pub trait Http {
    fn send(&self, req: &Request<'_>) -> Result<Response>;

    fn get(&self, url: &str) -> Result<Response> {
        self.send(&Request {
            method: "GET",
            url,
            headers: &[],
            body: None,
        })
    }
}

/// For code that must not make requests (`wancert check` builds providers
/// and deployers to check their options): every request is an error.
pub struct NoHttp;

impl Http for NoHttp {
    fn send(&self, r: &Request<'_>) -> Result<Response> {
        Err(crate::Error::other(format!(
            "no request may be made here ({})",
            r.url
        )))
    }
}

/// The TLS algorithms wancert offers, for the HTTPS client and `verify`:
/// ring's, less what nothing we talk to needs, each of which costs code on
/// the router. Kept: TLS 1.3 and 1.2 with AES-GCM (every TLS 1.3 server must
/// offer TLS_AES_128_GCM_SHA256, RFC 8446 §9.1; ECDHE-AES-GCM is the TLS 1.2
/// baseline of every CA and DNS API), key exchange over P-256 (which TLS 1.3
/// servers must implement, §9.1) and P-384, and ECDSA and RSA signatures (web
/// PKI certificates are one or the other). Dropped: ChaCha20-Poly1305,
/// X25519 and Ed25519 (the CA/Browser Forum admits no Ed25519 certificate),
/// and private keys for client authentication, which wancert never sends.
pub fn tls_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    use rustls::SignatureScheme as S;
    use rustls::crypto::ring::{cipher_suite as cs, kx_group};
    use webpki::ring as alg;

    static SIGNATURES: rustls::crypto::WebPkiSupportedAlgorithms =
        rustls::crypto::WebPkiSupportedAlgorithms {
            all: &[
                alg::ECDSA_P256_SHA256,
                alg::ECDSA_P256_SHA384,
                alg::ECDSA_P384_SHA256,
                alg::ECDSA_P384_SHA384,
                alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
                alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
                alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
                alg::RSA_PKCS1_2048_8192_SHA256,
                alg::RSA_PKCS1_2048_8192_SHA384,
                alg::RSA_PKCS1_2048_8192_SHA512,
                alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
                alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
                alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
            ],
            // As rustls's ring provider maps them: for TLS 1.2 the scheme
            // does not fix the curve.
            mapping: &[
                (
                    S::ECDSA_NISTP384_SHA384,
                    &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
                ),
                (
                    S::ECDSA_NISTP256_SHA256,
                    &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
                ),
                (
                    S::RSA_PSS_SHA512,
                    &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
                ),
                (
                    S::RSA_PSS_SHA384,
                    &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
                ),
                (
                    S::RSA_PSS_SHA256,
                    &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
                ),
                (S::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
                (S::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
                (S::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
            ],
        };

    std::sync::Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIGNATURES,
        secure_random: &SystemRng,
        key_provider: &NoClientKeys,
    })
}

/// The random source rustls draws from: ring's, as in its own provider.
#[derive(Debug)]
struct SystemRng;

impl rustls::crypto::SecureRandom for SystemRng {
    fn fill(&self, buf: &mut [u8]) -> std::result::Result<(), rustls::crypto::GetRandomFailed> {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
            .map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// No private key is ever given to rustls (no client certificates): this
/// keeps its signing code for every key type out of the binary.
#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> std::result::Result<std::sync::Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General(
            "wancert sends no TLS client certificate".into(),
        ))
    }
}

/// The largest body read: certificate chains and ACME objects are a few KiB.
const BODY_LIMIT: u64 = 1 << 20;

/// ureq's read and write buffers, per layer of a connection.
const IO_BUFFER: usize = 16 * 1024;

/// Where routers and Debian keep the system's trusted roots.
const SYSTEM_BUNDLES: &[&str] = &["/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"];

/// The real HTTP client: ureq over rustls with the ring provider. Roots come
/// from the system bundle plus `ca_file`; nothing is compiled in.
pub struct UreqHttp {
    agent: ureq::Agent,
}

impl UreqHttp {
    /// `ca_file`: extra trusted roots (PEM). `timeout`: for each whole request.
    pub fn new(
        ca_file: Option<&std::path::Path>,
        timeout: std::time::Duration,
    ) -> crate::Result<Self> {
        Self::with_family(ca_file, timeout, None)
    }

    /// `new`, connecting only over IPv4 or only over IPv6 when `family` is
    /// given: how a web echo service is made to report one family's address.
    pub fn with_family(
        ca_file: Option<&std::path::Path>,
        timeout: std::time::Duration,
        family: Option<crate::providers::Family>,
    ) -> crate::Result<Self> {
        use crate::providers::Family;
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

        // One copy of each root, made as its PEM is decoded: the system
        // bundle holds some 150 roots (about 200 KiB of text), and every
        // extra copy is heap that stays resident for the whole run.
        let mut roots: Vec<Certificate<'static>> = Vec::new();
        let mut add = |text: &str| {
            let before = roots.len();
            roots.extend(
                crate::pem::decode_all(text, "CERTIFICATE")
                    .into_iter()
                    .map(|d| Certificate::from_der(&d).to_owned()),
            );
            roots.len() > before
        };
        if let Some(text) = SYSTEM_BUNDLES
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
        {
            add(&text);
        }
        if let Some(path) = ca_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| crate::Error::io("read ca_file", path, e))?;
            if !add(&text) {
                return Err(crate::Error::other(format!(
                    "ca_file {} holds no PEM certificate: point it at the CA's root certificate",
                    path.display()
                )));
            }
        }
        if roots.is_empty() {
            return Err(crate::Error::other(
                "no trusted root certificates: install the ca-bundle package or set option ca_file",
            ));
        }
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::from(roots))
            .unversioned_rustls_crypto_provider(tls_provider())
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            // ureq's default is 128 KiB each way, for both the TCP and the
            // TLS layer: half a MiB of zeroed heap per connection. ACME
            // objects and provider answers are a few KiB, headers less;
            // bodies stream through the buffers, so 16 KiB only bounds a
            // response's header block.
            .input_buffer_size(IO_BUFFER)
            .output_buffer_size(IO_BUFFER)
            .ip_family(match family {
                None => ureq::config::IpFamily::Any,
                Some(Family::V4) => ureq::config::IpFamily::Ipv4Only,
                Some(Family::V6) => ureq::config::IpFamily::Ipv6Only,
            })
            .user_agent(concat!("wancert/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(UreqHttp {
            agent: config.into(),
        })
    }
}

impl Http for UreqHttp {
    fn send(&self, req: &Request<'_>) -> crate::Result<Response> {
        let fail = |e: ureq::Error| crate::Error::Http {
            url: req.url.to_string(),
            msg: e.to_string(),
        };
        let mut builder = ureq::http::Request::builder()
            .method(req.method)
            .uri(req.url);
        for (k, v) in req.headers {
            builder = builder.header(*k, *v);
        }
        let (ct, body) = req.body.unwrap_or(("", &[]));
        if !ct.is_empty() {
            builder = builder.header("content-type", ct);
        }
        let request = builder.body(body).map_err(|e| crate::Error::Http {
            url: req.url.to_string(),
            msg: e.to_string(),
        })?;
        let mut resp = self.agent.run(request).map_err(fail)?;
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(fail)?;
        // The query may carry a token (dyndns2, DuckDNS): not in the label.
        let url = req.url.split('?').next().unwrap_or_default();
        crate::crashpoint::step(req.method, &url);
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// `UreqHttp`, built on the first request: loading the CA bundle costs
/// milliseconds and megabytes that a run with nothing to do must not pay.
pub struct LazyHttp {
    ca_file: Option<std::path::PathBuf>,
    timeout: std::time::Duration,
    family: Option<crate::providers::Family>,
    inner: std::cell::OnceCell<UreqHttp>,
}

impl LazyHttp {
    pub fn new(ca_file: Option<&std::path::Path>, timeout: std::time::Duration) -> Self {
        Self::with_family(ca_file, timeout, None)
    }

    /// See `UreqHttp::with_family`.
    pub fn with_family(
        ca_file: Option<&std::path::Path>,
        timeout: std::time::Duration,
        family: Option<crate::providers::Family>,
    ) -> Self {
        LazyHttp {
            ca_file: ca_file.map(Into::into),
            timeout,
            family,
            inner: std::cell::OnceCell::new(),
        }
    }
}

impl Http for LazyHttp {
    fn send(&self, req: &Request<'_>) -> crate::Result<Response> {
        let http = match self.inner.get() {
            Some(h) => h,
            None => {
                let h = UreqHttp::with_family(self.ca_file.as_deref(), self.timeout, self.family)?;
                self.inner.get_or_init(|| h)
            }
        };
        http.send(req)
    }
}
