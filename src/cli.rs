//! The command line: a small hand-written parser, dispatch, and the mapping of
//! every outcome to one exit code: 0 success, 1 nothing to do (or another run
//! holds the lock, or the clock is not set yet), 2 failure.

use std::fs::{File, TryLockError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::http::{LazyHttp, NoHttp};
use crate::propagation::{self, Report};
use crate::run::{self, Options, Outcome};
use crate::status::{LastRun, RunState};
use crate::{Error, Result, ddns, deploy, keys, manage, notify, providers, store};

const USAGE: &str = "\
usage: wancert [--config FILE] [-v|-q] [--background] COMMAND

commands:
  run                  update the DDNS records, then issue or renew every
                       certificate that is due, and deploy
  renew [--force] [NAME]
                       the same for one certificate (or all); --force renews
                       even when not due
  ddns [--force] [NAME]
                       only the DDNS records (or one); --force sends even
                       when unchanged
  status [--json]      certificates, expiry, renewal time, deploy targets,
                       WAN addresses and DDNS records
  check                validate the configuration and say what a run would do
  targets              list the router's port forwards, which deploy
                       sections can follow with option redirect
  verify               connect to every deploy target now and say whether
                       it serves the installed certificate (deploys nothing)
  dns-test PROVIDER NAME
                       add a random TXT value where issuance would for the
                       name NAME (_acme-challenge.NAME; a NAME starting with
                       _ is taken as it is) through config provider
                       PROVIDER, show which servers see it, and remove it:
                       checks credentials before a first issuance
  log                  wancert's lines of the system log (logread)
  revoke NAME [--reason R]
                       revoke the installed certificate (R: keyCompromise,
                       superseded, ...); the next run replaces it
  account rollover     give the ACME account a new key (account_key_type)
  account deactivate   close the ACME account at the CA
  persist-record NAME [--publish]
                       print the standing dns-persist-01 TXT record(s) for a
                       certificate; --publish adds them through its provider
  providers            list the DNS provider types built in
  deployers            list the deploy types built in
  notifiers            list the notification types built in

options:
  --config FILE        configuration file (default /etc/config/wancert)
  -v, --verbose        more detail
  -q, --quiet          errors only
  --background         start the command detached and return at once
                       (exit 1 when a run is already in progress)
  -h, --help           this text
  -V, --version        the version

exit status: 0 done, 1 nothing to do, another run in progress, or the clock
is not set yet (before NTP syncs), 2 failure
";

/// How long one HTTP request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, PartialEq)]
enum Command {
    Run,
    Renew {
        force: bool,
        name: Option<String>,
    },
    Ddns {
        force: bool,
        name: Option<String>,
    },
    Status {
        json: bool,
    },
    Check,
    Targets,
    Verify,
    DnsTest {
        provider: String,
        name: String,
    },
    Log,
    Revoke {
        name: String,
        reason: Option<String>,
    },
    Account {
        action: AccountAction,
    },
    PersistRecord {
        name: String,
        publish: bool,
    },
    Providers,
    Deployers,
    Notifiers,
    Help,
    Version,
}

#[derive(Debug, PartialEq)]
enum AccountAction {
    Rollover,
    Deactivate,
}

#[derive(Debug, PartialEq)]
struct Args {
    config: String,
    level: log::LevelFilter,
    background: bool,
    command: Command,
}

fn parse_args(args: &[String]) -> std::result::Result<Args, String> {
    let mut config = config::DEFAULT_PATH.to_string();
    let mut level = log::LevelFilter::Info;
    let mut background = false;
    let mut words = Vec::new();
    let mut flags = Vec::new();
    let mut reason = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => config = it.next().ok_or("--config needs a file name")?.clone(),
            "--reason" => {
                reason = Some(it.next().ok_or("--reason needs a reason")?.clone());
                flags.push(a.clone());
            }
            "-v" | "--verbose" => level = log::LevelFilter::Debug,
            "-q" | "--quiet" => level = log::LevelFilter::Error,
            "--background" => background = true,
            "-h" | "--help" => words.insert(0, "help".to_string()),
            "-V" | "--version" => words.insert(0, "version".to_string()),
            f if f.starts_with('-') => flags.push(f.to_string()),
            w => words.push(w.to_string()),
        }
    }
    let mut words = words.into_iter();
    let verb = words.next().ok_or("no command given")?;
    let rest: Vec<String> = words.collect();
    let flag = |name: &str| flags.iter().any(|f| f == name);
    let allowed: &[&str] = match verb.as_str() {
        "renew" | "ddns" => &["--force"],
        "status" => &["--json"],
        "revoke" => &["--reason"],
        "persist-record" => &["--publish"],
        _ => &[],
    };
    if let Some(bad) = flags.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(format!("unknown option {bad} for {verb}"));
    }
    let (min_words, max_words) = match verb.as_str() {
        "dns-test" => (2, 2),
        "renew" | "ddns" | "revoke" | "persist-record" | "account" => (0, 1),
        _ => (0, 0),
    };
    if rest.len() > max_words {
        return Err(format!(
            "unexpected argument '{}' for {verb}",
            rest[max_words]
        ));
    }
    if rest.len() < min_words {
        return Err(format!("{verb} needs a provider section and a name"));
    }
    let needs_name = || {
        rest.first()
            .cloned()
            .ok_or_else(|| format!("{verb} needs the name of a config cert section"))
    };
    let command = match verb.as_str() {
        "run" => Command::Run,
        "renew" => Command::Renew {
            force: flag("--force"),
            name: rest.into_iter().next(),
        },
        "ddns" => Command::Ddns {
            force: flag("--force"),
            name: rest.into_iter().next(),
        },
        "status" => Command::Status {
            json: flag("--json"),
        },
        "check" => Command::Check,
        "targets" => Command::Targets,
        "verify" => Command::Verify,
        "dns-test" => {
            let mut rest = rest.into_iter();
            Command::DnsTest {
                provider: rest.next().unwrap_or_default(),
                name: rest.next().unwrap_or_default(),
            }
        }
        "log" => Command::Log,
        "revoke" => Command::Revoke {
            name: needs_name()?,
            reason,
        },
        "persist-record" => Command::PersistRecord {
            name: needs_name()?,
            publish: flag("--publish"),
        },
        "account" => Command::Account {
            action: match rest.first().map(String::as_str) {
                Some("rollover") => AccountAction::Rollover,
                Some("deactivate") => AccountAction::Deactivate,
                Some(other) => {
                    return Err(format!(
                        "unknown account action '{other}': use rollover or deactivate"
                    ));
                }
                None => return Err("account needs an action: rollover or deactivate".into()),
            },
        },
        "providers" => Command::Providers,
        "deployers" => Command::Deployers,
        "notifiers" => Command::Notifiers,
        "help" => Command::Help,
        "version" => Command::Version,
        other => return Err(format!("unknown command '{other}'")),
    };
    if background
        && !matches!(
            command,
            Command::Run | Command::Renew { .. } | Command::Ddns { .. }
        )
    {
        return Err(format!(
            "--background is for run, renew and ddns, not {verb}"
        ));
    }
    Ok(Args {
        config,
        level,
        background,
        command,
    })
}

/// Run the command line; returns the exit code.
pub fn main(raw: Vec<String>) -> i32 {
    let args = match parse_args(&raw) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("wancert: {msg}\n\n{USAGE}");
            return 2;
        }
    };
    // Syslog when nobody watches stderr (cron, procd, LuCI); WANCERT_LOG
    // overrides, e.g. for tests that read stderr from a pipe.
    let to_syslog = match std::env::var("WANCERT_LOG").as_deref() {
        Ok("stderr") => false,
        Ok("syslog") => true,
        _ => !crate::logger::stderr_is_terminal(),
    };
    crate::logger::init(args.level, to_syslog);
    // Also before `--background` detaches: LuCI shows this line.
    if needs_the_time(&args.command)
        && let Some(code) = postpone_while_the_clock_is_unset()
    {
        return code;
    }
    let result = if args.background {
        detach(&args, &raw)
    } else {
        dispatch(&args)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e}");
            2
        }
    }
}

fn dispatch(args: &Args) -> Result<i32> {
    match &args.command {
        Command::Help => print!("{USAGE}"),
        Command::Version => println!("wancert {}", env!("CARGO_PKG_VERSION")),
        Command::Providers => providers::TYPES
            .iter()
            .for_each(|t| println!("{}\t{}", t.name, t.about)),
        Command::Deployers => deploy::TYPES
            .iter()
            .for_each(|t| println!("{}\t{}", t.name, t.about)),
        Command::Notifiers => notify::TYPES
            .iter()
            .for_each(|t| println!("{}\t{}", t.name, t.about)),
        Command::Log => return log(),
        Command::Check => return check(&config::load(&args.config)?),
        Command::Targets => return targets(&config::load(&args.config)?),
        Command::Verify => {
            let (lines, all_new) = run::verify_targets(&config::load(&args.config)?, &SystemClock)?;
            for line in lines {
                println!("{line}");
            }
            return Ok(if all_new { 0 } else { 2 });
        }
        Command::DnsTest { provider, name } => {
            return dns_test(&config::load(&args.config)?, provider, name);
        }
        Command::Status { json } => return status(&config::load(&args.config)?, *json),
        Command::Revoke { name, reason } => {
            let config = config::load(&args.config)?;
            let cert = named_cert(&config, name)?;
            let reason = reason.as_deref().map(manage::reason_code).transpose()?;
            let _lock = match lock(&config)? {
                Some(l) => l,
                None => return Ok(busy()),
            };
            manage::revoke(&config, &http(&config), &SystemClock, cert, reason)?;
        }
        Command::Account { action } => {
            let config = config::load(&args.config)?;
            let _lock = match lock(&config)? {
                Some(l) => l,
                None => return Ok(busy()),
            };
            let http = http(&config);
            let kid = match action {
                AccountAction::Rollover => manage::rollover(&config, &http, &SystemClock)?,
                AccountAction::Deactivate => manage::deactivate(&config, &http, &SystemClock)?,
            };
            println!("{kid}");
        }
        Command::PersistRecord { name, publish } => {
            let config = config::load(&args.config)?;
            let cert = named_cert(&config, name)?;
            let records =
                manage::persist_record(&config, &http(&config), &SystemClock, cert, *publish)?;
            for (n, v) in records {
                println!("{n}. IN TXT \"{v}\"");
            }
        }
        Command::Run => {
            return pass(
                &config::load(&args.config)?,
                Options::default(),
                None,
                false,
            );
        }
        Command::Renew { force, name } => {
            return pass(
                &config::load(&args.config)?,
                Options {
                    force: *force,
                    manual: true,
                },
                name.as_deref(),
                true,
            );
        }
        Command::Ddns { force, name } => {
            let config = config::load(&args.config)?;
            // Hotplug starts one of these for each WAN interface that comes
            // up, seconds apart: a later one waits for the earlier rather
            // than dropping its news (a DDNS run takes a moment).
            let _lock = match lock_within(&config, DDNS_LOCK_WAIT)? {
                Some(l) => l,
                None => return Ok(busy()),
            };
            let opts = ddns::Options { force: *force };
            let ok = ddns_pass(&config, &http(&config), opts, name.as_deref())?;
            return Ok(if ok { 0 } else { 2 });
        }
    }
    Ok(0)
}

/// Whether a command talks to the CA or to DNS servers and APIs, which needs
/// the right time: TLS checks certificate validity, TSIG (RFC 8945) allows
/// 300 s of skew, cloud APIs sign timestamps, and renewal decisions compare
/// expiry dates with now.
fn needs_the_time(command: &Command) -> bool {
    matches!(
        command,
        Command::Run
            | Command::Renew { .. }
            | Command::Ddns { .. }
            | Command::DnsTest { .. }
            | Command::Revoke { .. }
            | Command::Account { .. }
            | Command::PersistRecord { .. }
    )
}

/// A router without a real-time clock boots in 1970 and keeps that date
/// until NTP syncs. Before `renewal::CLOCK_SANE_AFTER` such work is
/// postponed, before anything is asked or written: failing TLS checks would
/// count as failures and back off, and every certificate would look not yet
/// valid. Exit 1, like a run that finds another in progress: a later run
/// (cron, the next hotplug) does the work.
fn postpone_while_the_clock_is_unset() -> Option<i32> {
    let now = SystemClock.now().as_secs() as i64;
    if now >= crate::renewal::CLOCK_SANE_AFTER {
        return None;
    }
    log::warn!(
        "the system clock says {}: it is not set yet (NTP has not synced since boot). ACME, DNS and DDNS work is postponed, as TLS and signed requests need the right time: check that sysntpd runs and reaches its servers (/etc/init.d/sysntpd status); a later run does the work",
        crate::der::rfc3339(now)
    );
    Some(1)
}

/// How long `wancert ddns` waits for another run's lock.
const DDNS_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The DDNS records (or one); whether none failed or stays refused.
fn ddns_pass(
    config: &Config,
    http: &dyn crate::http::Http,
    opts: ddns::Options,
    only: Option<&str>,
) -> Result<bool> {
    if config.ddns.is_empty() {
        return match only {
            Some(name) => Err(Error::other(format!(
                "no config ddns '{name}' in {}",
                config.file
            ))),
            None => Ok(true),
        };
    }
    let results = ddns::run(config, http, &SystemClock, opts, only)?;
    let failed = results
        .iter()
        .filter(|(_, o)| matches!(o, ddns::Outcome::Failed(_) | ddns::Outcome::Refused(_)))
        .count();
    if failed > 0 {
        log::error!(
            "{failed} of {} DDNS record(s) failed; the next run tries again",
            results.len()
        );
    }
    Ok(failed == 0)
}

fn http(config: &Config) -> LazyHttp {
    LazyHttp::new(config.global.ca_file.as_deref(), HTTP_TIMEOUT)
}

fn busy() -> i32 {
    log::warn!("another wancert run is in progress; this one stops");
    1
}

fn named_cert<'a>(config: &'a Config, name: &str) -> Result<&'a config::CertConf> {
    config
        .cert(name)
        .ok_or_else(|| Error::other(format!("no config cert '{name}' in {}", config.file)))
}

/// A run or renew: take the lock, run, and map the outcomes to an exit code.
fn pass(config: &Config, opts: Options, only: Option<&str>, renew: bool) -> Result<i32> {
    let _lock = match lock(config)? {
        Some(l) => l,
        None => {
            log::warn!("another wancert run is in progress; this one stops");
            return Ok(1);
        }
    };
    let started = SystemClock.now().as_secs() as i64;
    record_run(config, started, None);
    let code = pass_locked(config, opts, only, renew);
    record_run(config, started, Some(code.as_ref().map_or(2, |c| *c)));
    code
}

/// Note the run's start and end in run_dir (RAM) for `status`: LuCI's "Run
/// now" polls it until the run it started has ended.
fn record_run(config: &Config, started: i64, exit_code: Option<i32>) {
    let mut state = RunState::load(&config.global.run_dir);
    state.last_run = Some(LastRun {
        started,
        finished: exit_code.map(|_| SystemClock.now().as_secs() as i64),
        exit_code,
    });
    if let Err(e) = state.save(&config.global.run_dir) {
        log::warn!("cannot record the run's state: {e}");
    }
}

fn pass_locked(config: &Config, opts: Options, only: Option<&str>, renew: bool) -> Result<i32> {
    let http = LazyHttp::new(config.global.ca_file.as_deref(), HTTP_TIMEOUT);
    // A run keeps the DNS current first: it is quick, and a certificate
    // for a name is of little use while the name points elsewhere.
    let ddns_ok = renew
        || ddns_pass(config, &http, ddns::Options::default(), None).unwrap_or_else(|e| {
            log::error!("ddns: {e}");
            false
        });
    let results = run::run(config, &http, &SystemClock, opts, only)?;
    let now = SystemClock.now().as_secs() as i64;
    notify::dispatch(config, &notify::reports(config, &results), &http, now);
    // A certificate waiting out its back-off is still failing: the exit code
    // (and LuCI's last-run state) says so until a renewal succeeds.
    let failed = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_) | Outcome::BackingOff { .. }))
        .count();
    let issued = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Issued { .. }))
        .count();
    if failed > 0 {
        log::error!(
            "{failed} of {} certificate(s) failing; a later run tries again",
            results.len()
        );
        return Ok(2);
    }
    if !ddns_ok {
        return Ok(2);
    }
    Ok(if renew && issued == 0 { 1 } else { 0 })
}

/// An exclusive lock on `run_dir/lock`. The kernel drops it when the process
/// dies, so a killed run never blocks the next one.
fn lock(config: &Config) -> Result<Option<File>> {
    lock_within(config, Duration::from_secs(1))
}

/// `lock`, waiting up to `wait` for it.
fn lock_within(config: &Config, wait: Duration) -> Result<Option<File>> {
    let dir = &config.global.run_dir;
    store::ensure_dir(dir)?;
    let path = dir.join("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    // `status` takes a shared lock for an instant to see whether a run is
    // going on: a run that meets it waits a little rather than giving up.
    let tries = (wait.as_millis() / 50).max(1);
    for _ in 0..tries {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(50)),
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
    }
    Ok(None)
}

/// `--background`: start this same command again, detached (own process
/// group, no terminal, output to syslog), and return without waiting for
/// it: rpcd kills what LuCI runs after a few seconds, and issuing takes
/// longer. Returns once the run holds its lock, so that a `status` right
/// after sees it running, or with its exit code if it ended first.
fn detach(args: &Args, raw: &[String]) -> Result<i32> {
    use std::os::unix::process::CommandExt;
    use std::process::{Command as Process, Stdio};

    let config = config::load(&args.config)?;
    let run_dir = &config.global.run_dir;
    if crate::status::run_in_progress(run_dir) {
        log::warn!("a wancert run is already in progress; not starting another");
        return Ok(1);
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::other(format!("cannot find my own program: {e}")))?;
    let mut child = Process::new(&exe)
        .args(raw.iter().filter(|a| *a != "--background"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::other(format!("cannot start {}: {e}", exe.display())))?;
    for _ in 0..60 {
        if let Some(status) = child.try_wait().map_err(|e| Error::other(e.to_string()))? {
            return Ok(status.code().unwrap_or(2));
        }
        if crate::status::run_in_progress(run_dir) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    log::info!(
        "started in the background (pid {}); `wancert status` shows when it ends",
        child.id()
    );
    Ok(0)
}

/// `log`: wancert's lines of the system log, for LuCI's log view (whose ACL
/// may only run wancert).
fn log() -> Result<i32> {
    let Some(logread) = ["/sbin/logread", "/usr/sbin/logread"]
        .into_iter()
        .find(|p| crate::proc::exists(p))
    else {
        return Err(Error::other(
            "no logread on this system: wancert logs to syslog (tag wancert); read it there",
        ));
    };
    let argv = [logread, "-e", "wancert"].map(String::from);
    print!("{}", crate::proc::output(&argv)?);
    Ok(0)
}

fn check(config: &Config) -> Result<i32> {
    // Providers and deployers are built (which checks their options) but
    // not used.
    let env = providers::Env {
        http: &NoHttp,
        clock: &SystemClock,
    };
    for p in &config.providers {
        providers::build(p, &env)?;
    }
    let forwards = deploy::Forwards::new(&config.global.firewall_config);
    let mut targets = Vec::new();
    for d in &config.deploys {
        let forward = forwards.of(d)?;
        let env = deploy::Env {
            http: &NoHttp,
            clock: &SystemClock,
            state_dir: &config.global.state_dir,
            forward,
        };
        let t = deploy::build(d, &env)?;
        let check = match t.verify {
            Some(at) => format!("checked over TLS at {at}"),
            None => "not checked over TLS (no host and port)".into(),
        };
        targets.push(format!("deploy {} ({}): {check}", d.name, d.kind));
    }
    for n in &config.notifiers {
        notify::wanted(n)?;
        notify::build(n, &NoHttp)?;
    }
    println!("{}: configuration is valid", config.file);
    println!("ACME server: {}", config.global.acme_server);
    let now = SystemClock.now().as_secs() as i64;
    for cert in &config.certs {
        println!(
            "cert {} ({}): {}",
            cert.name,
            cert.domains.join(", "),
            run::plan(config, cert, now)?
        );
        if let Some(server) = &cert.acme_server {
            println!("  from {server}");
        }
        if cert.challenge != config::ChallengeType::Dns01 {
            println!(
                "  by {}: `wancert persist-record {}` prints the record to publish",
                cert.challenge.name(),
                cert.name
            );
        }
    }
    for d in &config.ddns {
        let records = match (d.ipv4, d.ipv6) {
            (true, true) => "A and AAAA",
            (true, false) => "A",
            _ => "AAAA",
        };
        let source = d
            .source
            .map_or("ubus, or the kernel's view without ubus", |s| s.name());
        let what = match d.host {
            Some(_) => "AAAA of a LAN host",
            None => records,
        };
        let off = if d.enabled { "" } else { " (disabled)" };
        println!(
            "ddns {} ({}): {what} via {}, addresses from {source}{off}",
            d.name, d.domain, d.provider
        );
    }
    for t in targets {
        println!("{t}");
    }
    Ok(0)
}

/// The port forwards, and the deploy sections that follow each.
fn targets(config: &Config) -> Result<i32> {
    let forwards = deploy::load_forwards(&config.global.firewall_config)?;
    if forwards.is_empty() {
        println!(
            "{} has no port forwards (config redirect)",
            config.global.firewall_config.display()
        );
    }
    for f in &forwards {
        let users: Vec<&str> = config
            .deploys
            .iter()
            .filter(|d| d.optional("redirect") == Some(f.name.as_str()))
            .map(|d| d.name.as_str())
            .collect();
        println!("{}\t{}", f.describe(), users.join(" "));
    }
    Ok(0)
}

/// Where `dns-test` publishes for `name`: where issuance would, at
/// `_acme-challenge.NAME` (a wildcard's `*.` dropped), so that credentials
/// scoped to challenge names and CNAMEs there are tested too; a name that
/// already starts with an underscore label is a record name, taken as it is.
fn test_record_name(name: &str) -> String {
    let name = name.trim_end_matches('.');
    if name.starts_with('_') {
        name.to_string()
    } else {
        format!("_acme-challenge.{}", name.trim_start_matches("*."))
    }
}

/// `dns-test`: publish a random TXT value for `name` through the provider,
/// run the propagation check, print what each server answered, and remove
/// the value again whatever happened. Prints no secret: only the section's
/// name and type, the name and the throw-away value.
fn dns_test(config: &Config, provider: &str, name: &str) -> Result<i32> {
    let name = &test_record_name(name);
    let section = config.provider(provider).ok_or_else(|| {
        let known: Vec<&str> = config.providers.iter().map(|p| p.name.as_str()).collect();
        Error::other(format!(
            "no config provider '{provider}' in {}: use one of: {}",
            config.file,
            if known.is_empty() {
                "(none)".to_string()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let check = config.propagation(provider)?;
    let http = LazyHttp::new(config.global.ca_file.as_deref(), HTTP_TIMEOUT);
    let env = providers::Env {
        http: &http,
        clock: &SystemClock,
    };
    let mut dns = providers::build(section, &env)?;
    let value = format!("wancert-dns-test-{}", keys::random_token(12)?);
    let what = format!("provider '{provider}' ({})", section.kind);
    dns.add_txt(name, &value)
        .map_err(|e| e.context(&format!("{what} could not add a TXT value at {name}")))?;
    println!("added TXT \"{value}\" at {name} through {what}");
    if let Some(wait) = check.wait {
        println!(
            "note: option propagation_wait is set: a run skips this check and waits {}s",
            wait.as_secs()
        );
    }
    let (report, seen) = propagation::check_txt(&check, name, &[&value], &SystemClock, &http);
    print!("{}", render(&report));
    let removed = dns.remove_txt(name, &value);
    match &removed {
        Ok(()) => println!("removed the test value"),
        Err(_) => {
            println!("could NOT remove the test value: remove TXT \"{value}\" at {name} by hand")
        }
    }
    seen?;
    removed.map_err(|e| e.context(&format!("{what} could not remove the TXT value at {name}")))?;
    println!("OK: {what} can publish at {name}");
    Ok(0)
}

/// The per-server lines `dns-test` prints.
fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.via_doh {
        out.push_str("no server gave a usable answer on port 53:\n");
        for s in &report.port53 {
            out.push_str(&format!("  {}: {}\n", s.label, s.detail));
        }
        out.push_str("so DoH resolvers were asked instead:\n");
    }
    for s in &report.servers {
        let state = match (s.sees, s.counts) {
            (true, _) => "sees it".to_string(),
            (false, true) => format!("does not see it: {}", s.detail),
            (false, false) => format!("ignored: {}", s.detail),
        };
        out.push_str(&format!("  {}: {state}\n", s.label));
    }
    let seeing = report.servers.iter().filter(|s| s.sees).count();
    let counted = report.servers.iter().filter(|s| s.counts).count();
    out.push_str(&format!(
        "seen by {seeing} of {counted} servers after {}s\n",
        report.spent
    ));
    out
}

fn status(config: &Config, json: bool) -> Result<i32> {
    let now = SystemClock.now().as_secs() as i64;
    let status = crate::status::collect(config, now)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
    } else {
        print!("{}", crate::status::render(&status));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> std::result::Result<Args, String> {
        parse_args(&s.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn parses_every_command_and_flag() {
        let a = args("--config /tmp/c -v renew --force nas").unwrap();
        assert_eq!(a.config, "/tmp/c");
        assert_eq!(a.level, log::LevelFilter::Debug);
        assert_eq!(
            a.command,
            Command::Renew {
                force: true,
                name: Some("nas".into())
            }
        );
        assert_eq!(args("run").unwrap().command, Command::Run);
        assert_eq!(args("targets").unwrap().command, Command::Targets);
        assert_eq!(
            args("-q status --json").unwrap().command,
            Command::Status { json: true }
        );
        assert_eq!(args("--help").unwrap().command, Command::Help);
        assert_eq!(args("--version").unwrap().command, Command::Version);
        assert_eq!(args("check").unwrap().config, config::DEFAULT_PATH);
        let a = args("--background renew --force").unwrap();
        assert!(a.background);
        assert!(!args("run").unwrap().background);
        assert!(
            args("--background status")
                .unwrap_err()
                .contains("--background")
        );
        assert_eq!(args("log").unwrap().command, Command::Log);
        assert_eq!(
            args("ddns --force home").unwrap().command,
            Command::Ddns {
                force: true,
                name: Some("home".into())
            }
        );
        assert_eq!(
            args("ddns").unwrap().command,
            Command::Ddns {
                force: false,
                name: None
            }
        );
        assert!(args("--background ddns").unwrap().background);
        assert!(args("ddns a b").unwrap_err().contains("'b'"));
        assert!(args("ddns --json").unwrap_err().contains("--json"));
        assert_eq!(args("notifiers").unwrap().command, Command::Notifiers);
        assert!(args("").unwrap_err().contains("no command"));
        assert!(args("run --force").unwrap_err().contains("--force"));
        assert!(args("frobnicate").unwrap_err().contains("frobnicate"));
        assert!(args("status x").unwrap_err().contains("'x'"));
        assert!(args("--config").is_err());
    }

    #[test]
    fn parses_dns_test() {
        assert_eq!(
            args("-c /tmp/c dns-test lab _acme-challenge.a.example")
                .unwrap()
                .command,
            Command::DnsTest {
                provider: "lab".into(),
                name: "_acme-challenge.a.example".into()
            }
        );
        for bad in ["dns-test", "dns-test lab"] {
            assert!(
                args(bad)
                    .unwrap_err()
                    .contains("needs a provider section and a name"),
                "{bad}"
            );
        }
        assert!(args("dns-test a b c").unwrap_err().contains("'c'"));
        assert!(
            args("dns-test a b --force")
                .unwrap_err()
                .contains("--force")
        );
    }

    #[test]
    fn dns_test_publishes_where_issuance_would() {
        assert_eq!(
            test_record_name("nas.example.com"),
            "_acme-challenge.nas.example.com"
        );
        assert_eq!(
            test_record_name("*.nas.example.com."),
            "_acme-challenge.nas.example.com"
        );
        assert_eq!(
            test_record_name("_acme-challenge.nas.example.com"),
            "_acme-challenge.nas.example.com"
        );
        assert_eq!(test_record_name("_test.example.com"), "_test.example.com");
    }

    #[test]
    fn renders_the_dns_test_report() {
        use crate::propagation::ServerState;
        let state = |label: &str, sees, counts, detail: &str| ServerState {
            label: label.into(),
            sees,
            counts,
            detail: detail.into(),
        };
        let report = Report {
            via_doh: false,
            port53: vec![],
            servers: vec![
                state("ns1.example.com (192.0.2.1)", true, true, "answered \"v\""),
                state(
                    "ns2.example.com (192.0.2.2)",
                    false,
                    true,
                    "answered no TXT",
                ),
                state(
                    "ns3.example.com (192.0.2.3)",
                    false,
                    false,
                    "answered REFUSED without authority",
                ),
            ],
            spent: 7,
        };
        assert_eq!(
            render(&report),
            "  ns1.example.com (192.0.2.1): sees it\n\
             \x20 ns2.example.com (192.0.2.2): does not see it: answered no TXT\n\
             \x20 ns3.example.com (192.0.2.3): ignored: answered REFUSED without authority\n\
             seen by 1 of 2 servers after 7s\n"
        );
        let doh = Report {
            via_doh: true,
            port53: vec![state(
                "192.0.2.9:53",
                false,
                true,
                "no answer from 192.0.2.9:53",
            )],
            ..report
        };
        assert!(
            render(&doh).starts_with(
                "no server gave a usable answer on port 53:\n  192.0.2.9:53: no answer from 192.0.2.9:53\nso DoH resolvers were asked instead:\n  ns1"
            ),
            "{}",
            render(&doh)
        );
    }

    #[test]
    fn parses_the_account_commands() {
        assert_eq!(
            args("revoke nas --reason keyCompromise").unwrap().command,
            Command::Revoke {
                name: "nas".into(),
                reason: Some("keyCompromise".into())
            }
        );
        assert_eq!(
            args("revoke nas").unwrap().command,
            Command::Revoke {
                name: "nas".into(),
                reason: None
            }
        );
        assert!(args("revoke").unwrap_err().contains("needs the name"));
        assert!(
            args("revoke nas --reason")
                .unwrap_err()
                .contains("--reason")
        );
        assert!(args("run --reason x").unwrap_err().contains("--reason"));
        assert_eq!(
            args("account rollover").unwrap().command,
            Command::Account {
                action: AccountAction::Rollover
            }
        );
        assert_eq!(
            args("account deactivate").unwrap().command,
            Command::Account {
                action: AccountAction::Deactivate
            }
        );
        assert!(
            args("account")
                .unwrap_err()
                .contains("rollover or deactivate")
        );
        assert!(args("account close").unwrap_err().contains("'close'"));
        assert_eq!(
            args("persist-record nas --publish").unwrap().command,
            Command::PersistRecord {
                name: "nas".into(),
                publish: true
            }
        );
    }
}
