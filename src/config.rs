//! The typed configuration read from `/etc/config/wancert` (UCI syntax).
//! Pure: `parse` takes the file's name and text. Errors name the file, line,
//! option and the fix.

use std::path::PathBuf;
use std::time::Duration;

use crate::uci::Section;
use crate::{Error, Result};

pub const DEFAULT_PATH: &str = "/etc/config/wancert";

#[derive(Debug, Clone)]
pub struct Config {
    pub file: String,
    pub global: Global,
    pub providers: Vec<PluginSection>,
    pub certs: Vec<CertConf>,
    pub deploys: Vec<PluginSection>,
}

/// `config wancert 'global'`.
#[derive(Debug, Clone)]
pub struct Global {
    /// Directory URL (shortcuts already expanded).
    pub acme_server: String,
    pub email: Option<String>,
    /// Extra trusted roots (PEM), added to the system bundle.
    pub ca_file: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    /// `host:port` servers to check instead of the zone's authoritative ones.
    pub propagation_servers: Vec<String>,
    pub propagation_timeout: Duration,
    pub propagation_interval: Duration,
}

/// `config cert 'NAME'`.
#[derive(Debug, Clone)]
pub struct CertConf {
    pub name: String,
    pub line: usize,
    pub domains: Vec<String>,
    pub provider: String,
    pub key_type: KeyType,
    pub deploy: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Ec256,
    Ec384,
}

/// A `config provider` or `config deploy` section. Its options belong to the
/// plug-in named by `kind` (option `type`), which reads them through these
/// helpers so that errors still name the file and line.
#[derive(Debug, Clone)]
pub struct PluginSection {
    pub file: String,
    pub name: String,
    pub kind: String,
    pub section: Section,
}

impl PluginSection {
    pub fn optional(&self, key: &str) -> Option<&str> {
        self.section.value(key)
    }
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.section.list(key)
    }
    pub fn required(&self, key: &str) -> Result<&str> {
        self.optional(key).ok_or_else(|| {
            self.error(
                key,
                &format!("option '{key}' is missing: add `option {key} '...'`"),
            )
        })
    }
    /// An error about `key` in this section, at the option's line when it is
    /// set, else at the section's line.
    pub fn error(&self, key: &str, msg: &str) -> Error {
        let line = self.section.opt(key).map_or(self.section.line, |o| o.line);
        let ty = &self.section.ty;
        Error::Config {
            file: self.file.clone(),
            line,
            msg: format!("config {ty} '{}': {msg}", self.name),
        }
    }
}

/// Parse a configuration file's text. `file` is used in error messages.
pub fn parse(file: &str, _text: &str) -> Result<Config> {
    Err(Error::Config {
        file: file.into(),
        line: 0,
        msg: "not implemented".into(),
    })
}

/// Read and parse the file at `path`.
pub fn load(path: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
    parse(path, &text)
}

impl Config {
    pub fn provider(&self, name: &str) -> Option<&PluginSection> {
        self.providers.iter().find(|p| p.name == name)
    }
    pub fn deploy(&self, name: &str) -> Option<&PluginSection> {
        self.deploys.iter().find(|p| p.name == name)
    }
    pub fn cert(&self, name: &str) -> Option<&CertConf> {
        self.certs.iter().find(|c| c.name == name)
    }
}
