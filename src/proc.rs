//! The process seam: run an argv without a shell, so no config value is ever
//! interpreted by one. A run can be bounded in time, and what the program
//! prints is kept for its caller and for the error message. Its output goes
//! to unlinked temporary files rather than pipes: a daemon that a reload
//! script starts inherits them without keeping wancert waiting for the end
//! of a pipe, and no reader thread is needed.

use std::io::{Read, Seek, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How long a reload or restart may run: an init script's restart takes
/// seconds; two minutes means it hangs.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// The most output read back for an error message (its end).
const OUTPUT_LIMIT: u64 = 16 * 1024;

/// A command to run.
pub struct Cmd<'a> {
    pub argv: &'a [String],
    /// Written to the command's standard input, then closed; empty: no
    /// input. It must fit in a pipe (64 KiB on Linux): it is written before
    /// waiting, and wancert only sends certificates and keys.
    pub stdin: &'a [u8],
    /// Extra environment variables.
    pub env: &'a [(&'a str, &'a str)],
    /// `None`: no limit.
    pub timeout: Option<Duration>,
    /// How messages name the command; empty: the argv itself.
    pub label: &'a str,
}

impl<'a> Cmd<'a> {
    /// `argv` with no input, no extra environment and the default time limit.
    pub fn new(argv: &'a [String]) -> Self {
        Cmd {
            argv,
            stdin: &[],
            env: &[],
            timeout: Some(TIMEOUT),
            label: "",
        }
    }
}

/// Run `argv` and wait (at most `TIMEOUT`); see `run_cmd`.
pub fn run(argv: &[String]) -> Result<String> {
    run_cmd(&Cmd::new(argv))
}

/// `run`, with `env` added to the program's environment: how values reach a
/// user's program without ever being spliced into a command line.
pub fn run_env(argv: &[String], env: &[(&str, &str)]) -> Result<()> {
    run_cmd(&Cmd {
        env,
        timeout: None,
        ..Cmd::new(argv)
    })
    .map(drop)
}

/// `run`, but a program still running after `timeout` is killed and that is
/// an error.
pub fn run_for(argv: &[String], timeout: Option<Duration>) -> Result<()> {
    run_cmd(&Cmd {
        timeout,
        ..Cmd::new(argv)
    })
    .map(drop)
}

/// Run `argv` and return what it printed on stdout; a non-zero exit is an
/// error, as for `run`.
pub fn output(argv: &[String]) -> Result<String> {
    run_for_output(argv, None)
}

/// `output` within a time limit: a hung helper (ubus, a user's script)
/// must not hold the run lock for ever.
pub fn capture(argv: &[String], limit: Duration) -> Result<String> {
    run_for_output(argv, Some(limit))
}

fn run_for_output(argv: &[String], timeout: Option<Duration>) -> Result<String> {
    run_cmd(&Cmd {
        timeout,
        ..Cmd::new(argv)
    })
}

/// Run the command and wait for it. Returns what it printed on stdout. A
/// non-zero exit is an error that gives the exit code and the last lines of
/// its stderr (else stdout); so is a command still running at the time
/// limit, which is killed.
pub fn run_cmd(cmd: &Cmd<'_>) -> Result<String> {
    let Some((program, args)) = cmd.argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let label = || {
        if cmd.label.is_empty() {
            cmd.argv.join(" ")
        } else {
            cmd.label.to_string()
        }
    };
    let cannot = |e: std::io::Error| Error::other(format!("cannot run {program}: {e}"));
    let (mut out, mut err) = (
        output_file().map_err(cannot)?,
        output_file().map_err(cannot)?,
    );
    let mut child = Command::new(program)
        .args(args)
        .envs(cmd.env.iter().copied())
        .stdin(if cmd.stdin.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(out.try_clone().map_err(cannot)?)
        .stderr(err.try_clone().map_err(cannot)?)
        .spawn()
        .map_err(cannot)?;
    if let Some(mut input) = child.stdin.take() {
        // An error (it exited without reading) shows in its own output.
        let _ = input.write_all(cmd.stdin);
    }
    let start = Instant::now();
    // Short first polls: `ip` and `ubus` answer within a millisecond or two,
    // and a run with nothing to do waits for them; a slow hook is polled
    // every 20 ms.
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(cannot)? {
            break Some(status);
        }
        if cmd.timeout.is_some_and(|t| start.elapsed() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    crate::crashpoint::step("ran", program);
    match status {
        Some(s) if s.success() => Ok(read_back(&mut out, u64::MAX)),
        Some(s) => {
            let how = match s.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".into(),
            };
            Err(Error::other(format!(
                "{} failed ({how}){}",
                label(),
                tail(&said(&mut out, &mut err))
            )))
        }
        None => Err(Error::Timeout(format!(
            "{} still running after {} s: killed{}",
            label(),
            cmd.timeout.unwrap_or_default().as_secs(),
            tail(&said(&mut out, &mut err))
        ))),
    }
}

/// What a failed program said: its stderr, else its stdout (the end).
fn said(out: &mut std::fs::File, err: &mut std::fs::File) -> String {
    let e = read_back(err, OUTPUT_LIMIT);
    if e.trim().is_empty() {
        read_back(out, OUTPUT_LIMIT)
    } else {
        e
    }
}

/// The last `limit` bytes written to an output file.
fn read_back(f: &mut std::fs::File, limit: u64) -> String {
    let mut text = Vec::new();
    let len = f.stream_position().unwrap_or(0);
    let _ = f.seek(std::io::SeekFrom::Start(len.saturating_sub(limit)));
    let _ = f.read_to_end(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// A new, already unlinked, owner-only file in the temporary directory (RAM
/// on OpenWrt) for a command's output.
fn output_file() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let mut n = 0;
    loop {
        let path = dir.join(format!(".wancert-out-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// The last few non-empty lines of `text` on one line, for an error message:
/// `: line | line`, or `, no output`.
pub fn tail(text: &str) -> String {
    const MAX: usize = 400;
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .rev()
        .take(3)
        .collect();
    if lines.is_empty() {
        return ", no output".into();
    }
    lines.reverse();
    let mut joined = lines.join(" | ");
    if joined.len() > MAX {
        let mut cut = joined.len() - MAX;
        while !joined.is_char_boundary(cut) {
            cut += 1;
        }
        joined = format!("...{}", &joined[cut..]);
    }
    format!(": {joined}")
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

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments_reach_the_program_verbatim() {
        // A shell would expand this; an argv must not.
        run(&argv(&[
            "sh",
            "-c",
            "test \"$1\" = '$(id); x'",
            "sh",
            "$(id); x",
        ]))
        .unwrap();
        let err = run(&argv(&["sh", "-c", "echo boom >&2; exit 3"])).unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(run(&argv(&["/nonexistent/wancert-test"])).is_err());
        let check = argv(&["sh", "-c", "test \"$WANCERT_X\" = 'a b;$(c)'"]);
        run_env(&check, &[("WANCERT_X", "a b;$(c)")]).unwrap();
        assert!(run_env(&check, &[("WANCERT_X", "other")]).is_err());
        assert!(exists("sh") && !exists("/nonexistent/x"));
        let echo = argv(&["sh", "-c", "echo \"$0\"; echo noise >&2", "a b"]);
        assert_eq!(output(&echo).unwrap(), "a b\n");
        assert!(output(&argv(&["false"])).is_err());
    }

    #[test]
    fn failure_gives_exit_code_and_output() {
        let script = "echo starting; echo 'nginx: [emerg] bad key' >&2; exit 3";
        let err = run(&argv(&["sh", "-c", script])).unwrap_err().to_string();
        assert!(err.contains("(exit code 3)"), "{err}");
        assert!(err.ends_with(": nginx: [emerg] bad key"), "{err}");
        // Nothing on stderr: the end of stdout.
        let err = run(&argv(&["sh", "-c", "echo a; echo b; exit 4"]))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("(exit code 4): a | b"), "{err}");
        let err = run(&argv(&["false"])).unwrap_err().to_string();
        assert_eq!(err, "false failed (exit code 1), no output");
        let err = run(&argv(&["sh", "-c", "kill -9 $$"])).unwrap_err();
        assert!(err.to_string().contains("killed by a signal"), "{err}");
    }

    #[test]
    fn input_environment_and_output() {
        let a = argv(&["sh", "-c", "read line; echo \"$line $GREETING\""]);
        let out = run_cmd(&Cmd {
            stdin: b"hello\n",
            env: &[("GREETING", "world")],
            ..Cmd::new(&a)
        })
        .unwrap();
        assert_eq!(out, "hello world\n");
    }

    #[test]
    fn a_program_past_its_timeout_is_killed() {
        let start = Instant::now();
        let err = run_cmd(&Cmd {
            timeout: Some(Duration::from_millis(300)),
            label: "the reload",
            ..Cmd::new(&argv(&["sleep", "30"]))
        })
        .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            "timed out: the reload still running after 0 s: killed, no output"
        );
        let err = run_for(
            &argv(&["sh", "-c", "sleep 5"]),
            Some(Duration::from_millis(200)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("still running"), "{err}");
        let quick = argv(&["sh", "-c", "echo out; echo last >&2; exit 1"]);
        let err = run_for(&quick, Some(Duration::from_secs(5))).unwrap_err();
        assert!(err.to_string().ends_with(": last"), "{err}");
    }

    #[test]
    fn capture_returns_stdout_within_its_limit() {
        let limit = Duration::from_secs(5);
        let out = capture(&argv(&["sh", "-c", "echo out; echo noise >&2"]), limit).unwrap();
        assert_eq!(out, "out\n");
        let err = capture(&argv(&["sleep", "5"]), Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("still running"), "{err}");
    }

    #[test]
    fn a_daemon_holding_the_output_does_not_block() {
        // The command exits at once, leaving a child that keeps its output.
        let start = Instant::now();
        let out = run(&argv(&["sh", "-c", "sleep 5 & echo started"])).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "waited for the daemon"
        );
        assert_eq!(out, "started\n");
    }

    #[test]
    fn long_output_is_cut_to_its_end() {
        let long = format!("{}\nthe end\n", "x".repeat(1000));
        let t = tail(&long);
        assert!(t.len() < 420 && t.ends_with("| the end"), "{t}");
        assert!(t.starts_with(": ..."));
    }
}
