//! Crash consistency (issue #8, point 1): a forced renewal against the lab
//! (pebble + Knot), with a file deployer and the uhttpd deployer, killed as a
//! power cut would at every step it takes (`WANCERT_TEST_ABORT_AT=step:N`,
//! see `src/crashpoint.rs`: after each HTTP and DNS exchange, each process,
//! each half-written, written, renamed and removed file), then at a few
//! seeded random moments with SIGKILL. Each run killed at a step starts from
//! the layout before pair generations (two regular files), so that the walk
//! meets every step of the migration as well as of the install that follows
//! it. After every kill: the installed pair
//! is whole and matched (the old one or a new one, never a mix), no key is
//! readable by others, nothing half-written sits where a service reads; and
//! the next plain `run` finishes the job (resuming the order, not placing a
//! new one) with no authorization gone invalid.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Lab, text, wancert_env};
use wancert::{der, keys, pem};

const NAME: &str = "_acme-challenge.demo.wancert.test";

/// The files one check looks at.
struct Setup {
    lab: Lab,
    config: PathBuf,
    certs: PathBuf,
    deployed: PathBuf,
    uhttpd: PathBuf,
}

impl Setup {
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec!["--config", self.config.to_str().unwrap()];
        all.extend_from_slice(args);
        wancert_env(&all, env)
    }
}

/// A key and the certificate chain it goes with, as read from two files.
#[derive(Clone, PartialEq, Debug)]
struct Pair {
    key: String,
    chain: String,
}

impl Pair {
    /// Read and check a pair: both files whole, the chain's leaf certifying
    /// the key, the key owner-only.
    fn read(key: &Path, chain: &Path, at: &str) -> Pair {
        let pair = Pair {
            key: fs::read_to_string(key).unwrap_or_else(|e| panic!("{at}: {}: {e}", key.display())),
            chain: fs::read_to_string(chain)
                .unwrap_or_else(|e| panic!("{at}: {}: {e}", chain.display())),
        };
        let spki = keys::spki(&pair.key)
            .unwrap_or_else(|e| panic!("{at}: {} is no whole key: {e}", key.display()));
        let leaf = pem::decode_all(&pair.chain, "CERTIFICATE");
        assert!(
            leaf.len() >= 2 && pair.chain.trim_end().ends_with("-----END CERTIFICATE-----"),
            "{at}: {} is no whole chain",
            chain.display()
        );
        let info = der::parse_cert(&leaf[0])
            .unwrap_or_else(|| panic!("{at}: {} has no readable leaf", chain.display()));
        assert_eq!(
            info.spki,
            spki,
            "{at}: {} and {} do not match",
            key.display(),
            chain.display()
        );
        assert_eq!(mode(key), 0o600, "{at}: {} mode", key.display());
        pair
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`, recursively; symlinks are listed, not followed.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The checks after a kill. `old` is the pair installed before the killed
/// run.
fn check_after_kill(s: &Setup, old: &Pair, uhttpd: &str, at: &str) {
    let installed = Pair::read(&s.certs.join("key.pem"), &s.certs.join("fullchain.pem"), at);
    // Old or new as a whole: a new key comes with a new chain.
    assert_eq!(
        installed.key == old.key,
        installed.chain == old.chain,
        "{at}: a mix of the old and the new pair is installed"
    );
    // No key readable by others, anywhere wancert writes, temporaries too.
    for f in files(&s.lab.state()).into_iter().chain(files(&s.deployed)) {
        let secret = fs::read_to_string(&f).is_ok_and(|t| t.contains("PRIVATE KEY"))
            || f.file_name().unwrap().to_string_lossy().contains("key");
        if secret {
            assert_eq!(
                mode(&f) & 0o077,
                0,
                "{at}: {} is readable by others",
                f.display()
            );
        }
    }
    // Where services read: only the named files, never a temporary under
    // its name (temporaries are hidden dot files).
    let names = |dir: &Path| -> BTreeSet<String> {
        files(dir)
            .iter()
            .filter(|p| !hidden(p))
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    for n in names(&s.deployed) {
        assert!(
            n == "key.pem" || n == "fullchain.pem",
            "{at}: {n} in the deploy directory"
        );
    }
    check_cert_dir(&s.certs, at);
    // The deployed files are each whole: a key, a chain.
    let dkey = fs::read_to_string(s.deployed.join("key.pem")).unwrap();
    keys::spki(&dkey).unwrap_or_else(|e| panic!("{at}: the deployed key is not whole: {e}"));
    assert_eq!(mode(&s.deployed.join("key.pem")), 0o600, "{at}");
    let dchain = fs::read_to_string(s.deployed.join("fullchain.pem")).unwrap();
    assert!(
        pem::decode_all(&dchain, "CERTIFICATE").len() >= 2,
        "{at}: the deployed chain is not whole"
    );
    // uhttpd's configuration is whole (it was already pointed at the pair).
    assert_eq!(
        fs::read_to_string(&s.uhttpd).unwrap(),
        uhttpd,
        "{at}: uhttpd's config"
    );
    // The order file, when there, is whole and owner-only.
    let order = s.certs.join("order.json");
    if order.exists() {
        let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&order).unwrap())
            .unwrap_or_else(|e| panic!("{at}: order.json is not whole: {e}"));
        assert!(v["url"].is_string(), "{at}");
        assert_eq!(mode(&order), 0o600, "{at}");
    }
}

/// The certificate directory holds the two names, `live`, generations
/// `pair.N` with the two files each, and wancert's own files; nothing else
/// unhidden (temporaries are hidden dot files).
fn check_cert_dir(dir: &Path, at: &str) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let generation = n
            .strip_prefix("pair.")
            .is_some_and(|g| g.parse::<u32>().is_ok());
        if generation {
            for f in fs::read_dir(e.path()).unwrap().flatten() {
                let f = f.file_name().to_string_lossy().into_owned();
                assert!(
                    f == "key.pem" || f == "fullchain.pem",
                    "{at}: {n}/{f} in the certificate directory"
                );
            }
        } else if !n.starts_with('.') {
            assert!(
                [
                    "key.pem",
                    "fullchain.pem",
                    "live",
                    "order.json",
                    "deployed.json"
                ]
                .contains(&n.as_str()),
                "{at}: {n} in the certificate directory"
            );
        }
    }
}

/// Put the installed pair back as two regular files, the layout of wancert
/// before pair generations, so that the next install migrates it.
fn to_regular_files(certs: &Path) {
    let (key, chain) = (certs.join("key.pem"), certs.join("fullchain.pem"));
    let (k, c) = (fs::read(&key).unwrap(), fs::read(&chain).unwrap());
    for e in fs::read_dir(certs).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("pair.") {
            fs::remove_dir_all(e.path()).unwrap();
        } else if ["key.pem", "fullchain.pem", "live"].contains(&n.as_str()) {
            fs::remove_file(e.path()).unwrap();
        }
    }
    fs::write(&key, k).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(&chain, c).unwrap();
}

/// The run after a kill: a plain `run` finishes the job. Returns the pair
/// then installed.
fn recover(s: &Setup, old: &Pair, at: &str) -> Pair {
    let in_flight = s.certs.join("order.json").exists();
    let out = s.run(&["run"], &[]);
    let log = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{at}: the run after failed: {log}"
    );
    assert!(
        !log.to_lowercase().contains("invalid"),
        "{at}: an authorization or order went invalid: {log}"
    );
    if in_flight {
        assert!(
            log.contains("resuming the interrupted order"),
            "{at}: {log}"
        );
        assert!(!log.contains("order placed"), "{at}: a new order: {log}");
    }
    let installed = Pair::read(&s.certs.join("key.pem"), &s.certs.join("fullchain.pem"), at);
    if in_flight {
        assert_ne!(
            &installed, old,
            "{at}: the interrupted renewal was not finished"
        );
    }
    let deployed = Pair::read(
        &s.deployed.join("key.pem"),
        &s.deployed.join("fullchain.pem"),
        at,
    );
    assert_eq!(deployed, installed, "{at}: the deploy target lags");
    assert!(!s.certs.join("order.json").exists(), "{at}");
    // The names are symlinks through `live` (or still regular files, when
    // the cut came before the migration and nothing was installed since),
    // and at most one generation is left.
    if let Ok(target) = fs::read_link(s.certs.join("key.pem")) {
        assert_eq!(target, Path::new("live/key.pem"), "{at}");
    }
    let generations = fs::read_dir(&s.certs)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pair."))
        .count();
    assert!(generations <= 1, "{at}: older generations left");
    let left: Vec<PathBuf> = files(&s.lab.state())
        .into_iter()
        .chain(files(&s.deployed))
        .filter(|p| hidden(p))
        .collect();
    assert!(left.is_empty(), "{at}: temporaries left behind: {left:?}");
    assert!(
        s.lab.txt(NAME).is_empty(),
        "{at}: TXT values left: {:?}",
        s.lab.txt(NAME)
    );
    installed
}

fn setup() -> Setup {
    let lab = Lab::up("crash");
    let uhttpd = lab.dir.path().join("uhttpd");
    fs::write(
        &uhttpd,
        include_str!("fixtures/uhttpd-openwrt")
            .lines()
            .filter(|l| !l.contains("listen_https"))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let deploys = format!(
        "\toption reload '/bin/true'\n\nconfig deploy 'web'\n\toption type 'uhttpd'\n\toption uhttpd_config '{}'\n\tlist restart '/bin/true'\n",
        uhttpd.display()
    );
    let config = lab.config_variant("crash.conf", |t| {
        t.replace(
            "\tlist deploy 'files'\n",
            "\tlist deploy 'files'\n\tlist deploy 'web'\n",
        ) + &deploys
    });
    let s = Setup {
        certs: lab.state().join("certs/demo"),
        deployed: lab.dir.path().join("deployed"),
        config,
        uhttpd,
        lab,
    };
    let out = s.run(&["run"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    s
}

#[test]
fn a_cut_at_any_step_loses_nothing_and_the_next_run_finishes() {
    let s = setup();
    let uhttpd = fs::read_to_string(&s.uhttpd).unwrap();
    assert!(uhttpd.contains("certs/demo/key.pem"), "{uhttpd}");
    let mut old = Pair::read(
        &s.certs.join("key.pem"),
        &s.certs.join("fullchain.pem"),
        "setup",
    );
    let started = Instant::now();

    let mut labels = Vec::new();
    let mut n = 1u32;
    let whole = loop {
        let step = format!("step:{n}");
        to_regular_files(&s.certs);
        let t0 = Instant::now();
        let out = s.run(
            &["renew", "--force"],
            &[("WANCERT_TEST_ABORT_AT", step.as_str())],
        );
        let log = text(&out);
        if out.status.code() == Some(0) {
            assert!(!log.contains("aborting here"), "{log}");
            break t0.elapsed();
        }
        assert_eq!(out.status.code(), None, "{step}: not killed: {log}");
        let label = log
            .lines()
            .find_map(|l| l.split_once(&format!("{step}: ")).map(|(_, r)| r))
            .and_then(|r| r.split(": aborting here").next())
            .unwrap_or_else(|| panic!("{step}: no kill line: {log}"))
            .to_string();
        let at = format!("{step} ({label})");
        check_after_kill(&s, &old, &uhttpd, &at);
        old = recover(&s, &old, &at);
        labels.push(label);
        n += 1;
        assert!(n < 1000, "the steps never end");
    };
    eprintln!("kill points, in order:");
    for (i, l) in labels.iter().enumerate() {
        eprintln!("  {}: {l}", i + 1);
    }
    let kills = labels.len();

    // Random moments: SIGKILL after a seeded random delay within the time a
    // whole renewal took.
    let seed = std::env::var("WANCERT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
                | 1
        });
    eprintln!("random kills: seed {seed} (WANCERT_CRASH_SEED={seed} repeats them)");
    let mut rng = seed;
    let mut random = 0;
    for i in 0..6 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(rng % (whole.as_millis() as u64).max(1));
        let mut child = Command::new(env!("CARGO_BIN_EXE_wancert"))
            .args(["--config", s.config.to_str().unwrap(), "renew", "--force"])
            .env("WANCERT_LOG", "stderr")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let killed = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        child.wait().unwrap();
        let at = format!("random kill {i} after {} ms", delay.as_millis());
        if killed {
            random += 1;
        }
        check_after_kill(&s, &old, &uhttpd, &at);
        old = recover(&s, &old, &at);
    }
    eprintln!(
        "{} kill points exercised ({kills} steps, {random} random SIGKILLs) in {} s",
        kills + random,
        started.elapsed().as_secs()
    );
    assert!(kills > 40, "only {kills} steps: is the hook counting?");
    for l in ["linked", "created"] {
        assert!(
            labels.iter().any(|label| label.starts_with(l)),
            "no step {l}: did the walk migrate?"
        );
    }
}
