//! The command line: a small hand-written parser, dispatch, and the mapping of
//! every outcome to one exit code: 0 success, 1 nothing to do (or another run
//! holds the lock), 2 failure.

use std::fs::{File, TryLockError};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config};
use crate::http::LazyHttp;
use crate::run::{self, Options, Outcome};
use crate::{Error, Result, deploy, providers, store};

const USAGE: &str = "\
usage: wancert [--config FILE] [-v|-q] COMMAND

commands:
  run                  issue or renew every certificate that is due, then deploy
  renew [--force] [NAME]
                       the same for one certificate (or all); --force renews
                       even when not due
  status [--json]      certificates, expiry, renewal time, deploy targets
  check                validate the configuration and say what a run would do
  providers            list the DNS provider types built in
  deployers            list the deploy types built in

options:
  --config FILE        configuration file (default /etc/config/wancert)
  -v, --verbose        more detail
  -q, --quiet          errors only
  -h, --help           this text
  -V, --version        the version

exit status: 0 done, 1 nothing to do or another run in progress, 2 failure
";

/// How long one HTTP request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, PartialEq)]
enum Command {
    Run,
    Renew { force: bool, name: Option<String> },
    Status { json: bool },
    Check,
    Providers,
    Deployers,
    Help,
    Version,
}

#[derive(Debug, PartialEq)]
struct Args {
    config: String,
    level: log::LevelFilter,
    command: Command,
}

fn parse_args(args: &[String]) -> std::result::Result<Args, String> {
    let mut config = config::DEFAULT_PATH.to_string();
    let mut level = log::LevelFilter::Info;
    let mut words = Vec::new();
    let mut flags = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" | "-c" => config = it.next().ok_or("--config needs a file name")?.clone(),
            "-v" | "--verbose" => level = log::LevelFilter::Debug,
            "-q" | "--quiet" => level = log::LevelFilter::Error,
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
        _ => &[],
    };
    if let Some(bad) = flags.iter().find(|f| !allowed.contains(&f.as_str())) {
        return Err(format!("unknown option {bad} for {verb}"));
    }
    let max_words = usize::from(verb == "renew");
    if rest.len() > max_words {
        return Err(format!(
            "unexpected argument '{}' for {verb}",
            rest[max_words]
        ));
    }
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
        "providers" => Command::Providers,
        "deployers" => Command::Deployers,
        "help" => Command::Help,
        "version" => Command::Version,
        other => return Err(format!("unknown command '{other}'")),
    };
    Ok(Args {
        config,
        level,
        command,
    })
}

/// Run the command line; returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let args = match parse_args(&args) {
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
    match dispatch(&args) {
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
        Command::Check => return check(&config::load(&args.config)?),
        Command::Status { json } => return status(&config::load(&args.config)?, *json),
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
                Options { force: *force },
                name.as_deref(),
                true,
            );
        }
    }
    Ok(0)
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
    let http = LazyHttp::new(config.global.ca_file.as_deref(), HTTP_TIMEOUT);
    let results = run::run(config, &http, &SystemClock, opts, only)?;
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
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
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
        assert!(args("").unwrap_err().contains("no command"));
        assert!(args("run --force").unwrap_err().contains("--force"));
        assert!(args("frobnicate").unwrap_err().contains("frobnicate"));
        assert!(args("status x").unwrap_err().contains("'x'"));
        assert!(args("--config").is_err());
    }
}
