//! One pass: for each certificate, decide whether it is due, issue it if so,
//! install it, and deploy it to its targets when they do not have it yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::acme::ari::{self, Window};
use crate::acme::client::{Client, Eab};
use crate::clock::Clock;
use crate::config::{CertConf, Config};
use crate::deploy::{self, Env, Material};
use crate::http::Http;
use crate::keys::{self, AccountKey};
use crate::providers::{self, DnsProvider};
use crate::renewal::{self, Due, Inputs};
use crate::status::{self, AriState, CertRun, RunState, TargetRecord};
use crate::store::{self, Pair};
use crate::verify::{self, Verdict};
use crate::{Error, Result, b64, der, events, issue, pem};

#[derive(Debug, Default, Clone, Copy)]
pub struct Options {
    /// Renew even when not due.
    pub force: bool,
    /// A `renew` from the command line: a back-off does not hold it back.
    pub manual: bool,
}

/// What happened to one certificate.
#[derive(Debug)]
pub enum Outcome {
    Issued {
        not_after: i64,
    },
    Fresh {
        renew_at: i64,
    },
    /// Due, but waiting after a failure.
    BackingOff {
        retry_at: i64,
    },
    Failed(Error),
}

/// After a failed ARI check, ask again this much later.
const ARI_RETRY_AFTER_ERROR: i64 = 3600;

/// What the renewal decision takes from the configuration and the last runs.
pub fn inputs(
    cert: &CertConf,
    run: &CertRun,
    installed: Option<&der::CertInfo>,
    files: &CertFiles,
    opts: Options,
) -> Inputs {
    let id = installed.and_then(ari_id);
    let ari = run
        .ari
        .as_ref()
        .filter(|a| id.as_ref() == Some(&a.cert_id))
        .and_then(|a| a.renew_at);
    Inputs {
        renew_days: cert.renew_days,
        ari_renew_at: ari,
        retry_at: run.retry_at,
        revoked: installed.is_some_and(|i| files.is_revoked(i)),
        force: opts.force,
        manual: opts.manual,
        in_flight: files.order.exists(),
    }
}

/// The ARI identifier of a certificate (RFC 9773 §4.1); `None` without an
/// Authority Key Identifier.
pub fn ari_id(info: &der::CertInfo) -> Option<String> {
    info.aki.as_ref().map(|aki| ari::cert_id(aki, &info.serial))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where one certificate lives in the state directory.
pub struct CertFiles {
    pub dir: PathBuf,
    pub pair: Pair,
    /// Deploy target → its `TargetRecord`.
    pub deployed: PathBuf,
    /// The order in flight (`issue::InFlight`), while one is.
    pub order: PathBuf,
    /// The serial (hex) of a certificate `wancert revoke` revoked.
    pub revoked: PathBuf,
}

impl CertFiles {
    pub fn new(state_dir: &Path, name: &str) -> Self {
        let dir = state_dir.join("certs").join(name);
        CertFiles {
            pair: Pair::in_dir(&dir),
            deployed: dir.join("deployed.json"),
            order: dir.join("order.json"),
            revoked: dir.join("revoked"),
            dir,
        }
    }

    /// Whether `info` is the certificate `wancert revoke` revoked.
    pub fn is_revoked(&self, info: &der::CertInfo) -> bool {
        store::read(&self.revoked)
            .ok()
            .flatten()
            .is_some_and(|s| s.trim() == hex(&info.serial))
    }

    /// The installed chain's leaf, if any.
    pub fn installed(&self) -> Result<Option<(String, der::CertInfo)>> {
        let Some(chain) = store::read(&self.pair.chain)? else {
            return Ok(None);
        };
        let info = pem::leaf(&chain).and_then(|d| der::parse_cert(&d));
        Ok(info.map(|i| (chain, i)))
    }

    /// SHA-256 of the installed chain, base64url: what `deployed` records.
    pub fn fingerprint(&self) -> Result<Option<String>> {
        Ok(store::read(&self.pair.chain)?.map(|chain| fingerprint(&chain)))
    }

    /// What each deploy target has. Missing or unreadable means nothing is
    /// known: every target is deployed again, which is safe.
    pub fn targets(&self) -> BTreeMap<String, TargetRecord> {
        store::read(&self.deployed)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(t.as_bytes()).ok())
            .and_then(|v| v.as_object().cloned())
            .into_iter()
            .flatten()
            .map(|(target, r)| (target, TargetRecord::from_json(&r)))
            .collect()
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
        forwards: deploy::Forwards::new(&config.global.firewall_config),
    };
    let mut state = RunState::load(&config.global.run_dir);
    let mut results = Vec::new();
    for cert in config
        .certs
        .iter()
        .filter(|c| only.is_none_or(|o| o == c.name))
    {
        let record = state.certs.entry(cert.name.clone()).or_default();
        let mut outcome = session.one(cert, now, opts, record).unwrap_or_else(|e| {
            log::error!("{}: {e}", cert.name);
            record.last_error = Some(e.to_string());
            Outcome::Failed(e)
        });
        // Also after a failed renewal: the installed certificate is still
        // good, and a target that lacks it should get it.
        if let Err(e) = session.deploy(cert, now) {
            log::error!("{}: {e}", cert.name);
            if !matches!(outcome, Outcome::Failed(_)) {
                outcome = Outcome::Failed(e);
            }
        }
        results.push((cert.name.clone(), outcome));
    }
    status::retain_entries(&mut state.certs, |name, _| config.cert(name).is_some());
    if let Err(e) = state.save(&config.global.run_dir) {
        log::warn!("cannot record the run's state: {e}");
    }
    Ok(results)
}

pub struct Session<'a> {
    config: &'a Config,
    http: &'a dyn Http,
    clock: &'a dyn Clock,
    /// Loaded on first need: a run with nothing due touches no key.
    account: Option<AccountKey>,
    forwards: deploy::Forwards<'a>,
}

impl<'a> Session<'a> {
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
        let info = installed.as_ref().map(|(_, i)| i);
        if let Some(info) = info {
            self.check_ari(cert, info, now, record);
        }
        let inputs = inputs(cert, record, info, &files, opts);
        let due = renewal::decide(info, &cert.domains, now, &inputs);
        let outcome = match due {
            Due::NotYet { renew_at } => {
                log::debug!(
                    "{}: fresh, renewal from {}",
                    cert.name,
                    der::rfc3339(renew_at)
                );
                Outcome::Fresh { renew_at }
            }
            Due::BackingOff { retry_at } => {
                log::info!(
                    "{}: due, but {} attempt(s) failed: the next one is at {}",
                    cert.name,
                    record.failures,
                    der::rfc3339(retry_at)
                );
                Outcome::BackingOff { retry_at }
            }
            due => {
                log::info!("{}: {}", cert.name, describe(&due));
                record.last_attempt = Some(now);
                record.last_error = None;
                match self.issue(cert, &files, &due, info, now, record) {
                    Ok(not_after) => {
                        record.failures = 0;
                        record.retry_at = None;
                        events::installed(
                            &cert.name,
                            &cert.domains,
                            &files.pair.key.display().to_string(),
                            &files.pair.chain.display().to_string(),
                            info.is_none(),
                        );
                        Outcome::Issued { not_after }
                    }
                    Err(e) => {
                        record.failures = record.failures.saturating_add(1);
                        // Not sooner than the CA or provider asked, within
                        // reason: a week is the longest rate limit of
                        // Let's Encrypt, and a bogus header must not park
                        // a certificate until it expires.
                        let asked = e
                            .retry_after()
                            .map_or(0, |d| d.as_secs().min(7 * 86400) as i64);
                        let retry_at = now + renewal::backoff(record.failures).max(asked);
                        record.retry_at = Some(retry_at);
                        log::info!(
                            "{}: {} failed attempt(s) in a row: the next automatic one is at {}",
                            cert.name,
                            record.failures,
                            der::rfc3339(retry_at)
                        );
                        return Err(e);
                    }
                }
            }
        };
        Ok(outcome)
    }

    /// The account key, loaded (or created) on first need.
    fn account(&mut self) -> Result<&AccountKey> {
        if self.account.is_none() {
            let global = &self.config.global;
            store::ensure_dir(&global.state_dir)?;
            self.account = Some(load_or_create_account(
                &global.state_dir,
                global.account_key_type,
            )?);
        }
        self.account
            .as_ref()
            .ok_or_else(|| Error::other("no account key"))
    }

    /// Ask the CA about the installed certificate when a check is due: when
    /// the last answer is about another certificate (or there is none: a
    /// fresh boot), or its Retry-After has passed. A failed check is logged
    /// and tried again an hour later; it never fails the certificate.
    fn check_ari(&mut self, cert: &CertConf, info: &der::CertInfo, now: i64, record: &mut CertRun) {
        let Some(id) = ari_id(info) else { return };
        let last = record.ari.take().filter(|a| a.cert_id == id);
        if let Some(a) = &last
            && a.next_check.is_none_or(|t| now < t)
        {
            record.ari = last;
            return;
        }
        let server = cert.server(&self.config.global).to_string();
        let (http, clock) = (self.http, self.clock);
        let fetched = self.account().and_then(|key| {
            let client = Client::new(http, clock, key, &server)?;
            ari_state(&client, id.clone(), last.as_ref(), now)
        });
        record.ari = Some(match fetched {
            Ok(state) => state,
            Err(e) => {
                log::warn!(
                    "{}: cannot get the CA's renewal information: {e}",
                    cert.name
                );
                AriState {
                    next_check: Some(now + ARI_RETRY_AFTER_ERROR),
                    ..last.unwrap_or(AriState {
                        cert_id: id,
                        window: None,
                        renew_at: None,
                        explanation: None,
                        next_check: None,
                    })
                }
            }
        });
    }

    /// The DNS provider of a certificate, if it names one.
    fn provider(&self, cert: &CertConf) -> Result<Option<Box<dyn DnsProvider + 'a>>> {
        let Some(name) = &cert.provider else {
            return Ok(None);
        };
        let section = self.config.provider(name).ok_or_else(|| {
            Error::other(format!(
                "config cert '{}': no config provider '{name}'",
                cert.name
            ))
        })?;
        let env = providers::Env {
            http: self.http,
            clock: self.clock,
        };
        providers::build(section, &env).map(Some)
    }

    fn issue(
        &mut self,
        cert: &CertConf,
        files: &CertFiles,
        due: &Due,
        installed: Option<&der::CertInfo>,
        now: i64,
        record: &mut CertRun,
    ) -> Result<i64> {
        let mut dns = self.provider(cert)?;
        let (http, clock, config) = (self.http, self.clock, self.config);
        let global = &config.global;
        let propagation = match &cert.provider {
            Some(p) => config.propagation(p)?,
            None => global.propagation.clone(),
        };
        if crate::manage::new_key_path(&global.state_dir).exists() {
            crate::manage::finish_rollover(config, http, clock, cert.server(global))?;
            self.account = None;
        }
        let account = self.account()?;
        let mut client = Client::new(http, clock, account, cert.server(global))?;
        client.account(global.email.as_deref(), eab(config)?.as_ref())?;
        // RFC 9773 §5: name the certificate this one replaces, when the CA
        // has ARI and the names are the same.
        let replaces = match due {
            Due::Expiring { .. } | Due::Suggested { .. } | Due::Forced | Due::Interrupted
                if client.directory.renewal_info.is_some() =>
            {
                installed.and_then(ari_id)
            }
            _ => None,
        };
        store::ensure_dir(&files.dir)?;
        let issued = issue::issue(
            &mut client,
            account,
            dns.as_deref_mut().map(|provider| issue::Dns {
                provider,
                propagation: &propagation,
                http,
            }),
            global,
            cert,
            &files.order,
            replaces.as_deref(),
            clock,
        )?;
        let (chain, key_pem) = (issued.chain, issued.key_pem);

        let info = pem::leaf(&chain)
            .and_then(|d| der::parse_cert(&d))
            .ok_or_else(|| Error::other("the CA sent no readable certificate"))?;
        if info.spki != keys::spki(&key_pem)? {
            store::remove(&files.order)?;
            return Err(Error::other(
                "the CA's certificate does not match our key: not installed",
            ));
        }
        files.pair.install(&key_pem, &chain)?;
        store::remove(&files.order)?;
        store::remove(&files.revoked)?;
        log::info!(
            "{}: installed a certificate for {} valid until {} in {}",
            cert.name,
            info.dns_names.join(", "),
            der::rfc3339(info.not_after),
            files.dir.display()
        );
        // Ask about the new certificate now, while the client is at hand, so
        // that the runs until the next check need no request at all.
        record.ari = ari_id(&info).and_then(|id| match ari_state(&client, id, None, now) {
            Ok(state) => Some(state),
            Err(e) => {
                log::warn!(
                    "{}: cannot get the CA's renewal information: {e}",
                    cert.name
                );
                None
            }
        });
        Ok(info.not_after)
    }

    /// Deploy to every target that does not have the installed certificate
    /// or whose last attempt failed, then check what each one serves. What
    /// happened is recorded per target in `deployed.json`, written only when
    /// it changed.
    fn deploy(&self, cert: &CertConf, now: i64) -> Result<()> {
        if cert.deploy.is_empty() {
            return Ok(());
        }
        let files = CertFiles::new(&self.config.global.state_dir, &cert.name);
        let Some((chain, _)) = files.installed()? else {
            return Ok(());
        };
        let fingerprint = fingerprint(&chain);
        let mut records = files.targets();
        let mut key_pem = None;
        let mut failures = Vec::new();
        for target in &cert.deploy {
            let record = records.entry(target.clone()).or_default();
            if record.current(&fingerprint) {
                continue;
            }
            let key = match &key_pem {
                Some(k) => k,
                None => key_pem.insert(store::read(&files.pair.key)?.unwrap_or_default()),
            };
            let material = Material {
                cert_name: &cert.name,
                domains: &cert.domains,
                key_pem: key,
                fullchain_pem: &chain,
                key_path: &files.pair.key,
                fullchain_path: &files.pair.chain,
            };
            match self.deploy_one(target, &material, &fingerprint, record, now) {
                Ok(()) => record.succeeded(),
                Err(e) => {
                    log::error!("{}: deploy to {target} failed: {e}", cert.name);
                    failures.push(format!("{target}: {e}"));
                    record.failed(e.to_string(), now);
                }
            }
        }
        status::retain_entries(&mut records, |k, _| cert.deploy.iter().any(|d| d == k));
        let records = records.iter().map(|(k, r)| (k.clone(), r.to_json()));
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(records.collect()))
            .unwrap_or_default();
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

    /// Deploy to one target and check it. A service that still serves
    /// another certificate afterwards, or cannot be reached, is a failure:
    /// the next run deploys and reloads again.
    fn deploy_one(
        &self,
        target: &str,
        m: &Material<'_>,
        fingerprint: &str,
        record: &mut TargetRecord,
        now: i64,
    ) -> Result<()> {
        let section = self
            .config
            .deploy(target)
            .ok_or_else(|| Error::other(format!("no config deploy '{target}'")))?;
        let forward = self.forwards.of(section)?;
        let env = Env {
            http: self.http,
            clock: self.clock,
            state_dir: &self.config.global.state_dir,
            forward,
        };
        let t = deploy::build(section, &env)?;
        let summary = t.deployer.deploy(m)?;
        log::info!("{}: deployed to {target}: {summary}", m.cert_name);
        if record.fingerprint != fingerprint {
            record.fingerprint = fingerprint.to_string();
            record.deployed_at = Some(now);
        }
        let Some(at) = t.verify else {
            record.checked(None, now);
            return Ok(());
        };
        let leaf = pem::leaf(m.fullchain_pem).unwrap_or_default();
        let check = verify::check(&at, verify::sni(m.domains), &leaf, self.clock);
        record.checked(
            Some((check.verdict, at.to_string(), check.detail.clone())),
            now,
        );
        match check.verdict {
            Verdict::New => {
                log::info!("{}: {target}: {at} {}", m.cert_name, check.detail);
                Ok(())
            }
            Verdict::Old => Err(Error::other(format!(
                "deployed, but {at} still {}: did the reload command reload it?",
                check.detail
            ))),
            _ => Err(Error::other(format!(
                "deployed, but the check at {at} failed: {} (set option verify to where the service listens, or 'off')",
                check.detail
            ))),
        }
    }
}

/// `wancert verify`: connect now to every deploy target of every
/// certificate that has somewhere to check (`option verify`, its port
/// forward, uhttpd's `listen_https`) and say whether it serves the installed
/// certificate. Deploys nothing and writes nothing: after a reboot, or when a
/// service was restarted by hand, this answers "what do my services serve?"
/// without a renewal. Returns the lines to print and whether every checked
/// target serves the installed certificate.
pub fn verify_targets(config: &Config, clock: &dyn Clock) -> Result<(Vec<String>, bool)> {
    let forwards = deploy::Forwards::new(&config.global.firewall_config);
    let mut lines = Vec::new();
    let mut all_new = true;
    for cert in &config.certs {
        let files = CertFiles::new(&config.global.state_dir, &cert.name);
        let Some((chain, _)) = files.installed()? else {
            lines.push(format!("{}: no certificate installed yet", cert.name));
            continue;
        };
        let leaf = pem::leaf(&chain).unwrap_or_default();
        for target in &cert.deploy {
            let section = config
                .deploy(target)
                .ok_or_else(|| Error::other(format!("no config deploy '{target}'")))?;
            let env = Env {
                http: &crate::http::NoHttp,
                clock,
                state_dir: &config.global.state_dir,
                forward: forwards.of(section)?,
            };
            let Some(at) = deploy::build(section, &env)?.verify else {
                lines.push(format!(
                    "{}: {target}: not checked (no option verify, port forward or uhttpd listen_https)",
                    cert.name
                ));
                continue;
            };
            let check = verify::check(&at, verify::sni(&cert.domains), &leaf, clock);
            all_new &= check.verdict == Verdict::New;
            lines.push(format!("{}: {target}: {at} {}", cert.name, check.detail));
        }
    }
    Ok((lines, all_new))
}

fn describe(due: &Due) -> String {
    match due {
        Due::Missing => "no certificate yet: issuing".into(),
        Due::NamesChanged => "the configured names changed: issuing".into(),
        Due::Forced => "renewal forced".into(),
        Due::Revoked => "the certificate was revoked: replacing it".into(),
        Due::Interrupted => "an interrupted run left an order in flight: finishing it".into(),
        Due::BackingOff { retry_at } => format!(
            "due; after a failure, the next attempt is at {}",
            der::rfc3339(*retry_at)
        ),
        Due::Expiring { not_after } => format!("expires {}: renewing", der::rfc3339(*not_after)),
        Due::Suggested { at } => format!(
            "the moment chosen in the CA's renewal window ({}) has come: renewing",
            der::rfc3339(*at)
        ),
        Due::NotYet { renew_at } => format!("fresh until {}", der::rfc3339(*renew_at)),
    }
}

/// What `check` prints for one certificate.
pub fn plan(config: &Config, cert: &CertConf, now: i64) -> Result<String> {
    let files = CertFiles::new(&config.global.state_dir, &cert.name);
    let installed = files.installed()?;
    let info = installed.as_ref().map(|(_, i)| i);
    let runs = RunState::load(&config.global.run_dir);
    let run = runs.certs.get(&cert.name).cloned().unwrap_or_default();
    let inputs = inputs(cert, &run, info, &files, Options::default());
    Ok(describe(&renewal::decide(
        info,
        &cert.domains,
        now,
        &inputs,
    )))
}

/// Ask the CA's renewalInfo about `id` (RFC 9773 §4.1) and keep the moment
/// chosen earlier while the window stays the same.
fn ari_state(
    client: &Client<'_>,
    id: String,
    last: Option<&AriState>,
    now: i64,
) -> Result<AriState> {
    let Some((info, retry)) = client.renewal_info(&id)? else {
        return Ok(AriState {
            cert_id: id,
            window: None,
            renew_at: None,
            explanation: None,
            next_check: None,
        });
    };
    let window = Window::of(&info);
    let renew_at = window.map(|w| match last {
        Some(l) if l.window == Some((w.start, w.end)) && l.renew_at.is_some() => {
            l.renew_at.unwrap_or(w.start)
        }
        _ => w.choose(keys::random_u64()),
    });
    if let (Some(w), Some(at)) = (window, renew_at) {
        log::info!(
            "the CA suggests renewing between {} and {}: chose {}",
            der::rfc3339(w.start),
            der::rfc3339(w.end),
            der::rfc3339(at)
        );
    }
    Ok(AriState {
        cert_id: id,
        window: window.map(|w| (w.start, w.end)),
        renew_at,
        explanation: info.explanation_url,
        next_check: Some(ari::next_check(now, retry)),
    })
}

/// The EAB credentials of the configuration, decoded.
pub fn eab(config: &Config) -> Result<Option<Eab>> {
    let Some(e) = &config.global.eab else {
        return Ok(None);
    };
    let hmac_key = b64::decode(&e.hmac_key)
        .ok_or_else(|| Error::other("option eab_hmac_key is not base64url"))?;
    Ok(Some(Eab {
        kid: e.kid.clone(),
        hmac_key,
    }))
}

/// The account key in `state_dir/account.key`, created (of `kind`) when
/// there is none.
pub fn load_or_create_account(
    state_dir: &Path,
    kind: crate::config::KeyType,
) -> Result<AccountKey> {
    let path = account_key_path(state_dir);
    if let Some(text) = store::read(&path)? {
        return AccountKey::from_pem(&text).map_err(|e| e.context(&path.display().to_string()));
    }
    let pem = keys::generate(kind)?;
    store::write_atomic(&path, pem.as_bytes(), store::SECRET)?;
    log::info!("created a new account key in {}", path.display());
    AccountKey::from_pem(&pem)
}

pub fn account_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("account.key")
}
