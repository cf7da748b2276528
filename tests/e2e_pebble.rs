//! The rest of ACME against pebble (Debian's 2.4): resuming a killed run,
//! external account binding, P-384 keys, account reuse, contact update, key
//! rollover, revocation, deactivation, and CNAME delegation through a
//! resolver. pebble 2.4 has no ARI, profiles or dns-persist-01: those are in
//! `tests/e2e_a2c.rs`.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{Lab, ok, serial, status, text, wancert, wancert_env};

const NAME: &str = "_acme-challenge.demo.wancert.test";

fn openssl_text(args: &[&str], file: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A run killed between order creation and finalization (twice: once
/// before anything is published, once after the CA validated) is finished by
/// the next run with the same order: no new order, no validation again, and
/// the TXT values the cut left behind are removed.
#[test]
fn a_killed_run_is_finished_by_the_next_with_the_same_order() {
    let lab = Lab::up("resume");
    let config = lab.config();
    let c = config.to_str().unwrap();
    let order_file = lab.state().join("certs/demo/order.json");

    let out = wancert_env(
        &["--config", c, "run"],
        &[("WANCERT_TEST_ABORT_AT", "after-order")],
    );
    assert_eq!(out.status.code(), None, "killed by SIGABRT: {}", text(&out));
    assert!(text(&out).contains("order placed"), "{}", text(&out));
    let flight: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&order_file).unwrap()).unwrap();
    let url = flight["url"].as_str().unwrap().to_string();
    assert_eq!(
        fs::metadata(&order_file).unwrap().permissions().mode() & 0o777,
        0o600,
        "the order file holds the new key"
    );
    assert!(lab.txt(NAME).is_empty());

    let out = wancert_env(
        &["--config", c, "run"],
        &[("WANCERT_TEST_ABORT_AT", "after-validation")],
    );
    let log = text(&out);
    assert_eq!(out.status.code(), None, "{log}");
    assert!(
        log.contains(&format!("resuming the interrupted order {url}")),
        "{log}"
    );
    assert!(!log.contains("order placed"), "a second order: {log}");
    assert_eq!(lab.txt(NAME).len(), 2, "the cut left the TXT values behind");

    let log = ok(&config, &["run"]);
    assert!(
        log.contains(&format!("resuming the interrupted order {url}")),
        "{log}"
    );
    assert!(!log.contains("order placed"), "a new order: {log}");
    assert!(!log.contains("published TXT"), "validated again: {log}");
    assert_eq!(
        log.matches("is already validated: reusing it").count(),
        2,
        "both authorizations stayed valid: {log}"
    );
    assert!(lab.txt(NAME).is_empty(), "leftovers: {:?}", lab.txt(NAME));
    assert!(
        !order_file.exists(),
        "the order file is removed once installed"
    );
    let st = status(&config);
    assert_eq!(st["certs"][0]["installed"], true);
    assert!(st["certs"][0].get("last_error").is_none(), "{st}");

    // Nothing in flight any more: a run rests.
    let log = ok(&config, &["run"]);
    assert!(!log.contains("resuming"), "{log}");
}

/// A CA that requires external account binding, a P-384 account and
/// certificate key, then the account's life: found again (not created), its
/// contact updated, its key rolled over, a certificate revoked and
/// replaced, and the account deactivated.
#[test]
fn eab_p384_and_the_account_lifecycle() {
    let lab = Lab::up_with("account", &[("PEBBLE_EAB", "1")]);
    let plain = lab.config_variant("plain.conf", |t| {
        t.replace(
            "config wancert 'global'\n",
            "config wancert 'global'\n\toption account_key_type 'ec384'\n",
        )
    });
    let out = wancert(&["--config", plain.to_str().unwrap(), "run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("requires external account binding: set option eab_kid"),
        "{}",
        text(&out)
    );
    assert!(!lab.state().join("certs/demo/fullchain.pem").exists());

    let global = format!(
        "config wancert 'global'\n\toption eab_kid '{}'\n\toption eab_hmac_key '{}'\n\toption account_key_type 'ec384'\n",
        lab.var("EAB_KID"),
        lab.var("EAB_HMAC_KEY")
    );
    let edit = |email: &'static str| {
        let global = global.clone();
        move |t: String| {
            t.replace("config wancert 'global'\n", &global)
                .replace(
                    "\toption provider 'lab'\n",
                    "\toption provider 'lab'\n\toption key_type 'ec384'\n",
                )
                .replace("admin@wancert.test", email)
        }
    };
    let config = lab.config_variant("eab.conf", edit("admin@wancert.test"));
    // A manual renew: the failure above set a back-off that holds `run`.
    let out = wancert(&["--config", config.to_str().unwrap(), "run"]);
    assert!(text(&out).contains("the next one is at"), "{}", text(&out));
    assert_eq!(status(&config)["certs"][0]["failures"], 1);
    let log = ok(&config, &["renew"]);
    assert!(log.contains("created the ACME account"), "{log}");
    let log_text = fs::read_to_string(&config).unwrap();
    assert!(
        !log.contains(lab.var("EAB_HMAC_KEY")) && log_text.contains(lab.var("EAB_HMAC_KEY")),
        "the MAC key is never logged"
    );
    let account_key = lab.state().join("account.key");
    let fullchain = lab.state().join("certs/demo/fullchain.pem");
    assert!(openssl_text(&["pkey", "-noout", "-text", "-in"], &account_key).contains("P-384"));
    assert!(
        openssl_text(&["x509", "-noout", "-text", "-in"], &fullchain).contains("(384 bit)"),
        "a P-384 certificate key"
    );

    // The account is found again by its key, and its contact updated.
    let config = lab.config_variant("eab2.conf", edit("ops@wancert.test"));
    let log = ok(&config, &["renew", "--force"]);
    assert!(!log.contains("created the ACME account"), "{log}");
    assert!(log.contains("updated the account's contact"), "{log}");

    // Key rollover: a new key, the same account.
    let old_key = fs::read(&account_key).unwrap();
    let log = ok(&config, &["account", "rollover"]);
    let kid = log
        .lines()
        .find(|l| l.starts_with("https://"))
        .unwrap_or_else(|| panic!("no account URL printed: {log}"))
        .to_string();
    let new_key = fs::read(&account_key).unwrap();
    assert_ne!(old_key, new_key);
    assert!(!lab.state().join("account.key.new").exists());
    assert_eq!(
        fs::metadata(&account_key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = ok(&config, &["-v", "renew", "--force"]);
    assert!(
        !log.contains("created the ACME account"),
        "the CA knows the new key: {log}"
    );

    // Revocation: the CA revokes it, status says so, the next run replaces it.
    let old_serial = serial(&fullchain);
    ok(&config, &["revoke", "demo", "--reason", "keyCompromise"]);
    assert_eq!(status(&config)["certs"][0]["revoked"], true);
    assert_eq!(pebble_cert_status(&lab, &old_serial), "Revoked");
    let log = ok(&config, &["run"]);
    assert!(log.contains("revoked: replacing it"), "{log}");
    assert_ne!(serial(&fullchain), old_serial);
    assert!(status(&config)["certs"][0].get("revoked").is_none());
    let out = wancert(&[
        "--config",
        config.to_str().unwrap(),
        "revoke",
        "demo",
        "--reason",
        "cACompromise",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("keyCompromise"), "{}", text(&out));

    // Deactivation: the key is moved aside, the next run starts a new account.
    let log = ok(&config, &["account", "deactivate"]);
    assert!(log.contains(&kid), "{log}");
    assert!(!account_key.exists());
    assert!(lab.state().join("account.key.deactivated").exists());
    let log = ok(&config, &["renew", "--force"]);
    assert!(log.contains("created the ACME account"), "{log}");
    assert!(!log.contains(&kid), "{log}");
}

/// What pebble's management interface says of a certificate (`Valid`,
/// `Revoked`).
fn pebble_cert_status(lab: &Lab, serial_hex: &str) -> String {
    let url = format!(
        "{}/cert-status-by-serial/{}",
        lab.var("PEBBLE_MGMT"),
        serial_hex.trim_start_matches('0')
    );
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, ssl, sys, urllib.request\n\
             ctx = ssl.create_default_context(cafile=sys.argv[2])\n\
             print(json.load(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=5))['Status'])",
            &url,
            lab.var("PEBBLE_CA"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{url}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `_acme-challenge.deleg.wancert.test` is a CNAME into a throw-away zone:
/// with `challenge_alias`, the TXT values go there through a provider whose
/// key can update only that zone, and the CA (asking a resolver) follows the
/// CNAME.
#[test]
fn cname_delegation_needs_a_key_for_the_throwaway_zone_only() {
    let lab = Lab::up_with("deleg", &[("LAB_RESOLVER", "1")]);
    let throwaway = format!(
        "config provider 'throwaway'\n\toption type 'rfc2136'\n\toption server '127.0.0.1'\n\toption port '{}'\n\toption zone '{}'\n\toption tsig_name '{}'\n\toption tsig_algorithm 'hmac-sha256'\n\toption tsig_secret '{}'\n\n",
        lab.var("KNOT_PORT"),
        lab.var("DELEGATE_ZONE"),
        lab.var("DELEGATE_TSIG_NAME"),
        lab.var("DELEGATE_TSIG_SECRET"),
    );
    let alias = format!("deleg.{}", lab.var("DELEGATE_ZONE"));
    let cert = |alias_line: String| {
        let throwaway = throwaway.clone();
        move |t: String| {
            t.replace("demo.wancert.test", "deleg.wancert.test")
                .replace(
                    "\toption provider 'lab'\n",
                    &format!("\toption provider 'throwaway'\n{alias_line}"),
                )
                .replace(
                    "config cert 'demo'",
                    &format!("{throwaway}config cert 'demo'"),
                )
        }
    };

    // Without the alias, that key cannot touch wancert.test.
    let direct = lab.config_variant("direct.conf", cert(String::new()));
    let out = wancert(&["--config", direct.to_str().unwrap(), "run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!lab.state().join("certs/demo/fullchain.pem").exists());

    let config = lab.config_variant(
        "alias.conf",
        cert(format!("\toption challenge_alias '{alias}'\n")),
    );
    let log = ok(&config, &["renew"]);
    assert!(log.contains(&format!("published TXT at {alias}")), "{log}");
    let fullchain = lab.state().join("certs/demo/fullchain.pem");
    let names = openssl_text(
        &["x509", "-noout", "-ext", "subjectAltName", "-in"],
        &fullchain,
    );
    assert!(
        names.contains("DNS:deleg.wancert.test") && names.contains("DNS:*.deleg.wancert.test"),
        "{names}"
    );
    assert!(
        lab.txt(&alias).is_empty(),
        "left behind: {:?}",
        lab.txt(&alias)
    );
}

/// RSA certificate keys, for old clients (a build with the `rsa` feature:
/// `cargo test --features rsa --test e2e_pebble rsa`, which tests/run.sh runs).
#[cfg(feature = "rsa")]
#[test]
fn rsa_certificate_key() {
    let lab = Lab::up("rsa");
    let config = lab.config_with("rsa.conf", "\toption key_type 'rsa3072'\n");
    ok(&config, &["run"]);
    let fullchain = lab.state().join("certs/demo/fullchain.pem");
    let cert = openssl_text(&["x509", "-noout", "-text", "-in"], &fullchain);
    assert!(
        cert.contains("rsaEncryption") && cert.contains("(3072 bit)"),
        "{cert}"
    );
    let key = openssl_text(
        &["pkey", "-noout", "-text", "-in"],
        &lab.state().join("certs/demo/key.pem"),
    );
    assert!(key.contains("3072 bit"), "{key}");
}
