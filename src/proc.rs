//! The process seam: run an argv without a shell, so no config value is ever
//! interpreted by one.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Run `argv` and wait. A non-zero exit is an error that quotes the last line
/// of the program's output.
pub fn run(argv: &[String]) -> Result<()> {
    run_env(argv, &[])
}

/// `run`, with `env` added to the program's environment: how values reach a
/// user's program without ever being spliced into a command line.
pub fn run_env(argv: &[String], env: &[(&str, &str)]) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .map_err(|e| Error::other(format!("cannot run {program}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(if out.stderr.is_empty() {
        &out.stdout
    } else {
        &out.stderr
    })
    .into_owned();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(Error::other(format!(
        "{} failed ({}): {last}",
        argv.join(" "),
        out.status
    )))
}

/// Run `argv` and return what it printed on stdout. It may take at most
/// `limit` (then it is killed): a hung helper must not hold the run lock for
/// ever. A non-zero exit is an error quoting the last line of its stderr.
pub fn capture(argv: &[String], limit: Duration) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::other(format!("cannot run {program}: {e}")))?;
    // Read both pipes on threads, so a chatty program cannot block on a
    // full pipe while we wait for it.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(OUTPUT_LIMIT).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::other(format!(
                    "{} did not finish within {} s and was stopped",
                    argv.join(" "),
                    limit.as_secs()
                )));
            }
        }
    };
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    if status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string();
    Err(Error::other(format!(
        "{} failed ({status}): {last}",
        argv.join(" ")
    )))
}

/// The most output `capture` keeps: addresses and interface dumps are small.
const OUTPUT_LIMIT: u64 = 1 << 20;

/// Run `argv` and return what it printed on stdout; a non-zero exit is an
/// error, as for `run`.
pub fn output(argv: &[String]) -> Result<String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| Error::other(format!("cannot run {program}: {e}")))?;
    if !out.status.success() {
        return Err(Error::other(format!(
            "{} failed ({}): {}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` exists as a file (absolute paths) or on PATH.
pub fn exists(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_reach_the_program_verbatim() {
        // A shell would expand this; an argv must not.
        let argv: Vec<String> = ["sh", "-c", "test \"$1\" = '$(id); x'", "sh", "$(id); x"]
            .map(String::from)
            .to_vec();
        run(&argv).unwrap();
        let err = run(&["sh".into(), "-c".into(), "echo boom >&2; exit 3".into()]).unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(run(&["/nonexistent/wancert-test".into()]).is_err());
        let check = ["sh", "-c", "test \"$WANCERT_X\" = 'a b;$(c)'"].map(String::from);
        run_env(&check, &[("WANCERT_X", "a b;$(c)")]).unwrap();
        assert!(run_env(&check, &[("WANCERT_X", "other")]).is_err());
        assert!(exists("sh") && !exists("/nonexistent/x"));
        let echo = ["sh", "-c", "echo \"$0\"", "a b"].map(String::from);
        assert_eq!(output(&echo).unwrap(), "a b\n");
        assert!(output(&["false".into()]).is_err());
    }

    #[test]
    fn capture_returns_stdout_and_stops_a_hung_program() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let limit = Duration::from_secs(5);
        let out = capture(&argv(&["sh", "-c", "echo out; echo noise >&2", "x"]), limit).unwrap();
        assert_eq!(out, "out\n");
        let err = capture(&argv(&["sh", "-c", "echo why >&2; exit 4"]), limit).unwrap_err();
        assert!(err.to_string().contains("why"), "{err}");
        let start = Instant::now();
        let err = capture(&argv(&["sleep", "5"]), Duration::from_millis(200)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(err.to_string().contains("did not finish"), "{err}");
    }
}
