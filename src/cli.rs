//! The command line: a small hand-written parser, dispatch, and the mapping of
//! every outcome to one exit code: 0 success, 1 nothing to do (or another run
//! holds the lock), 2 failure.

use std::fs::{File, TryLockError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::http::LazyHttp;
use crate::run::{self, Options, Outcome};
use crate::status::{LastRun, RunState};
use crate::{Error, Result, deploy, manage, notify, providers, store};

const USAGE: &str = "\
usage: wancert [--config FILE] [-v|-q] [--background] COMMAND

commands:
  run                  issue or renew every certificate that is due, then deploy
  renew [--force] [NAME]
                       the same for one certificate (or all); --force renews
                       even when not due
  status [--json]      certificates, expiry, renewal time, deploy targets
  check                validate the configuration and say what a run would do
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

exit status: 0 done, 1 nothing to do or another run in progress, 2 failure
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
    Status {
        json: bool,
    },
    Check,
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
        "renew" => &["--force"],
        "status" => &["--json"],
        "revoke" => &["--reason"],
        "persist-record" => &["--publish"],
        _ => &[],
    };
    if let Some(bad) = flags.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(format!("unknown option {bad} for {verb}"));
    }
    let max_words = match verb.as_str() {
        "renew" | "revoke" | "persist-record" | "account" => 1,
        _ => 0,
    };
    if rest.len() > max_words {
        return Err(format!(
            "unexpected argument '{}' for {verb}",
            rest[max_words]
        ));
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
        "status" => Command::Status {
            json: flag("--json"),
        },
        "check" => Command::Check,
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
    if background && !matches!(command, Command::Run | Command::Renew { .. }) {
        return Err(format!("--background is for run and renew, not {verb}"));
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
    }
    Ok(0)
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
    let results = run::run(config, &http, &SystemClock, opts, only)?;
    let now = SystemClock.now().as_secs() as i64;
    notify::dispatch(config, &notify::reports(config, &results), &http, now);
    let failed = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .count();
    let issued = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Issued { .. }))
        .count();
    if failed > 0 {
        log::error!(
            "{failed} of {} certificate(s) failed; the next run tries again",
            results.len()
        );
        return Ok(2);
    }
    Ok(if renew && issued == 0 { 1 } else { 0 })
}

/// An exclusive lock on `run_dir/lock`. The kernel drops it when the process
/// dies, so a killed run never blocks the next one.
fn lock(config: &Config) -> Result<Option<File>> {
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
    for _ in 0..20 {
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
    // Providers are built (which checks their options) but not used.
    struct NoHttp;
    impl crate::http::Http for NoHttp {
        fn send(&self, r: &crate::http::Request<'_>) -> Result<crate::http::Response> {
            Err(Error::other(format!("check makes no request ({})", r.url)))
        }
    }
    let env = providers::Env {
        http: &NoHttp,
        clock: &SystemClock,
    };
    for p in &config.providers {
        providers::build(p, &env)?;
    }
    for d in &config.deploys {
        deploy::build(d)?;
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
    Ok(0)
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
        assert_eq!(args("notifiers").unwrap().command, Command::Notifiers);
        assert!(args("").unwrap_err().contains("no command"));
        assert!(args("run --force").unwrap_err().contains("--force"));
        assert!(args("frobnicate").unwrap_err().contains("frobnicate"));
        assert!(args("status x").unwrap_err().contains("'x'"));
        assert!(args("--config").is_err());
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
