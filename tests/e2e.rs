//! End to end: the real binary against the local lab (pebble as the CA, Knot
//! as the authoritative DNS server with TSIG-signed updates).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::dns::Server;
use common::{Lab, TempDir, text, wancert};

const NAME: &str = "_acme-challenge.demo.wancert.test";

/// Verify `fullchain` against `root` with openssl, and that `key` is its key.
fn verify(fullchain: &Path, key: &Path, root: &str) {
    let pem = fs::read_to_string(fullchain).unwrap();
    let end = "-----END CERTIFICATE-----\n";
    let split = pem.find(end).unwrap() + end.len();
    let dir = fullchain.parent().unwrap();
    let (leaf, rest) = (dir.join("leaf.check"), dir.join("rest.check"));
    fs::write(&leaf, &pem[..split]).unwrap();
    fs::write(&rest, &pem[split..]).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", root, "-untrusted"])
        .args([&rest, &leaf])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chain does not verify: {}",
        text(&out)
    );
    let pubkey = |args: &[&str], file: &Path| {
        let out = Command::new("openssl")
            .args(args)
            .arg(file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        out.stdout
    };
    let cert_key = pubkey(&["x509", "-noout", "-pubkey", "-in"], &leaf);
    let priv_key = pubkey(&["pkey", "-pubout", "-in"], key);
    assert_eq!(cert_key, priv_key, "the key does not match the certificate");
    let names = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&names.stdout);
    assert!(
        names.contains("DNS:demo.wancert.test") && names.contains("DNS:*.demo.wancert.test"),
        "{names}"
    );
    fs::remove_file(leaf).unwrap();
    fs::remove_file(rest).unwrap();
}

/// Every file under `dir` with its modification time and size.
fn snapshot(dir: &Path) -> Vec<(String, std::time::SystemTime, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push((
                    e.path().display().to_string(),
                    meta.modified().unwrap(),
                    meta.len(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn issues_name_and_wildcard_installs_deploys_and_then_rests() {
    let lab = Lab::up("e2e");
    let config = lab.config();
    let config = config.to_str().unwrap();
    let root = lab.var("PEBBLE_ROOT").to_string();

    let out = wancert(&["--config", config, "run"]);
    assert!(out.status.success(), "run failed: {}", text(&out));

    let certs = lab.state().join("certs/demo");
    verify(&certs.join("fullchain.pem"), &certs.join("key.pem"), &root);
    for key in [certs.join("key.pem"), lab.state().join("account.key")] {
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            key.display()
        );
    }
    let deployed = lab.dir.path().join("deployed");
    assert_eq!(
        fs::read(deployed.join("fullchain.pem")).unwrap(),
        fs::read(certs.join("fullchain.pem")).unwrap()
    );
    assert_eq!(
        fs::read(deployed.join("key.pem")).unwrap(),
        fs::read(certs.join("key.pem")).unwrap()
    );
    assert!(
        lab.txt(NAME).is_empty(),
        "TXT values left behind: {:?}",
        lab.txt(NAME)
    );

    // Nothing due: exit 0, no file under state_dir touched.
    let before = snapshot(&lab.state());
    let out = wancert(&["--config", config, "run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        snapshot(&lab.state()),
        before,
        "a run with nothing to do wrote to state_dir"
    );
    let out = wancert(&["--config", config, "renew"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "renew with nothing due: {}",
        text(&out)
    );

    // status knows the certificate.
    let out = wancert(&["--config", config, "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["version"], 1);
    assert_eq!(status["certs"][0]["installed"], true);
    assert_eq!(status["certs"][0]["deploy"][0]["current"], true);

    // A forced renewal replaces the pair and redeploys.
    let old = fs::read(certs.join("fullchain.pem")).unwrap();
    let out = wancert(&["--config", config, "renew", "--force", "demo"]);
    assert!(out.status.success(), "{}", text(&out));
    let new = fs::read(certs.join("fullchain.pem")).unwrap();
    assert_ne!(old, new);
    verify(&certs.join("fullchain.pem"), &certs.join("key.pem"), &root);
    assert_eq!(fs::read(deployed.join("fullchain.pem")).unwrap(), new);
}

/// Each failure: one clear error line, exit 2, the installed pair untouched,
/// and no TXT value left behind.
#[test]
fn failures_are_clear_and_lose_nothing() {
    let lab = Lab::up("fail");
    let good = lab.config();
    let out = wancert(&["--config", good.to_str().unwrap(), "run"]);
    assert!(out.status.success(), "{}", text(&out));
    let certs = lab.state().join("certs/demo");
    let pair = || {
        (
            fs::read(certs.join("fullchain.pem")).unwrap(),
            fs::read(certs.join("key.pem")).unwrap(),
        )
    };
    let installed = pair();
    let port = lab.var("KNOT_PORT").to_string();
    let pebble = lab.var("PEBBLE_URL").to_string();

    type Edit = Box<dyn Fn(String) -> String>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "unreachable CA",
            Box::new(move |t: String| t.replace(&pebble, "https://127.0.0.1:9/dir")),
            "request to https://127.0.0.1:9/dir failed",
        ),
        (
            "DNS server refuses the update",
            Box::new(|t: String| {
                let secret = t
                    .lines()
                    .find(|l| l.contains("tsig_secret"))
                    .unwrap()
                    .to_string();
                t.replace(
                    &secret,
                    "\toption tsig_secret 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='",
                )
            }),
            "TSIG",
        ),
        (
            "record never visible",
            Box::new(move |t: String| {
                t.replace(
                    &format!("propagation_server '127.0.0.1:{port}'"),
                    "propagation_server '127.0.0.1:9'",
                )
                .replace("propagation_timeout '20'", "propagation_timeout '2'")
            }),
            "timed out",
        ),
    ];
    for (what, edit, expect) in cases {
        let config = lab.config_variant("variant.conf", edit);
        let out = wancert(&["--config", config.to_str().unwrap(), "renew", "--force"]);
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {msg}");
        // Error lines, not warnings that quote an OS error.
        let errors: Vec<&str> = msg.lines().filter(|l| l.contains(": error: ")).collect();
        assert!(
            errors.first().is_some_and(|l| l.contains(expect)),
            "{what}: expected '{expect}' in: {msg}"
        );
        assert_eq!(
            pair(),
            installed,
            "{what}: the installed certificate changed"
        );
        assert!(
            lab.txt(NAME).is_empty(),
            "{what}: TXT values left behind: {:?}",
            lab.txt(NAME)
        );
    }
}

#[test]
fn broken_config_names_file_and_line() {
    let dir = TempDir::new("broken");
    let path = dir.path().join("wancert");
    fs::write(
        &path,
        "config wancert 'global'\n\toption acme_server 'letsencrypt'\n\noption email 'x@y'\n",
    )
    .unwrap();
    let out = wancert(&["--config", path.to_str().unwrap(), "run"]);
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    assert!(msg.contains(&format!("{}:4:", path.display())), "{msg}");

    fs::write(
        &path,
        "config cert 'nas'\n\tlist domain 'nas.example.com'\n\toption provider 'nope'\n",
    )
    .unwrap();
    let out = wancert(&["--config", path.to_str().unwrap(), "check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("nope"), "{}", text(&out));

    let out = wancert(&["--config", "/nonexistent/wancert", "run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("/nonexistent/wancert"),
        "{}",
        text(&out)
    );
}

/// A configuration with one rfc2136 provider 'lab' for `knot`, with
/// `secret` as its TSIG secret, checking propagation on `knot` alone.
fn dns_test_config(dir: &TempDir, knot: &Server, secret: &str) -> String {
    let path = dir.path().join("wancert");
    fs::write(
        &path,
        format!(
            "config wancert 'global'
\toption state_dir '{dir}/state'
\toption run_dir '{dir}/run'
\tlist propagation_server '{server}'
\tlist doh_server 'http://127.0.0.1:9/dns-query'
\toption propagation_timeout '10'
\toption propagation_interval '1'

config provider 'lab'
\toption type 'rfc2136'
\toption server '127.0.0.1'
\toption port '{port}'
\toption tsig_name '{name}'
\toption tsig_algorithm '{alg}'
\toption tsig_secret '{secret}'

config provider 'other'
\toption type 'rfc2136'
\toption server '127.0.0.1'
\toption tsig_name 'x'
\toption tsig_secret 'eA=='
",
            dir = dir.path().display(),
            server = knot.host_port(),
            port = knot.port(),
            name = knot.var("TSIG_NAME"),
            alg = knot.var("TSIG_ALGORITHM"),
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn dns_test_shows_who_sees_the_value_and_removes_it() {
    let knot = Server::knot();
    let dir = TempDir::new("dns-test");
    let secret = knot.var("TSIG_SECRET").to_string();
    let config = dns_test_config(&dir, &knot, &secret);

    let out = wancert(&["--config", &config, "dns-test", "lab", NAME]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let value = stdout
        .lines()
        .find_map(|l| l.strip_prefix("added TXT \""))
        .and_then(|l| l.split('"').next())
        .unwrap_or_else(|| panic!("no 'added TXT' line: {stdout}"));
    assert!(value.starts_with("wancert-dns-test-"), "{stdout}");
    assert!(
        stdout.contains(&format!("  {}: sees it\n", knot.host_port())),
        "{stdout}"
    );
    assert!(stdout.contains("seen by 1 of 1 servers"), "{stdout}");
    assert!(stdout.contains("removed the test value"), "{stdout}");
    assert!(!text(&out).contains(&secret), "the secret was printed");
    assert!(
        knot.txt(NAME).is_empty(),
        "left behind: {:?}",
        knot.txt(NAME)
    );

    // Given the certificate's name, as LuCI does, it publishes where
    // issuance would; and two runs publish two different values.
    let again = wancert(&[
        "--config",
        &config,
        "dns-test",
        "lab",
        "*.demo.wancert.test",
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(again.contains(&format!("at {NAME} through")), "{again}");
    assert!(!again.contains(value), "{again}");
    assert!(
        knot.txt(NAME).is_empty(),
        "left behind: {:?}",
        knot.txt(NAME)
    );
}

#[test]
fn dns_test_with_a_wrong_secret_fails_clearly() {
    let knot = Server::knot();
    let dir = TempDir::new("dns-test-bad");
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let config = dns_test_config(&dir, &knot, wrong);

    let out = wancert(&["--config", &config, "dns-test", "lab", NAME]);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    let errors: Vec<&str> = msg.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 1, "one error line: {msg}");
    assert!(
        errors[0].contains("provider 'lab' (rfc2136) could not add a TXT value")
            && errors[0].contains("BADSIG")
            && errors[0].contains("tsig_secret"),
        "{msg}"
    );
    assert!(!msg.contains(wrong), "the secret was printed: {msg}");
    assert!(
        knot.txt(NAME).is_empty(),
        "left behind: {:?}",
        knot.txt(NAME)
    );

    let out = wancert(&["--config", &config, "dns-test", "nope", NAME]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no config provider 'nope'")
            && text(&out).contains("use one of: lab, other"),
        "{}",
        text(&out)
    );
}

#[test]
fn dns_test_names_the_servers_that_do_not_see_it() {
    let knot = Server::knot();
    let dir = TempDir::new("dns-test-silent");
    let secret = knot.var("TSIG_SECRET").to_string();
    let config = dns_test_config(&dir, &knot, &secret);
    // A second server that never answers: the check times out naming it,
    // dns-test still lists both and removes the value.
    let silent = common::dns::Silent::start();
    let text_conf = fs::read_to_string(&config).unwrap().replace(
        "\toption propagation_timeout '10'",
        &format!(
            "\tlist propagation_server '{}'\n\toption propagation_timeout '2'",
            silent.host_port()
        ),
    );
    fs::write(&config, text_conf).unwrap();

    let out = wancert(&["--config", &config, "dns-test", "lab", NAME]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        stdout.contains(&format!("  {}: sees it", knot.host_port())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "  {}: does not see it: no answer",
            silent.host_port()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("removed the test value"), "{stdout}");
    assert!(text(&out).contains("timed out"), "{}", text(&out));
    assert!(
        knot.txt(NAME).is_empty(),
        "left behind: {:?}",
        knot.txt(NAME)
    );
}
