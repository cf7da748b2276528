//! One pass: for each certificate, decide whether it is due, issue it if so,
//! install it, and deploy it to its targets when they do not have it yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::acme::client::Client;
use crate::clock::Clock;
use crate::config::{CertConf, Config, KeyType};
use crate::deploy::{self, Material};
use crate::http::Http;
use crate::keys::{self, AccountKey};
use crate::renewal::{self, Due};
use crate::status::{CertRun, RunState};
use crate::store::{self, Pair};
use crate::{Error, Result, der, issue, pem, providers};

#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Renew even when not due.
    pub force: bool,
}

/// What happened to one certificate.
#[derive(Debug)]
pub enum Outcome {
    Issued { not_after: i64 },
    Fresh { renew_at: i64 },
    Failed(Error),
}

/// Where one certificate lives in the state directory.
pub struct CertFiles {
    pub dir: PathBuf,
    pub pair: Pair,
    /// Deploy targets that have the current certificate: name → fingerprint.
    pub deployed: PathBuf,
}

impl CertFiles {
    pub fn new(state_dir: &Path, name: &str) -> Self {
        let dir = state_dir.join("certs").join(name);
        CertFiles {
            pair: Pair::in_dir(&dir),
            deployed: dir.join("deployed.json"),
            dir,
        }
    }

    /// The installed chain's leaf, if any.
    pub fn installed(&self) -> Result<Option<(String, der::CertInfo)>> {
        let Some(chain) = store::read(&self.pair.chain)? else {
            return Ok(None);
        };
        let info = pem::decode_all(&chain, "CERTIFICATE")
            .first()
            .and_then(|d| der::parse_cert(d));
        Ok(info.map(|i| (chain, i)))
    }

    /// SHA-256 of the installed chain, base64url: what `deployed` records.
    pub fn fingerprint(&self) -> Result<Option<String>> {
        Ok(store::read(&self.pair.chain)?.map(|chain| fingerprint(&chain)))
    }
}

fn fingerprint(chain: &str) -> String {
    crate::b64::url(ring::digest::digest(&ring::digest::SHA256, chain.as_bytes()).as_ref())
}

/// Run every certificate (or only `only`). Each certificate's failure is
/// reported and the pass goes on.
pub fn run(
    config: &Config,
    http: &dyn Http,
    clock: &dyn Clock,
    opts: Options,
    only: Option<&str>,
) -> Result<Vec<(String, Outcome)>> {
    let now = clock.now().as_secs() as i64;
    if now < renewal::CLOCK_SANE_AFTER {
        return Err(Error::other(
            "the system clock is not set (it says before 2024): certificate work is postponed until NTP has synced",
        ));
    }
    if let Some(name) = only
        && config.cert(name).is_none()
    {
        return Err(Error::other(format!(
            "no config cert '{name}' in {}",
            config.file
        )));
    }
    let mut session = Session {
        config,
        http,
        clock,
        account: None,
    };
    let mut state = RunState::load(&config.global.run_dir);
    let mut results = Vec::new();
    for cert in config
        .certs
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
    {
        let record = state.certs.entry(cert.name.clone()).or_default();
        let outcome = session.one(cert, now, opts, record).unwrap_or_else(|e| {
            log::error!("{}: {e}", cert.name);
            record.last_error = Some(e.to_string());
            Outcome::Failed(e)
        });
        results.push((cert.name.clone(), outcome));
    }
    state.certs.retain(|name, _| config.cert(name).is_some());
    if let Err(e) = state.save(&config.global.run_dir) {
        log::warn!("cannot record the run's state: {e}");
    }
    Ok(results)
}

struct Session<'a> {
    config: &'a Config,
    http: &'a dyn Http,
    clock: &'a dyn Clock,
    /// Loaded on first need: a run with nothing due touches no key.
    account: Option<AccountKey>,
}

impl Session<'_> {
    fn one(
        &mut self,
        cert: &CertConf,
        now: i64,
        opts: Options,
        record: &mut CertRun,
    ) -> Result<Outcome> {
        let files = CertFiles::new(&self.config.global.state_dir, &cert.name);
        if files.pair.recover()? {
            log::warn!(
                "{}: finished an install that an earlier run left half done",
                cert.name
            );
        }
        let installed = files.installed()?;
        let due = renewal::decide(
            installed.as_ref().map(|(_, i)| i),
            &cert.domains,
            now,
            opts.force,
        );
        let outcome = match due {
            Due::NotYet { renew_at } => {
                log::debug!(
                    "{}: fresh, renewal from {}",
                    cert.name,
                    der::rfc3339(renew_at)
                );
                Outcome::Fresh { renew_at }
            }
            due => {
                log::info!("{}: {}", cert.name, describe(&due));
                record.last_attempt = Some(now);
                record.last_error = None;
                let not_after = self.issue(cert, &files)?;
                Outcome::Issued { not_after }
            }
        };
        self.deploy(cert, &files, &mut record.deploy_errors)?;
        Ok(outcome)
    }

    fn issue(&mut self, cert: &CertConf, files: &CertFiles) -> Result<i64> {
        let global = &self.config.global;
        store::ensure_dir(&global.state_dir)?;
        if self.account.is_none() {
            self.account = Some(load_or_create_account(&global.state_dir)?);
        }
        let account = self
            .account
            .as_ref()
            .ok_or_else(|| Error::other("no account key"))?;
        let section = self.config.provider(&cert.provider).ok_or_else(|| {
            Error::other(format!(
                "config cert '{}': no config provider '{}'",
                cert.name, cert.provider
            ))
        })?;
        let env = providers::Env {
            http: self.http,
            clock: self.clock,
        };
        let mut dns = providers::build(section, &env)?;
        let propagation = self.config.propagation(&cert.provider)?;

        let mut client = Client::new(self.http, self.clock, account, &global.acme_server)?;
        client.account(global.email.as_deref())?;
        let key_pem = keys::generate(cert.key_type)?;
        let chain = issue::issue(
            &mut client,
            account,
            issue::Dns {
                provider: dns.as_mut(),
                propagation: &propagation,
                http: self.http,
            },
            cert,
            &key_pem,
            self.clock,
        )?;

        let leaf = pem::decode_all(&chain, "CERTIFICATE");
        let info = leaf
            .first()
            .and_then(|d| der::parse_cert(d))
            .ok_or_else(|| Error::other("the CA sent no readable certificate"))?;
        if info.spki != keys::spki(&key_pem)? {
            return Err(Error::other(
                "the CA's certificate does not match our key: not installed",
            ));
        }
        store::ensure_dir(&files.dir)?;
        files.pair.install(&key_pem, &chain)?;
        log::info!(
            "{}: installed a certificate for {} valid until {} in {}",
            cert.name,
            info.dns_names.join(", "),
            der::rfc3339(info.not_after),
            files.dir.display()
        );
        Ok(info.not_after)
    }

    /// Deploy to every target that does not have the installed certificate.
    /// Only success is recorded (on flash, and only when it changes); a failed
    /// target is retried by the next run.
    fn deploy(
        &self,
        cert: &CertConf,
        files: &CertFiles,
        errors: &mut BTreeMap<String, String>,
    ) -> Result<()> {
        errors.retain(|k, _| cert.deploy.contains(k));
        if cert.deploy.is_empty() {
            return Ok(());
        }
        let Some((chain, _)) = files.installed()? else {
            return Ok(());
        };
        let fingerprint =
            crate::b64::url(ring::digest::digest(&ring::digest::SHA256, chain.as_bytes()).as_ref());
        let mut deployed: BTreeMap<String, String> = store::read(&files.deployed)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut key_pem = None;
        let mut failures = Vec::new();
        for target in &cert.deploy {
            if deployed.get(target) == Some(&fingerprint) {
                continue;
            }
            let key = match &key_pem {
                Some(k) => k,
                None => key_pem.insert(store::read(&files.pair.key)?.unwrap_or_default()),
            };
            let material = Material {
                cert_name: &cert.name,
                key_pem: key,
                fullchain_pem: &chain,
                key_path: &files.pair.key,
                fullchain_path: &files.pair.chain,
            };
            let section = self
                .config
                .deploy(target)
                .ok_or_else(|| Error::other(format!("no config deploy '{target}'")))?;
            match deploy::build(section).and_then(|d| d.deploy(&material)) {
                Ok(summary) => {
                    log::info!("{}: deployed to {target}: {summary}", cert.name);
                    deployed.insert(target.clone(), fingerprint.clone());
                    errors.remove(target);
                }
                Err(e) => {
                    log::error!("{}: deploy to {target} failed: {e}", cert.name);
                    failures.push(format!("{target}: {e}"));
                    errors.insert(target.clone(), e.to_string());
                }
            }
        }
        deployed.retain(|k, _| cert.deploy.contains(k));
        let text = serde_json::to_string_pretty(&deployed).unwrap_or_default();
        store::write_if_changed(&files.deployed, text.as_bytes(), store::PUBLIC)?;
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::other(format!(
                "deploy failed: {}",
                failures.join("; ")
            )))
        }
    }
}

fn describe(due: &Due) -> String {
    match due {
        Due::Missing => "no certificate yet: issuing".into(),
        Due::NamesChanged => "the configured names changed: issuing".into(),
        Due::Forced => "renewal forced".into(),
        Due::Expiring { not_after } => format!("expires {}: renewing", der::rfc3339(*not_after)),
        Due::NotYet { renew_at } => format!("fresh until {}", der::rfc3339(*renew_at)),
    }
}

/// What `check` prints for one certificate.
pub fn plan(config: &Config, cert: &CertConf, now: i64) -> Result<String> {
    let files = CertFiles::new(&config.global.state_dir, &cert.name);
    let installed = files.installed()?;
    Ok(describe(&renewal::decide(
        installed.as_ref().map(|(_, i)| i),
        &cert.domains,
        now,
        false,
    )))
}

fn load_or_create_account(state_dir: &Path) -> Result<AccountKey> {
    let path = state_dir.join("account.key");
    if let Some(text) = store::read(&path)? {
        return AccountKey::from_pem(&text).map_err(|e| e.context(&path.display().to_string()));
    }
    let pem = keys::generate(KeyType::Ec256)?;
    store::write_atomic(&path, pem.as_bytes(), store::SECRET)?;
    log::info!("created a new account key in {}", path.display());
    AccountKey::from_pem(&pem)
}
