//! Shared by the integration tests: temporary directories, the local lab
//! (Knot + pebble, started by `tests/lab/lab.sh`), and running the real binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wancert-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("WANCERT_KEEP_TEMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running lab. Stopped on drop.
pub struct Lab {
    pub dir: TempDir,
    pub env: HashMap<String, String>,
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(name)
}

impl Lab {
    pub fn up(tag: &str) -> Lab {
        Lab::up_with(tag, &[])
    }

    /// Start the lab with `lab.sh`'s options in the environment
    /// (`LAB_CA=a2c`, `LAB_RESOLVER=1`, `PEBBLE_EAB=1`, ...).
    pub fn up_with(tag: &str, env: &[(&str, &str)]) -> Lab {
        let dir = TempDir::new(tag);
        let out = Command::new("bash")
            .arg(script("lab.sh"))
            .arg("up")
            .arg(dir.path())
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the lab did not start (run tests/setup.sh to install knot, unbound, pebble and acme2certifier):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("lab.env")).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Lab { dir, env }
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("lab.env has no {key}"))
    }

    /// The lab's wancert configuration file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("wancert.conf")
    }

    /// Write a variant of the lab configuration, with `edit` applied to its
    /// text, and return its path.
    pub fn config_variant(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = std::fs::read_to_string(self.config()).unwrap();
        let path = self.dir.path().join(name);
        std::fs::write(&path, edit(text)).unwrap();
        path
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The lab's wancert configuration with `extra` lines added to the
    /// `config cert 'demo'` section (after its provider line).
    pub fn config_with(&self, name: &str, extra: &str) -> PathBuf {
        self.config_variant(name, |t| {
            t.replace(
                "\toption provider 'lab'\n",
                &format!("\toption provider 'lab'\n{extra}"),
            )
        })
    }

    /// TXT values the lab's DNS server holds at `name`.
    pub fn txt(&self, name: &str) -> Vec<String> {
        let out = Command::new("kdig")
            .args([
                "@127.0.0.1",
                "-p",
                self.var("KNOT_PORT"),
                "+short",
                "TXT",
                name,
            ])
            .output()
            .expect("kdig runs (knot-dnsutils)");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_matches('"').to_string())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("lab.sh"))
            .arg("down")
            .arg(self.dir.path())
            .output();
    }
}

/// Run the wancert binary with `args`.
pub fn wancert(args: &[&str]) -> Output {
    wancert_env(args, &[])
}

/// Run the wancert binary with `args` and `env` added to its environment.
pub fn wancert_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wancert"))
        .args(args)
        .env("WANCERT_LOG", "stderr")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Run wancert with the configuration `config` and `args`; assert it
/// succeeded and return what it printed.
pub fn ok(config: &Path, args: &[&str]) -> String {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = wancert(&all);
    assert!(
        out.status.success(),
        "wancert {args:?} failed: {}",
        text(&out)
    );
    text(&out)
}

/// `status --json` of `config`.
pub fn status(config: &Path) -> serde_json::Value {
    let out = wancert(&["--config", config.to_str().unwrap(), "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The serial (hex) of the first certificate in a PEM file.
pub fn serial(pem: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A server started by a lab script (`tests/lab/SCRIPT DIR ARGS...`) that
/// writes `DIR/ENV_FILE`; stopped on drop with `SCRIPT stop DIR ARGS...`.
pub struct Service {
    script: &'static str,
    dir: PathBuf,
    args: Vec<String>,
    pub env: HashMap<String, String>,
}

impl Service {
    pub fn start(script: &'static str, dir: &Path, args: &[&str], env_file: &str) -> Service {
        let out = Command::new("bash")
            .arg(self::script(script))
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script} did not start (run tests/setup.sh to install what it needs):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join(env_file)).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Service {
            script,
            dir: dir.to_path_buf(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env,
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("{} wrote no {key}", self.script))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script(self.script))
            .arg("stop")
            .arg(&self.dir)
            .args(&self.args)
            .output();
    }
}

pub mod cloud;
pub mod dns;
pub mod httpd;
pub mod provider;
pub mod tls;
