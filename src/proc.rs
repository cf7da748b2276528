//! The process seam: run an argv without a shell, so no config value is ever
//! interpreted by one.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// Run `argv` and wait. A non-zero exit is an error that quotes the last line
/// of the program's output.
pub fn run(argv: &[String]) -> Result<()> {
    spawn(argv, &[], None).map(drop)
}

/// `run`, with `env` added to the program's environment: how values reach a
/// user's program without ever being spliced into a command line.
pub fn run_env(argv: &[String], env: &[(&str, &str)]) -> Result<()> {
    spawn(argv, env, None).map(drop)
}

/// `run`, but a program still running after `timeout` is killed and that is
/// an error.
pub fn run_for(argv: &[String], timeout: Option<Duration>) -> Result<()> {
    spawn(argv, &[], timeout).map(drop)
}

/// Run `argv` and return what it printed on stdout; a non-zero exit is an
/// error, as for `run`.
pub fn output(argv: &[String]) -> Result<String> {
    spawn(argv, &[], None).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// `output` within a time limit: a hung helper (ubus, a user's script)
/// must not hold the run lock for ever.
pub fn capture(argv: &[String], limit: Duration) -> Result<String> {
    spawn(argv, &[], Some(limit)).map(|out| String::from_utf8_lossy(&out).into_owned())
}

/// Run `argv` with `env` added, wait (at most `timeout`), and return its
/// stdout; a non-zero exit is an error quoting its last line of output.
fn spawn(argv: &[String], env: &[(&str, &str)], timeout: Option<Duration>) -> Result<Vec<u8>> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::other(format!("cannot run {program}: {e}")))?;
    // Drained on threads, so that a chatty program never blocks on a full
    // pipe while we wait for it.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let status = match timeout {
        None => child.wait(),
        Some(limit) => {
            let start = Instant::now();
            loop {
                match child.try_wait() {
                    Ok(Some(s)) => break Ok(s),
                    Ok(None) if start.elapsed() < limit => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Ok(None) => {
                        let _ = child.kill();
                        let _ = child.wait();
                        // The pipes may stay open in a grandchild: do not
                        // wait for the readers.
                        return Err(Error::Timeout(format!(
                            "{} still running after {}s: killed; make it finish sooner or raise option timeout",
                            argv.join(" "),
                            limit.as_secs()
                        )));
                    }
                    Err(e) => break Err(e),
                }
            }
        }
    }
    .map_err(|e| Error::other(format!("cannot wait for {program}: {e}")))?;
    let out = stdout.join().unwrap_or_default();
    if status.success() {
        return Ok(out);
    }
    let err = stderr.join().unwrap_or_default();
    let text = String::from_utf8_lossy(if err.is_empty() { &out } else { &err }).into_owned();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(Error::other(format!(
        "{} failed ({status}): {last}",
        argv.join(" "),
    )))
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
    fn a_program_past_its_timeout_is_killed() {
        let argv: Vec<String> = ["sh", "-c", "sleep 5"].map(String::from).to_vec();
        let start = Instant::now();
        let err = run_for(&argv, Some(Duration::from_millis(200))).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "not killed in time"
        );
        assert!(err.to_string().contains("still running"), "{err}");
        let quick: Vec<String> = ["sh", "-c", "echo out; echo last >&2; exit 1"]
            .map(String::from)
            .to_vec();
        let err = run_for(&quick, Some(Duration::from_secs(5))).unwrap_err();
        assert!(err.to_string().ends_with(": last"), "{err}");
    }

    #[test]
    fn capture_returns_stdout_within_its_limit() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let limit = Duration::from_secs(5);
        let out = capture(&argv(&["sh", "-c", "echo out; echo noise >&2"]), limit).unwrap();
        assert_eq!(out, "out\n");
        let err = capture(&argv(&["sleep", "5"]), Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("still running"), "{err}");
    }
}
