//! A full or read-only disk (issue #8, point 2), against the lab (pebble +
//! Knot): `state_dir` and the file deployer's directory are small tmpfs
//! mounts that the test fills or remounts read-only. Every failed write must
//! leave the old key and chain byte-identical, leave no temporary behind,
//! say which path failed and how much space is free, and the next run with
//! the fault gone must finish the job.
//!
//! Needs root (mount); the tests run as root in CI. Without it they fail
//! loudly rather than skip.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Lab, ok, serial, status, text, wancert};

/// A tmpfs mounted on a directory; unmounted on drop (before the lab's
/// directory is removed: declare it after the `Lab`).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "these tests need root to mount a small tmpfs on {}: {}",
            dir.display(),
            text(&out)
        );
        Tmpfs(dir.to_path_buf())
    }

    fn remount(&self, how: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{how}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(out.status.success(), "remount {how}: {}", text(&out));
    }

    /// Fill the file system with `filler` until a write fails; returns
    /// the filler's path.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut f = fs::File::create(&path).unwrap();
        let chunk = [0u8; 4096];
        loop {
            if let Err(e) = f.write_all(&chunk) {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                break;
            }
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}

/// Every file under `dir`, recursively, with its content.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().is_some_and(|n| n != "filler") {
                all.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    all.sort();
    all
}

/// Names of temporaries (`.x.tmp`, `.x.new`) left anywhere under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    snapshot(dir)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".tmp") || n.ends_with(".new")
        })
        .collect()
}

/// `renew --force`, expected to fail: its exit code and output.
fn failing_renew(config: &Path) -> String {
    let out = wancert(&["--config", config.to_str().unwrap(), "renew", "--force"]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    log
}

/// The one line of `log` that reports the failed write of `path_part`.
fn error_line<'a>(log: &'a str, needle: &str) -> &'a str {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
    assert!(!lines.is_empty(), "no line with {needle:?}:\n{log}");
    assert_eq!(lines.len(), 1, "one error line: {log}");
    lines[0]
}

#[test]
fn a_full_or_read_only_state_dir_keeps_the_old_pair_and_the_next_run_finishes() {
    let lab = Lab::up("disk-state");
    let state = Tmpfs::mount(&lab.state(), "256k");
    let config = lab.config();
    ok(&config, &["run"]);
    let pair = lab.state().join("certs/demo");
    let first = serial(&pair.join("fullchain.pem"));
    let before = snapshot(&lab.state());

    // Full: the order cannot be recorded, so nothing is validated or
    // installed; the message names the file and the free bytes.
    let filler = state.fill();
    let log = failing_renew(&config);
    let line = error_line(&log, "No space left on device");
    assert!(
        line.contains(&format!("cannot write {}/", pair.display())),
        "the path: {line}"
    );
    assert!(
        line.contains("bytes free") && line.contains("of 262144 bytes free"),
        "the free space: {line}"
    );
    assert!(line.contains("free some space"), "the fix: {line}");
    assert!(!log.contains("published TXT"), "{log}");
    assert_eq!(snapshot(&lab.state()), before, "the old files are kept");
    assert!(leftovers(&lab.state()).is_empty());
    assert!(
        status(&config)["certs"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("No space left")
    );

    let st = status(&config);
    assert!(
        st["certs"][0]["next_attempt"].is_string(),
        "a back-off: {st}"
    );

    // Room for the order file but not for the new pair: the CA issues, the
    // install fails before any rename, and the order stays on flash.
    let pages = fs::metadata(&filler).unwrap().len().div_ceil(4096);
    fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len((pages - 1) * 4096)
        .unwrap();
    let log = failing_renew(&config);
    assert!(log.contains("the CA validated"), "{log}");
    let line = error_line(&log, "No space left on device");
    // The new generation's files (store::Pair), written before `live` moves.
    assert!(line.contains("/pair.") && line.contains(".pem"), "{line}");
    assert!(line.contains("of 262144 bytes free"), "{line}");
    let order = pair.join("order.json");
    assert!(order.exists(), "the issued order is kept for the next run");
    let mut kept = snapshot(&lab.state());
    kept.retain(|(p, _)| *p != order);
    assert_eq!(kept, before, "the old pair is kept");
    assert!(leftovers(&lab.state()).is_empty());

    // Space again: a plain `renew` (no --force: the order in flight makes
    // the certificate due) installs the order the CA already issued.
    fs::remove_file(filler).unwrap();
    let log = ok(&config, &["renew"]);
    assert!(log.contains("resuming the interrupted order"), "{log}");
    assert!(!log.contains("order placed"), "a second order: {log}");
    let second = serial(&pair.join("fullchain.pem"));
    assert_ne!(second, first, "a new certificate");
    assert!(!order.exists());
    assert!(leftovers(&lab.state()).is_empty());
    let before = snapshot(&lab.state());

    // Read-only: the same, with the remount as the fix.
    state.remount("ro");
    let log = failing_renew(&config);
    let line = error_line(&log, "Read-only file system");
    assert!(line.contains(&pair.display().to_string()), "{line}");
    assert!(line.contains("remount it read-write"), "{line}");
    state.remount("rw");
    assert_eq!(snapshot(&lab.state()), before, "the old files are kept");
    assert!(leftovers(&lab.state()).is_empty());
    ok(&config, &["renew", "--force"]);
    assert_ne!(serial(&pair.join("fullchain.pem")), second);
}

/// The file deployer's directory full, then read-only: the certificate is
/// installed in `state_dir` all the same, the target keeps its old files
/// whole, and the next plain `run` deploys (no renewal needed).
#[test]
fn a_full_or_read_only_deploy_target_keeps_its_files_and_the_next_run_deploys() {
    let lab = Lab::up("disk-deploy");
    let target = lab.dir.path().join("deployed");
    let mnt = Tmpfs::mount(&target, "64k");
    let config = lab.config();
    ok(&config, &["run"]);
    let installed = lab.state().join("certs/demo/fullchain.pem");
    let deployed = target.join("fullchain.pem");
    assert_eq!(fs::read(&deployed).unwrap(), fs::read(&installed).unwrap());

    for fault in ["full", "ro"] {
        let before = snapshot(&target);
        let filler = match fault {
            "full" => Some(mnt.fill()),
            _ => {
                mnt.remount("ro");
                None
            }
        };
        let log = failing_renew(&config);
        assert!(log.contains("installed a certificate"), "{log}");
        let line = error_line(&log, "deploy to files failed");
        assert!(line.contains(&target.display().to_string()), "{line}");
        match fault {
            "full" => assert!(
                line.contains("No space left") && line.contains("of 65536 bytes free"),
                "{line}"
            ),
            _ => assert!(line.contains("remount it read-write"), "{line}"),
        }
        if fault == "ro" {
            mnt.remount("rw");
        }
        assert_eq!(snapshot(&target), before, "{fault}: the old files are kept");
        assert!(leftovers(&target).is_empty(), "{fault}");
        assert_ne!(fs::read(&deployed).unwrap(), fs::read(&installed).unwrap());
        let st = status(&config);
        assert!(
            st["certs"][0].to_string().contains("deploy"),
            "the failure is in status: {st}"
        );

        if let Some(f) = filler {
            fs::remove_file(f).unwrap();
        }
        let log = ok(&config, &["run"]);
        assert!(log.contains("deployed to files"), "{log}");
        assert!(!log.contains("order placed"), "no renewal needed: {log}");
        assert_eq!(fs::read(&deployed).unwrap(), fs::read(&installed).unwrap());
    }
}
