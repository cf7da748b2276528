//! `type 'webhook'`: POST the certificate as JSON to an HTTPS endpoint that
//! installs it (a NAS's own API, a small script on the target). The receiver
//! can trust the request by its bearer token, its HMAC signature, or both.
//!
//! Body (`application/json`):
//! `{"name", "domains", "not_after", "fingerprint", "cert", "chain",
//! "fullchain", "key"}`: PEM text, `not_after` in RFC 3339, `fingerprint` the
//! SHA-256 of the leaf's DER in hex; `key` is left out with `option
//! include_key '0'`.
//!
//! Signature, with `option hmac_secret`: header `X-Wancert-Timestamp` (Unix
//! seconds) and `X-Wancert-Signature: sha256=HEX`, the HMAC-SHA256 under the
//! secret of `TIMESTAMP.BODY` (the timestamp, a dot, the raw body). The
//! receiver recomputes it, compares in constant time and rejects old
//! timestamps, which stops replays.

use std::path::PathBuf;

use serde::Serialize;

use super::{DeployType, Deployer, Env, Material};
use crate::clock::Clock;
use crate::config::PluginSection;
use crate::http::{Http, Request, UreqHttp};
use crate::{Error, Result, der, pem};

pub const TYPE: DeployType = DeployType {
    name: "webhook",
    about: "POST the certificate as JSON over HTTPS (bearer token, HMAC signature)",
    build,
};

struct Webhook<'a> {
    url: String,
    token: Option<String>,
    hmac_secret: Option<String>,
    include_key: bool,
    ca_file: Option<PathBuf>,
    http: &'a dyn Http,
    clock: &'a dyn Clock,
}

fn build<'a>(s: &PluginSection, env: &Env<'a>) -> Result<Box<dyn Deployer + 'a>> {
    let url = s.required("url")?;
    let loopback = ["http://127.0.0.1", "http://[::1]", "http://localhost"]
        .iter()
        .any(|p| {
            url.strip_prefix(p)
                .is_some_and(|r| r.starts_with([':', '/']))
        });
    let https = url
        .strip_prefix("https://")
        .is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.bytes().any(|c| c <= b' '));
    if !https && !loopback {
        return Err(s.error(
            "url",
            "option url must start with https:// (the body carries the private key; plain http is allowed to this machine's loopback only)",
        ));
    }
    let secret = |k: &str| s.optional(k).filter(|v| !v.is_empty()).map(String::from);
    let include_key = match s.optional("include_key") {
        None | Some("1" | "yes" | "on" | "true") => true,
        Some("0" | "no" | "off" | "false") => false,
        Some(v) => {
            return Err(s.error(
                "include_key",
                &format!("option include_key '{v}' is not 0 or 1"),
            ));
        }
    };
    let ca_file = s.optional("ca_file").filter(|v| !v.is_empty());
    if let Some(p) = ca_file.filter(|p| !p.starts_with('/')) {
        return Err(s.error(
            "ca_file",
            &format!("option ca_file '{p}' is not an absolute path: start it with /"),
        ));
    }
    Ok(Box::new(Webhook {
        url: url.to_string(),
        token: secret("token"),
        hmac_secret: secret("hmac_secret"),
        include_key,
        ca_file: ca_file.map(PathBuf::from),
        http: env.http,
        clock: env.clock,
    }))
}

/// The JSON body.
#[derive(Serialize)]
struct Body<'a> {
    name: &'a str,
    domains: &'a [String],
    not_after: String,
    fingerprint: String,
    cert: &'a str,
    chain: &'a str,
    fullchain: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

fn body(m: &Material<'_>, include_key: bool) -> Vec<u8> {
    let (leaf, chain) = m.split_chain();
    let der = pem::decode_all(leaf, "CERTIFICATE")
        .pop()
        .unwrap_or_default();
    let info = der::parse_cert(&der);
    let digest = ring::digest::digest(&ring::digest::SHA256, &der);
    serde_json::to_vec(&Body {
        name: m.cert_name,
        domains: m.domains,
        not_after: info.map(|i| der::rfc3339(i.not_after)).unwrap_or_default(),
        fingerprint: hex(digest.as_ref()),
        cert: leaf,
        chain,
        fullchain: m.fullchain_pem,
        key: include_key.then_some(m.key_pem),
    })
    .unwrap_or_default()
}

/// `sha256=HEX` of HMAC-SHA256(secret, "TIMESTAMP.BODY").
fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex(ctx.sign().as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The URL without its query, which may carry a credential.
fn redacted(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

impl Deployer for Webhook<'_> {
    fn deploy(&self, m: &Material<'_>) -> Result<String> {
        let body = body(m, self.include_key);
        let timestamp = self.clock.now().as_secs();
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let sig = self
            .hmac_secret
            .as_ref()
            .map(|s| (timestamp.to_string(), signature(s, timestamp, &body)));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(b) = &bearer {
            headers.push(("authorization", b));
        }
        if let Some((t, s)) = &sig {
            headers.push(("x-wancert-timestamp", t));
            headers.push(("x-wancert-signature", s));
        }
        let own;
        let http: &dyn Http = match &self.ca_file {
            Some(ca) => {
                own = UreqHttp::new(Some(ca), std::time::Duration::from_secs(30))?;
                &own
            }
            None => self.http,
        };
        let url = redacted(&self.url);
        let resp = http
            .send(&Request {
                method: "POST",
                url: &self.url,
                headers: &headers,
                body: Some(("application/json", &body)),
            })
            .map_err(|e| match e {
                Error::Http { msg, .. } => Error::Http {
                    url: url.to_string(),
                    msg,
                },
                e => e,
            })?;
        if !(200..300).contains(&resp.status) {
            let text = String::from_utf8_lossy(&resp.body);
            let first = text.lines().next().unwrap_or("").trim();
            let first: String = first.chars().take(200).collect();
            return Err(Error::other(format!(
                "webhook {url} answered HTTP {}: {first}",
                resp.status
            )));
        }
        Ok(format!("posted to {url} (HTTP {})", resp.status))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;

    use super::*;
    use crate::clock::FakeClock;
    use crate::config;
    use crate::http::Response;

    /// URL, headers and body of each request.
    type Seen = Vec<(String, Vec<(String, String)>, Vec<u8>)>;

    /// Records the request and answers with `status`.
    struct Receiver {
        status: u16,
        seen: RefCell<Seen>,
    }

    impl Http for Receiver {
        fn send(&self, r: &Request<'_>) -> Result<Response> {
            let headers = r
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let body = r.body.map(|b| b.1.to_vec()).unwrap_or_default();
            self.seen.borrow_mut().push((r.url.into(), headers, body));
            Ok(Response {
                status: self.status,
                headers: vec![],
                body: b"bad signature\nmore".to_vec(),
            })
        }
    }

    fn deploy_with(options: &str, status: u16) -> (Result<String>, Receiver) {
        let text = format!("config deploy 'hook'\n\toption type 'webhook'\n{options}");
        let c = config::parse("/etc/config/wancert", &text).unwrap();
        let receiver = Receiver {
            status,
            seen: RefCell::new(vec![]),
        };
        let clock = FakeClock::at(1_700_000_000);
        let env = Env {
            http: &receiver,
            clock: &clock,
            state_dir: Path::new("/tmp"),
            forward: None,
        };
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["nas.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let leaf = crate::pem::encode("CERTIFICATE", cert.der());
        let chain = format!("{leaf}{leaf}");
        let key_pem = crate::pem::encode("PRIVATE KEY", &key.serialize_der());
        let domains = ["nas.example.com".to_string()];
        let m = Material {
            cert_name: "nas",
            domains: &domains,
            key_pem: &key_pem,
            fullchain_pem: &chain,
            key_path: Path::new("/k"),
            fullchain_path: Path::new("/c"),
        };
        let result = build(&c.deploys[0], &env).and_then(|d| d.deploy(&m));
        (result, receiver)
    }

    #[test]
    fn posts_signed_json() {
        let (result, r) = deploy_with(
            "\toption url 'https://nas.lan:8443/cert?x=1'\n\toption token 'tok3n'\n\toption hmac_secret 's3cret'\n",
            200,
        );
        assert_eq!(
            result.unwrap(),
            "posted to https://nas.lan:8443/cert (HTTP 200)"
        );
        let seen = r.seen.borrow();
        let (url, headers, body) = &seen[0];
        assert_eq!(url, "https://nas.lan:8443/cert?x=1");
        let h = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(h("authorization"), Some("Bearer tok3n"));
        assert_eq!(h("x-wancert-timestamp"), Some("1700000000"));
        // Recompute the signature as a receiver would.
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        let mut signed = b"1700000000.".to_vec();
        signed.extend_from_slice(body);
        let expect = hex(ring::hmac::sign(&key, &signed).as_ref());
        assert_eq!(
            h("x-wancert-signature"),
            Some(format!("sha256={expect}").as_str())
        );

        let json: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(json["name"], "nas");
        assert_eq!(json["domains"][0], "nas.example.com");
        assert!(json["key"].as_str().unwrap().contains("PRIVATE KEY"));
        let cert = json["cert"].as_str().unwrap();
        assert_eq!(crate::pem::decode_all(cert, "CERTIFICATE").len(), 1);
        assert_eq!(json["fingerprint"].as_str().unwrap().len(), 64);
        assert!(json["not_after"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn without_key_token_or_signature() {
        let (result, r) = deploy_with(
            "\toption url 'http://127.0.0.1:8080/hook'\n\toption include_key '0'\n",
            204,
        );
        result.unwrap();
        let seen = r.seen.borrow();
        assert!(seen[0].1.is_empty(), "{:?}", seen[0].1);
        let json: serde_json::Value = serde_json::from_slice(&seen[0].2).unwrap();
        assert!(json.get("key").is_none());
    }

    #[test]
    fn refusals_and_bad_options() {
        let (result, _) = deploy_with(
            "\toption url 'https://nas.lan/hook?token=SECRET'\n\toption token 'tok3n'\n",
            401,
        );
        let e = result.unwrap_err().to_string();
        assert_eq!(
            e,
            "webhook https://nas.lan/hook answered HTTP 401: bad signature"
        );
        assert!(!e.contains("SECRET") && !e.contains("tok3n"));
        for (opts, want) in [
            (
                "\toption url 'http://nas.lan/hook'\n",
                "must start with https://",
            ),
            (
                "\toption url 'http://127.0.0.1.evil.com/'\n",
                "must start with https://",
            ),
            ("\toption url 'https:///x'\n", "must start with https://"),
            ("", "option 'url' is missing"),
            (
                "\toption url 'https://a/'\n\toption include_key 'maybe'\n",
                "not 0 or 1",
            ),
            (
                "\toption url 'https://a/'\n\toption ca_file 'ca.pem'\n",
                "absolute",
            ),
        ] {
            let e = deploy_with(opts, 200).0.unwrap_err().to_string();
            assert!(e.contains(want), "{opts}: {e}");
        }
    }
}
