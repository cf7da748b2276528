//! One-off commands that act with the ACME account: key rollover
//! (RFC 8555 §7.3.5), deactivation (§7.3.6), revocation (§7.6) and the
//! dns-persist-01 record (draft-ietf-acme-dns-persist).

use std::path::{Path, PathBuf};

use crate::acme::client::Client;
use crate::acme::persist;
use crate::clock::Clock;
use crate::config::{CertConf, Config};
use crate::http::Http;
use crate::keys::{self, AccountKey};
use crate::run::{self, CertFiles};
use crate::{Error, Result, pem, providers, store};

/// RFC 5280 §5.3.1 revocation reasons a subscriber may give (RFC 8555 §7.6;
/// CAs refuse the CA-only ones).
pub const REASONS: &[(&str, u8)] = &[
    ("unspecified", 0),
    ("keyCompromise", 1),
    ("affiliationChanged", 3),
    ("superseded", 4),
    ("cessationOfOperation", 5),
    ("privilegeWithdrawn", 9),
];

/// The reason code of a `--reason` value; the error lists the valid ones.
pub fn reason_code(name: &str) -> Result<u8> {
    REASONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = REASONS.iter().map(|(n, _)| *n).collect();
            Error::other(format!(
                "unknown revocation reason '{name}': use one of {}",
                names.join(", ")
            ))
        })
}

/// Where a rollover keeps the new key until the CA has switched to it.
pub fn new_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("account.key.new")
}

/// Finish a rollover that was cut off: if `account.key.new` exists and the
/// CA knows an account for it, the key change went through and the new key
/// replaces the old; otherwise the change never happened and the new key is
/// dropped. Without this, a cut between the CA's answer and the rename would
/// leave a key the CA no longer knows.
pub fn finish_rollover(
    config: &Config,
    http: &dyn Http,
    clock: &dyn Clock,
    server: &str,
) -> Result<()> {
    let state_dir = &config.global.state_dir;
    let path = new_key_path(state_dir);
    let Some(text) = store::read(&path)? else {
        return Ok(());
    };
    let key = AccountKey::from_pem(&text).map_err(|e| e.context(&path.display().to_string()))?;
    let mut client = Client::new(http, clock, &key, server)?;
    if client.find_account()?.is_some() {
        store::rename(&path, &run::account_key_path(state_dir))?;
        log::warn!("finished an account key rollover that an earlier run left half done");
    } else {
        store::remove(&path)?;
        log::warn!("dropped the new key of an account key rollover that did not happen");
    }
    Ok(())
}

/// `wancert account rollover`: a new account key of `account_key_type`.
/// Returns the account URL.
pub fn rollover(config: &Config, http: &dyn Http, clock: &dyn Clock) -> Result<String> {
    let global = &config.global;
    finish_rollover(config, http, clock, &global.acme_server)?;
    let old = existing_key(&global.state_dir)?;
    let mut client = Client::new(http, clock, &old, &global.acme_server)?;
    let kid = client.account(global.email.as_deref(), run::eab(config)?.as_ref())?;
    let new_pem = keys::generate(global.account_key_type)?;
    let new = AccountKey::from_pem(&new_pem)?;
    let path = new_key_path(&global.state_dir);
    store::write_atomic(&path, new_pem.as_bytes(), store::SECRET)?;
    if let Err(e) = client.key_change(&new) {
        store::remove(&path)?;
        return Err(e);
    }
    store::rename(&path, &run::account_key_path(&global.state_dir))?;
    log::info!(
        "the account {kid} now uses a new {} key",
        global.account_key_type.name()
    );
    Ok(kid)
}

/// `wancert account deactivate`: the CA closes the account; its key is
/// moved to `account.key.deactivated`, so the next run starts a new account.
pub fn deactivate(config: &Config, http: &dyn Http, clock: &dyn Clock) -> Result<String> {
    let global = &config.global;
    finish_rollover(config, http, clock, &global.acme_server)?;
    let key = existing_key(&global.state_dir)?;
    let mut client = Client::new(http, clock, &key, &global.acme_server)?;
    let Some((kid, _)) = client.find_account()? else {
        return Err(Error::other(format!(
            "the CA at {} has no account for this key: nothing to deactivate",
            global.acme_server
        )));
    };
    client.deactivate()?;
    let path = run::account_key_path(&global.state_dir);
    store::rename(&path, &global.state_dir.join("account.key.deactivated"))?;
    log::info!("deactivated the account {kid}");
    Ok(kid)
}

/// `wancert revoke NAME`: revoke the installed certificate with the account
/// key and mark it, so that the next run replaces it.
pub fn revoke(
    config: &Config,
    http: &dyn Http,
    clock: &dyn Clock,
    cert: &CertConf,
    reason: Option<u8>,
) -> Result<()> {
    let global = &config.global;
    let files = CertFiles::new(&global.state_dir, &cert.name);
    let Some((chain, info)) = files.installed()? else {
        return Err(Error::other(format!(
            "config cert '{}' has no installed certificate to revoke",
            cert.name
        )));
    };
    let der =
        pem::leaf(&chain).ok_or_else(|| Error::other("the installed chain has no certificate"))?;
    let server = cert.server(global);
    finish_rollover(config, http, clock, server)?;
    let key = existing_key(&global.state_dir)?;
    let mut client = Client::new(http, clock, &key, server)?;
    client.account(global.email.as_deref(), run::eab(config)?.as_ref())?;
    client.revoke(&der, reason)?;
    let serial: String = info.serial.iter().map(|b| format!("{b:02x}")).collect();
    store::write_if_changed(
        &files.revoked,
        format!("{serial}\n").as_bytes(),
        store::PUBLIC,
    )?;
    log::info!(
        "{}: revoked the certificate with serial {serial}; the next run replaces it",
        cert.name
    );
    Ok(())
}

/// `wancert persist-record NAME [--publish]`: the standing dns-persist-01
/// records for the certificate's names (creating the account if needed, as
/// the record names it). With `publish`, they are added through the
/// certificate's provider. Returns (name, value) pairs.
pub fn persist_record(
    config: &Config,
    http: &dyn Http,
    clock: &dyn Clock,
    cert: &CertConf,
    publish: bool,
) -> Result<Vec<(String, String)>> {
    let global = &config.global;
    let server = cert.server(global);
    store::ensure_dir(&global.state_dir)?;
    finish_rollover(config, http, clock, server)?;
    let key = run::load_or_create_account(&global.state_dir, global.account_key_type)?;
    let mut client = Client::new(http, clock, &key, server)?;
    let kid = client.account(global.email.as_deref(), run::eab(config)?.as_ref())?;
    let names = client
        .directory
        .meta
        .as_ref()
        .map(|m| m.caa_identities.clone())
        .unwrap_or_default();
    let issuer = persist::issuer(&names, server)?;
    let records = persist::records(&cert.domains, &issuer, &kid);
    if publish {
        let name = cert.provider.as_deref().ok_or_else(|| {
            Error::other(format!(
                "config cert '{}' has no option provider to publish with: add one, or publish the record by hand",
                cert.name
            ))
        })?;
        let section = config
            .provider(name)
            .ok_or_else(|| Error::other(format!("no config provider '{name}'")))?;
        let env = providers::Env { http, clock };
        let mut dns = providers::build(section, &env)?;
        for (n, v) in &records {
            dns.add_txt(n, v)?;
            log::info!("published TXT at {n}");
        }
    }
    Ok(records)
}

fn existing_key(state_dir: &Path) -> Result<AccountKey> {
    let path = run::account_key_path(state_dir);
    let text = store::read(&path)?.ok_or_else(|| {
        Error::other(format!(
            "there is no account key at {}: a run creates it",
            path.display()
        ))
    })?;
    AccountKey::from_pem(&text).map_err(|e| e.context(&path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_reasons() {
        assert_eq!(reason_code("keyCompromise").unwrap(), 1);
        assert_eq!(reason_code("superseded").unwrap(), 4);
        assert_eq!(reason_code("KEYCOMPROMISE").unwrap(), 1);
        let e = reason_code("cACompromise").unwrap_err().to_string();
        assert!(
            e.contains("cACompromise") && e.contains("keyCompromise, "),
            "{e}"
        );
    }
}
