//! The process seam: run an argv without a shell, so no config value is ever
//! interpreted by one.

use std::process::Command;

use crate::{Error, Result};

/// Run `argv` and wait. A non-zero exit is an error that quotes the last line
/// of the program's output.
pub fn run(argv: &[String]) -> Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::other("empty command"));
    };
    let out = Command::new(program)
        .args(args)
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
        assert!(exists("sh") && !exists("/nonexistent/x"));
    }
}
