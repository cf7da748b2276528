//! Secrets stay secret, and configuration values stay data:
//! - a full run against the lab (pebble requiring EAB, Knot with a TSIG key),
//!   then a forced renewal, `status`, `status --json` and `check`, and runs
//!   that fail (wrong TSIG secret, wrong EAB key, unreachable CA): none of
//!   their output, the files in run_dir, the argv and environment of every
//!   program wancert starts, or the command lines in /proc while it runs,
//!   holds the TSIG secret, the EAB key, an API token or a private key, in
//!   any of the encodings they are stored in;
//! - values full of shell syntax (`$(...)`, backticks, `;`, newlines) in
//!   every option that reaches a program or a file name run nothing;
//! - every file holding a key is 0600, after issuance and after renewal.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use common::{Lab, text};

const CF_TOKEN: &str = "cf-token-Zq8vW3nR5tKx";
const HOOK_HMAC: &str = "hook-hmac-Pp4Lm9Qa";

/// Shell syntax that runs `touch pwned-TAG` if anything hands the value to a
/// shell; relative, so that a path value stays a valid file name.
fn hostile(tag: &str) -> [String; 4] {
    [
        format!("$(touch pwned-{tag}-dollar)"),
        format!("`touch pwned-{tag}-tick`"),
        format!("; touch pwned-{tag}-semi"),
        format!("x\ntouch pwned-{tag}-newline"),
    ]
}

/// `value` as a UCI single-quoted word.
fn q(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A program that appends its argv and environment to `log`, and succeeds.
fn recorder(dir: &Path, log: &Path) -> PathBuf {
    let path = dir.join("recorder");
    fs::write(
        &path,
        format!(
            "#!/bin/sh\n{{ printf 'ARGV'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo; env; }} >> '{}'\nexit 0\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Every form a secret could leak in: as written, and for the base64
/// ones (TSIG, EAB) the other base64 alphabet and the hex of the bytes.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    if let Some(bytes) = wancert::b64::decode(secret) {
        out.push(wancert::b64::std(&bytes).trim_end_matches('=').to_string());
        out.push(wancert::b64::url(&bytes));
        out.push(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }
    out
}

/// The base64 lines of every private key under `dir` (PEM files, and PEM
/// inside JSON with escaped newlines).
fn private_key_lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in files(dir) {
        let text = text.replace("\\n", "\n");
        let mut inside = false;
        for line in text.lines() {
            if line.contains("BEGIN") && line.contains("PRIVATE KEY") {
                inside = true;
            } else if line.contains("END") {
                inside = false;
            } else if inside && line.len() >= 24 {
                out.push(line.trim().to_string());
            }
        }
    }
    out
}

/// Every file name under `dir` (not following links).
fn paths(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(rd) = fs::read_dir(&p) {
                todo.extend(rd.map(|e| e.unwrap().path()));
            }
        } else {
            out.push(p);
        }
    }
    out
}

/// Every regular file under `dir` up to 1 MiB (wancert writes nothing
/// bigger; the lab's databases are sparse gigabytes), with its text (lossy).
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    paths(dir)
        .into_iter()
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.len() <= 1 << 20))
        .filter_map(|p| {
            let bytes = fs::read(&p).ok()?;
            Some((p, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect()
}

/// What one invocation left to look at.
struct Seen {
    output: String,
    success: bool,
}

/// Runs wancert in `cwd` (where a shell would create the `pwned-*` markers),
/// sampling every process's command line in /proc while it runs.
struct Runner {
    config: PathBuf,
    cwd: PathBuf,
    cmdlines: BTreeSet<String>,
}

impl Runner {
    fn run(&mut self, args: &[&str], env: &[(&str, &str)]) -> Seen {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while !flag.load(Ordering::Relaxed) {
                for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
                    if let Ok(c) = fs::read(e.path().join("cmdline")) {
                        seen.insert(String::from_utf8_lossy(&c).replace('\0', " "));
                    }
                }
                thread::sleep(Duration::from_millis(10));
            }
            seen
        });
        let out: Output = Command::new(env!("CARGO_BIN_EXE_wancert"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(&self.cwd)
            .env("WANCERT_LOG", "stderr")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        self.cmdlines.extend(sampler.join().unwrap());
        Seen {
            output: format!("wancert {args:?}:\n{}", text(&out)),
            success: out.status.success(),
        }
    }
}

/// No secret in any form in `haystack` (named `what` in the failure).
fn assert_clean(what: &str, haystack: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !haystack.contains(s.as_str()),
            "{what} holds a secret ({}...):\n{haystack}",
            &s[..6.min(s.len())]
        );
    }
}

fn assert_no_markers(dir: &Path) {
    let pwned: Vec<_> = paths(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pwned-"))
        })
        .collect();
    assert!(
        pwned.is_empty(),
        "a shell ran a configuration value: {pwned:?}"
    );
}

/// Every file under `dirs` that holds a private key is owner-only.
fn assert_keys_private(dirs: &[&Path]) -> usize {
    let mut n = 0;
    for dir in dirs {
        for (p, text) in files(dir) {
            if text.contains("PRIVATE KEY") || text.contains("\"d\"") {
                let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} holds a key and is {mode:o}", p.display());
                n += 1;
            }
        }
    }
    n
}

#[test]
fn secrets_stay_out_of_every_output_and_config_values_reach_no_shell() {
    let lab = Lab::up_with("secrets", &[("PEBBLE_EAB", "1")]);
    let dir = lab.dir.path();
    let cwd = dir.join("cwd");
    fs::create_dir_all(&cwd).unwrap();
    let record = dir.join("recorded.txt");
    let rec = recorder(dir, &record);
    let rec = rec.display();
    let tsig = lab.var("TSIG_SECRET").to_string();
    let eab = lab.var("EAB_HMAC_KEY").to_string();

    let list = |key: &str, first: &str, tag: &str| -> String {
        let mut s = format!("\tlist {key} {}\n", q(first));
        for v in hostile(tag) {
            s.push_str(&format!("\tlist {key} {}\n", q(&v)));
        }
        s
    };
    let d = dir.display();
    let [dollar, tick, semi, _] = hostile("path");
    let deploy = format!(
        "config deploy 'hostile'\n\toption type 'file'\n\
         \toption fullchain_path '{d}/deployed/{}.pem'\n\
         \toption key_path '{d}/deployed/{}.key'\n\
         \toption cert_path '{d}/deployed/{}.crt'\n{}\n\
         config notify 'cmd'\n\toption type 'command'\n{}\n\
         config provider 'cf'\n\toption type 'cloudflare'\n\toption api_token '{CF_TOKEN}'\n\n\
         config provider 'mine'\n\toption type 'exec'\n{}\n\
         config deploy 'hook'\n\toption type 'webhook'\n\toption url 'https://127.0.0.1:1/hook'\n\
         \toption hmac_secret '{HOOK_HMAC}'\n\toption token '{CF_TOKEN}'\n\n",
        q(&dollar).trim_matches('\''),
        q(&tick).trim_matches('\''),
        q(&semi).trim_matches('\''),
        list("reload", &rec.to_string(), "reload"),
        list("command", &rec.to_string(), "notify"),
        list("command", &rec.to_string(), "exec"),
    );
    let eab_global = format!(
        "config wancert 'global'\n\toption eab_kid '{}'\n\toption eab_hmac_key '{eab}'\n",
        lab.var("EAB_KID")
    );
    let config = lab.config_variant("secrets.conf", |t| {
        format!(
            "{}\n{deploy}",
            t.replacen("config wancert 'global'\n", &eab_global, 1)
                .replace(
                    "\tlist deploy 'files'\n",
                    "\tlist deploy 'files'\n\tlist deploy 'hostile'\n"
                )
        )
    });
    let mut runner = Runner {
        config: config.clone(),
        cwd: cwd.clone(),
        cmdlines: BTreeSet::new(),
    };

    let mut seen = Vec::new();
    let first = runner.run(&["run"], &[]);
    assert!(first.success, "{}", first.output);
    seen.push(first);
    let state = lab.state();
    let deployed = dir.join("deployed");
    let keys_after_issue = assert_keys_private(&[&state, &deployed]);
    assert!(keys_after_issue >= 2, "account and certificate keys");
    // The recorder ran as reload and as the notification, with the hostile
    // values as plain arguments.
    let recorded = fs::read_to_string(&record).unwrap_or_default();
    assert!(
        recorded.contains("[$(touch pwned-reload-dollar)]")
            && recorded.contains("[`touch pwned-reload-tick`]")
            && recorded.contains("[; touch pwned-reload-semi]")
            && recorded.contains("[x\ntouch pwned-reload-newline]"),
        "the reload command did not get its arguments verbatim:\n{recorded}"
    );
    assert!(
        recorded.contains("pwned-notify-dollar"),
        "the notify command did not run:\n{recorded}"
    );
    assert!(
        deployed.join("$(touch pwned-path-dollar).pem").exists(),
        "the file deploy did not take the path verbatim"
    );

    seen.push(runner.run(&["renew", "--force", "demo"], &[]));
    assert!(seen[1].success, "{}", seen[1].output);
    assert_eq!(assert_keys_private(&[&state, &deployed]), keys_after_issue);
    seen.push(runner.run(&["status"], &[]));
    seen.push(runner.run(&["status", "--json"], &[]));
    seen.push(runner.run(&["check"], &[]));
    // The exec provider, with hostile arguments; the TXT never shows, so
    // only the absence of markers counts here.
    seen.push(runner.run(&["dns-test", "mine", "demo.wancert.test"], &[]));
    assert!(
        fs::read_to_string(&record)
            .unwrap()
            .contains("[$(touch pwned-exec-dollar)] [`touch pwned-exec-tick`]"),
        "the exec provider did not run"
    );

    // Failing runs, whose error paths might quote what they were given.
    let wrong_tsig = "d3JvbmctdHNpZy1zZWNyZXQtdmFsdWUtNDJ4eXo=";
    let variant = |name: &str, from: &str, to: &str| {
        let text = fs::read_to_string(&config).unwrap();
        assert!(text.contains(from), "{from}");
        let p = dir.join(name);
        fs::write(&p, text.replace(from, to)).unwrap();
        p
    };
    let wrong_eab = "d3JvbmctZWFiLWtleS12YWx1ZS0xMjM0NTY3ODk";
    let failing = [
        variant("bad-tsig.conf", &tsig, wrong_tsig),
        variant("bad-eab.conf", &eab, wrong_eab),
        variant("no-ca.conf", lab.var("ACME_URL"), "https://127.0.0.1:1/dir"),
    ];
    let state_backup = dir.join("state-backup");
    for (i, c) in failing.iter().enumerate() {
        // A new account (for the EAB case) and a due certificate: move the
        // state away so every run starts from nothing.
        let _ = fs::rename(&state, state_backup.with_extension(i.to_string()));
        runner.config = c.clone();
        let s = runner.run(&["run"], &[]);
        assert!(!s.success, "{}", s.output);
        seen.push(s);
        seen.push(runner.run(&["status", "--json"], &[]));
    }

    let mut secrets: Vec<String> = [
        tsig.as_str(),
        eab.as_str(),
        CF_TOKEN,
        HOOK_HMAC,
        wrong_tsig,
        wrong_eab,
    ]
    .iter()
    .flat_map(|s| forms(s))
    .collect();
    let mut key_dirs = vec![state.clone(), deployed.clone()];
    key_dirs.extend((0..failing.len()).map(|i| state_backup.with_extension(i.to_string())));
    for d in &key_dirs {
        secrets.extend(private_key_lines(d));
    }
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() > 20, "{secrets:?}");

    for s in &seen {
        assert_clean("output", &s.output, &secrets);
    }
    for (p, text) in files(&dir.join("run")) {
        assert_clean(&format!("run_dir file {}", p.display()), &text, &secrets);
    }
    let recorded = fs::read_to_string(&record).unwrap();
    assert_clean("a child's argv or environment", &recorded, &secrets);
    let cmdlines: Vec<_> = runner.cmdlines.iter().cloned().collect();
    assert!(
        cmdlines.iter().any(|c| c.contains("wancert")),
        "the sampler saw no wancert process"
    );
    assert_clean("/proc/*/cmdline", &cmdlines.join("\n"), &secrets);
    assert_no_markers(dir);
}
