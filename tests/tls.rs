//! TLS everywhere: every HTTPS client path of wancert refuses a server whose
//! certificate it cannot trust (self-signed, or issued by a trusted root for
//! another name), says so in its error, and sends nothing past the handshake:
//! no request, so no API token, account signature or private key.
//!
//! Paths: the ACME CA, an HTTP DNS provider API (`dns-test`), the webhook
//! deploy, the webhook notification, the DDNS web echo, and DoH. Plus a scan
//! of the sources: nothing outside tests builds a verifier that accepts all.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::tls::{Untrusted, UntrustedServer, fresh_pair};
use common::{TempDir, text, wancert};

const KINDS: [Untrusted; 2] = [Untrusted::SelfSigned, Untrusted::WrongName];

/// A configuration: `global` options, an unused DNS provider, `sections`.
fn config(dir: &Path, global: &str, sections: &str) -> PathBuf {
    let d = dir.display();
    let text = format!(
        "config wancert 'global'\n\
         \toption state_dir '{d}/state'\n\
         \toption run_dir '{d}/run'\n\
         \toption ubus '/nonexistent/ubus'\n\
         \tlist propagation_server '127.0.0.1:1'\n\
         {global}\n\
         config provider 'unused'\n\
         \toption type 'rfc2136'\n\
         \toption server '127.0.0.1'\n\
         \toption port '1'\n\
         \toption tsig_name 'unused'\n\
         \toption tsig_secret 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='\n\n\
         {sections}"
    );
    let path = dir.join("wancert.conf");
    fs::write(&path, text).unwrap();
    path
}

/// The root the wrong-name server's certificate chains to, as `ca_file`
/// lines for the global section (empty for the self-signed server: then
/// only the system bundle is trusted).
fn trust(dir: &Path, server: &UntrustedServer, kind: Untrusted, key: &str) -> String {
    if kind == Untrusted::SelfSigned {
        return String::new();
    }
    let ca = dir.join("trusted-root.pem");
    fs::write(&ca, &server.ca_pem).unwrap();
    format!("\toption {key} '{}'\n", ca.display())
}

/// The run failed, its output names the certificate problem, and the
/// server saw no request.
fn assert_refused(out: &std::process::Output, server: &UntrustedServer, what: &str) {
    let log = text(out);
    assert!(!out.status.success(), "{what}: succeeded: {log}");
    // rustls's words for a chain or name that does not verify.
    assert!(
        log.contains("invalid peer certificate"),
        "{what}: the error does not name the certificate problem: {log}"
    );
    server.assert_nothing_sent(what);
}

fn run(config: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    wancert(&all)
}

#[test]
fn the_acme_ca_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-acme");
        let server = UntrustedServer::start(kind);
        let global = format!(
            "\toption acme_server '{}'\n{}",
            server.url("/dir"),
            trust(dir.path(), &server, kind, "ca_file")
        );
        let config = config(
            dir.path(),
            &global,
            "config cert 'demo'\n\tlist domain 'demo.example.com'\n\toption provider 'unused'\n",
        );
        assert_refused(&run(&config, &["run"]), &server, &format!("ACME {kind:?}"));
    }
}

#[test]
fn an_http_dns_provider_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-provider");
        let server = UntrustedServer::start(kind);
        let global = trust(dir.path(), &server, kind, "ca_file");
        let config = config(
            dir.path(),
            &global,
            &format!(
                "config provider 'cf'\n\toption type 'cloudflare'\n\
                 \toption api_token 'tls-test-token'\n\toption endpoint '{}'\n",
                server.url("/client/v4")
            ),
        );
        let out = run(&config, &["dns-test", "cf", "demo.example.com"]);
        assert!(!text(&out).contains("tls-test-token"), "{}", text(&out));
        assert_refused(&out, &server, &format!("DNS provider {kind:?}"));
    }
}

#[test]
fn a_webhook_deploy_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-deploy");
        let server = UntrustedServer::start(kind);
        // An installed, fresh certificate: the run only deploys.
        let (key, chain) = fresh_pair(&["demo.example.com"]);
        let certs = dir.path().join("state/certs/demo");
        fs::create_dir_all(&certs).unwrap();
        fs::write(certs.join("key.pem"), key).unwrap();
        fs::write(certs.join("fullchain.pem"), chain).unwrap();
        let config = config(
            dir.path(),
            "",
            &format!(
                "config cert 'demo'\n\tlist domain 'demo.example.com'\n\toption provider 'unused'\n\
                 \tlist deploy 'hook'\n\n\
                 config deploy 'hook'\n\toption type 'webhook'\n\toption url '{}'\n\
                 \toption token 'tls-hook-token'\n{}",
                server.url("/hook"),
                trust(dir.path(), &server, kind, "ca_file")
            ),
        );
        let out = run(&config, &["run"]);
        assert_refused(&out, &server, &format!("webhook deploy {kind:?}"));
    }
}

#[test]
fn a_webhook_notification_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-notify");
        let server = UntrustedServer::start(kind);
        // The CA is unreachable, so the run fails and notifies.
        let global = format!(
            "\toption acme_server 'http://127.0.0.1:1/dir'\n{}",
            trust(dir.path(), &server, kind, "ca_file")
        );
        let config = config(
            dir.path(),
            &global,
            &format!(
                "config cert 'demo'\n\tlist domain 'demo.example.com'\n\toption provider 'unused'\n\n\
                 config notify 'hook'\n\toption type 'webhook'\n\toption url '{}'\n",
                server.url("/notify")
            ),
        );
        let out = run(&config, &["run"]);
        assert_refused(&out, &server, &format!("webhook notification {kind:?}"));
    }
}

#[test]
fn a_ddns_web_echo_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-ddns");
        let server = UntrustedServer::start(kind);
        let global = trust(dir.path(), &server, kind, "ca_file");
        let config = config(
            dir.path(),
            &global,
            &format!(
                "config provider 'dyn'\n\toption type 'dyndns2'\n\
                 \toption server 'http://127.0.0.1:1'\n\toption username 'u'\n\
                 \toption password 'tls-ddns-password'\n\n\
                 config ddns 'home'\n\toption provider 'dyn'\n\
                 \toption domain 'home.example.com'\n\toption source 'web'\n\
                 \toption ipv6 '0'\n\tlist web_url '{}'\n",
                server.url("/ip")
            ),
        );
        let out = run(&config, &["ddns"]);
        assert_refused(&out, &server, &format!("DDNS web echo {kind:?}"));
    }
}

/// DoH is asked only when port 53 fails, deep in a propagation check: call
/// it through the same HTTP client the binary builds.
#[test]
fn a_doh_resolver_must_present_a_trusted_certificate() {
    for kind in KINDS {
        let dir = TempDir::new("tls-doh");
        let server = UntrustedServer::start(kind);
        let ca = dir.path().join("root.pem");
        fs::write(&ca, &server.ca_pem).unwrap();
        let ca_file = (kind == Untrusted::WrongName).then_some(ca.as_path());
        let http = wancert::http::UreqHttp::new(ca_file, Duration::from_secs(10)).unwrap();
        let name = wancert::dns::wire::Name::parse("_acme-challenge.example.com").unwrap();
        let err = wancert::dns::doh::query(&http, &server.url("/dns-query"), &name, 16)
            .expect_err("an untrusted DoH server was believed")
            .to_string();
        assert!(
            err.contains("invalid peer certificate"),
            "DoH {kind:?}: {err}"
        );
        server.assert_nothing_sent(&format!("DoH {kind:?}"));
    }
}

/// The controls: with its root trusted and the right name, the server gets
/// the request, so the tests above fail for the certificate and not because
/// it cannot be reached; and each refusal is for the reason meant.
#[test]
fn a_trusted_server_gets_the_request_and_refusals_say_why() {
    use wancert::http::Http;
    for (kind, want) in [
        (Untrusted::Valid, None),
        (Untrusted::SelfSigned, Some("unknownissuer")),
        (Untrusted::WrongName, Some("notvalidforname")),
    ] {
        let dir = TempDir::new("tls-control");
        let server = UntrustedServer::start(kind);
        let ca = dir.path().join("root.pem");
        fs::write(&ca, &server.ca_pem).unwrap();
        let ca_file = (kind != Untrusted::SelfSigned).then_some(ca.as_path());
        let http = wancert::http::UreqHttp::new(ca_file, Duration::from_secs(10)).unwrap();
        let result = http.get(&server.url("/"));
        match want {
            None => {
                // The server answers nothing; what matters is that the
                // request arrived.
                let _ = result;
                std::thread::sleep(Duration::from_millis(200));
                assert!(
                    server
                        .seen()
                        .iter()
                        .any(|s| matches!(s, common::tls::Seen::Request(n) if *n > 0)),
                    "the trusted server saw no request: {:?}",
                    server.seen()
                );
            }
            Some(want) => {
                let err = result.unwrap_err().to_string();
                assert!(
                    err.to_ascii_lowercase()
                        .replace(['_', ' '], "")
                        .contains(want),
                    "{kind:?}: {err}"
                );
            }
        }
    }
}

/// No code outside tests turns verification off: rustls's `dangerous()`
/// API and custom verifiers are how that is done, and ureq's
/// `disable_verification`.
///
/// One exception, by design: `src/verify.rs` checks after a deploy which
/// leaf a service presents, and accepts any chain because it trusts
/// nothing from that connection and sends no data over it (its module
/// comment says why). The scan holds it to that: no writer, no stream, and
/// it is not an HTTP client.
#[test]
fn no_source_file_disables_certificate_verification() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root.clone()];
    let mut hits = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = fs::read_to_string(&p).unwrap();
        // Unit tests sit at the end of a file, after `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let exception = p == root.join("verify.rs");
        let banned: &[&str] = if exception {
            // Application data over the unverified connection.
            // (It may take the crypto provider, `http::tls_provider`, and
            // nothing else of the HTTP client.)
            &[
                "writer()",
                "Stream::new",
                "StreamOwned",
                "ureq",
                "http::Http",
                "http::Request",
                "UreqHttp",
                "LazyHttp",
            ]
        } else {
            &[
                "dangerous(",
                "ServerCertVerifier",
                "danger::",
                "disable_verification",
                "NoVerifier",
                "AcceptAny",
            ]
        };
        for needle in banned {
            if code.contains(needle) {
                hits.push(format!("{}: {needle}", p.display()));
            }
        }
    }
    assert!(hits.is_empty(), "verification can be turned off: {hits:?}");
}
