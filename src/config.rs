//! The typed configuration read from `/etc/config/wancert` (UCI syntax).
//! Pure: `parse` takes the file's name and text. Errors name the file, line,
//! option and the fix.
//!
//! ```text
//! config wancert 'global'
//!     option acme_server 'letsencrypt'
//!     option email 'me@example.com'
//! config provider 'home'
//!     option type 'rfc2136'
//! config cert 'nas'
//!     list domain 'nas.example.com'
//!     option provider 'home'
//!     list deploy 'uhttpd'
//! config deploy 'uhttpd'
//!     option type 'uhttpd'
//! config ddns 'home'
//!     option provider 'home'
//!     option domain 'home.example.com'
//! ```
//!
//! Unknown section types and unknown options of `wancert` and `cert` sections
//! are warnings, not errors: a newer LuCI page may write options this version
//! does not know yet, and refusing to renew over that would be worse.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::uci::{self, Section};
use crate::{Error, Result};

/// Where the configuration lives on OpenWrt.
pub const DEFAULT_PATH: &str = "/etc/config/wancert";

/// The `acme_server` shortcuts and the directory URLs they stand for.
pub const ACME_SERVERS: &[(&str, &str)] = &[
    (
        "letsencrypt",
        "https://acme-v02.api.letsencrypt.org/directory",
    ),
    (
        "letsencrypt-staging",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
    ),
    ("zerossl", "https://acme.zerossl.com/v2/DV90"),
    ("google", "https://dv.acme-v02.api.pki.goog/directory"),
];

/// The whole configuration, checked: every name a cert refers to exists.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, for messages.
    pub file: String,
    pub global: Global,
    pub providers: Vec<PluginSection>,
    pub certs: Vec<CertConf>,
    pub deploys: Vec<PluginSection>,
    /// `config ddns` sections: records kept pointing at the WAN (or a LAN
    /// host), in file order.
    pub ddns: Vec<DdnsConf>,
    /// `config notify` sections: where to send notifications.
    pub notifiers: Vec<PluginSection>,
}

impl Config {
    /// The `config provider` section called `name`.
    pub fn provider(&self, name: &str) -> Option<&PluginSection> {
        self.providers.iter().find(|p| p.name == name)
    }
    /// The `config deploy` section called `name`.
    pub fn deploy(&self, name: &str) -> Option<&PluginSection> {
        self.deploys.iter().find(|p| p.name == name)
    }
    /// The `config cert` section called `name`.
    pub fn cert(&self, name: &str) -> Option<&CertConf> {
        self.certs.iter().find(|c| c.name == name)
    }
    /// The `config ddns` section called `name`.
    pub fn ddns_record(&self, name: &str) -> Option<&DdnsConf> {
        self.ddns.iter().find(|d| d.name == name)
    }
    /// The propagation settings for certificates that use the `config
    /// provider` section called `provider`: the global ones, with the
    /// section's own options taking precedence.
    pub fn propagation(&self, provider: &str) -> Result<Propagation> {
        match self.provider(provider) {
            Some(p) => parse_propagation(&p.file, &p.section, &self.global.propagation),
            None => Ok(self.global.propagation.clone()),
        }
    }
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
    /// How to wait for TXT values to be visible; a `config provider`
    /// section may override it (see `Config::propagation`).
    pub propagation: Propagation,
    /// The firewall configuration whose port forwards deploy sections name
    /// (`option redirect`).
    pub firewall_config: PathBuf,
    /// The `ubus` program DDNS asks for the interfaces' addresses (a name
    /// on PATH or a path); tests point it at a script printing a fixture.
    pub ubus: String,
    /// Least time between two notifications of the same kind (failure,
    /// expiry warning) about the same certificate.
    pub notify_interval: Duration,
    /// Warn when a renewal failed and the installed certificate expires
    /// within this many days.
    pub expiry_warn_days: u32,
    /// External account binding (RFC 8555 §7.3.4), options `eab_kid` and
    /// `eab_hmac_key` (or `eab_hmac_key_file`): ZeroSSL and Google need it.
    pub eab: Option<EabConf>,
    /// The algorithm of a new account key (option `account_key_type`,
    /// ECDSA only: RFC 8555 accounts sign with it).
    pub account_key_type: KeyType,
}

/// External account binding credentials.
#[derive(Clone)]
pub struct EabConf {
    pub kid: String,
    /// The MAC key as the CA shows it (base64url), checked to decode.
    pub hmac_key: String,
}

impl std::fmt::Debug for EabConf {
    // The MAC key is a secret: never in a debug print either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EabConf {{ kid: {:?}, hmac_key: *** }}", self.kid)
    }
}

impl Default for Global {
    /// The values used when the file has no `config wancert` section.
    fn default() -> Self {
        Global {
            acme_server: ACME_SERVERS[0].1.into(),
            email: None,
            ca_file: None,
            state_dir: "/etc/wancert".into(),
            run_dir: "/var/run/wancert".into(),
            propagation: Propagation::default(),
            firewall_config: crate::firewall::DEFAULT_PATH.into(),
            ubus: "ubus".into(),
            notify_interval: Duration::from_secs(86400),
            expiry_warn_days: 14,
            eab: None,
            account_key_type: KeyType::Ec256,
        }
    }
}

/// DoH resolvers (RFC 8484) asked when port 53 is blocked or intercepted:
/// two reachable from most of the world, two from mainland China, where the
/// first two often are not. Each provider documents its URL.
pub const DOH_SERVERS: &[&str] = &[
    "https://cloudflare-dns.com/dns-query",
    "https://dns.google/dns-query",
    "https://dns.alidns.com/dns-query",
    "https://doh.pub/dns-query",
];

/// The propagation check's settings: `config wancert 'global'`, with a
/// `config provider` section's own values taking precedence.
#[derive(Debug, Clone, PartialEq)]
pub struct Propagation {
    /// `list propagation_server`: `host:port` servers to ask (recursively)
    /// instead of the zone's authoritative servers.
    pub servers: Vec<String>,
    /// `list doh_server`: DoH resolver URLs, for when no server answers on
    /// port 53 (blocked, or intercepted by a middlebox).
    pub doh_servers: Vec<String>,
    /// `option propagation_timeout`: give up after this long.
    pub timeout: Duration,
    /// `option propagation_interval`: between two rounds of questions.
    pub interval: Duration,
    /// `option propagation_wait`: skip the check and wait this long
    /// instead (for a provider whose servers cannot be asked).
    pub wait: Option<Duration>,
}

impl Default for Propagation {
    fn default() -> Self {
        Propagation {
            servers: Vec::new(),
            doh_servers: DOH_SERVERS.iter().map(|s| s.to_string()).collect(),
            timeout: Duration::from_secs(300),
            interval: Duration::from_secs(5),
            wait: None,
        }
    }
}

/// The options `Propagation` is read from, in global and provider sections.
const PROPAGATION_OPTIONS: &[&str] = &[
    "propagation_server",
    "doh_server",
    "propagation_timeout",
    "propagation_interval",
    "propagation_wait",
];

/// `config cert 'NAME'`.
#[derive(Debug, Clone)]
pub struct CertConf {
    pub name: String,
    /// Line of the `config cert` statement.
    pub line: usize,
    /// Lowercase, unique, the first one being the certificate's subject.
    pub domains: Vec<String>,
    /// Name of a `config provider` section (checked to exist). Needed for
    /// dns-01; optional for dns-persist-01, where it only publishes the
    /// standing record on request.
    pub provider: Option<String>,
    pub key_type: KeyType,
    /// Names of `config deploy` sections (checked to exist), in order.
    pub deploy: Vec<String>,
    /// The CA's profile to ask for (draft-ietf-acme-profiles), option `profile`.
    pub profile: Option<String>,
    /// Renew when this many days are left (option `renew_days`), instead of
    /// when a third of the lifetime is left; the CA's ARI window can still
    /// make it earlier.
    pub renew_days: Option<u32>,
    /// This certificate's CA, when not the global one (option `acme_server`).
    pub acme_server: Option<String>,
    /// How the names are proved (option `challenge`).
    pub challenge: ChallengeType,
    /// Option `challenge_alias`: publish dns-01 TXT values at this name
    /// instead of `_acme-challenge.<domain>`, which the user made a CNAME to
    /// it (RFC 8555 §8.4 lets the CA follow it): the provider then needs
    /// write access to the alias's zone only.
    pub challenge_alias: Option<String>,
}

impl CertConf {
    /// The directory URL this certificate is ordered from.
    pub fn server<'a>(&'a self, global: &'a Global) -> &'a str {
        self.acme_server.as_deref().unwrap_or(&global.acme_server)
    }
}

/// The validation method (option `challenge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeType {
    /// `dns-01` (RFC 8555 §8.4): a fresh TXT value per order, through the
    /// provider's API. The default.
    Dns01,
    /// `dns-persist-01` (draft-ietf-acme-dns-persist): one standing record
    /// naming the CA and the account; issuance makes no DNS change.
    DnsPersist01,
}

impl ChallengeType {
    /// The challenge's `type` in ACME.
    pub fn name(self) -> &'static str {
        match self {
            ChallengeType::Dns01 => "dns-01",
            ChallengeType::DnsPersist01 => "dns-persist-01",
        }
    }
}

/// A key's algorithm (options `key_type` and `account_key_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256, `ec256`: the default, and what every client supports.
    Ec256,
    /// ECDSA P-384, `ec384`.
    Ec384,
    /// RSA, `rsa2048`/`rsa3072`/`rsa4096`: certificate keys only, for old
    /// clients; needs a build with the `rsa` feature.
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl KeyType {
    /// The option value.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Ec256 => "ec256",
            KeyType::Ec384 => "ec384",
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
        }
    }
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
    /// The option's value, if set.
    pub fn optional(&self, key: &str) -> Option<&str> {
        self.section.value(key)
    }
    /// All values of a list (or the one value of an option).
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.section.list(key)
    }
    /// The option's value, or an error saying to add it.
    pub fn required(&self, key: &str) -> Result<&str> {
        self.optional(key).ok_or_else(|| {
            self.error(
                key,
                &format!("option '{key}' is missing: add `option {key} '...'`"),
            )
        })
    }
    /// A UCI boolean (`1`/`0`, `yes`/`no`, `on`/`off`, `true`/`false`,
    /// `enabled`/`disabled`, as OpenWrt's `config_get_bool` reads them), or
    /// `default` when the option is not set.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.optional(key).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some("1" | "yes" | "on" | "true" | "enabled") => Ok(true),
            Some("0" | "no" | "off" | "false" | "disabled") => Ok(false),
            Some(v) => Err(self.error(
                key,
                &format!("option {key} '{v}' is not a boolean: write '1' or '0'"),
            )),
        }
    }
    /// An error about `key` in this section, at the option's line when it is
    /// set, else at the section's line.
    pub fn error(&self, key: &str, msg: &str) -> Error {
        err(&self.file, &self.section, key, msg)
    }

    /// A credential: `option KEY 'value'` in the section, or `option KEY_file
    /// '/path'` naming a file that only its owner can read (the value is its
    /// content, trimmed). Keeping secrets out of `/etc/config` lets the config
    /// be shared or backed up without them. Errors never show the value.
    pub fn secret(&self, key: &str) -> Result<String> {
        let file_key = format!("{key}_file");
        match (self.optional(key), self.optional(&file_key)) {
            (Some(v), None) => Ok(v.to_string()),
            (None, Some(path)) => read_secret_file(path).map_err(|msg| self.error(&file_key, &msg)),
            (Some(_), Some(_)) => Err(self.error(
                &file_key,
                &format!("set either option {key} or option {file_key}, not both"),
            )),
            (None, None) => Err(self.error(
                key,
                &format!("option '{key}' is missing: add `option {key} '...'` or `option {file_key} '/path'`"),
            )),
        }
    }
}

/// The content of a secret file, refusing one that others can read.
fn read_secret_file(path: &str) -> std::result::Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(format!("{path} is readable by others: chmod 600 {path}"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let value = text.trim();
    if value.is_empty() {
        return Err(format!("{path} is empty"));
    }
    Ok(value.to_string())
}

/// Parse a configuration file's text. `file` is used in error messages.
pub fn parse(file: &str, text: &str) -> Result<Config> {
    let sections = uci::parse(text).map_err(|e| Error::Config {
        file: file.into(),
        line: e.line,
        msg: e.msg,
    })?;
    let mut global: Option<&Section> = None;
    let (mut providers, mut deploys, mut certs) = (Vec::new(), Vec::new(), Vec::new());
    let mut ddns_sections = Vec::new();
    let mut notifiers = Vec::new();
    for s in &sections {
        match s.ty.as_str() {
            "wancert" => {
                if let Some(first) = global {
                    let msg = format!(
                        "there is already a config wancert section at line {}: merge the two",
                        first.line
                    );
                    return Err(err(file, s, "", &msg));
                }
                global = Some(s);
            }
            "provider" => providers.push(plugin(file, s, &providers)?),
            "deploy" => deploys.push(plugin(file, s, &deploys)?),
            "notify" => notifiers.push(notifier(file, s, notifiers.len())?),
            // After the loop: a cert may name sections further down.
            "cert" => certs.push(s),
            "ddns" => ddns_sections.push(s),
            ty => log::warn!(
                "{file}:{}: unknown section type 'config {ty}' ignored",
                s.line
            ),
        }
    }
    let global = match global {
        Some(s) => parse_global(file, s)?,
        None => Global::default(),
    };
    // Checked now, so that `check` and every run report a bad value at once.
    for p in &providers {
        parse_propagation(file, &p.section, &global.propagation)?;
    }
    let mut done: Vec<CertConf> = Vec::new();
    for s in certs {
        let name = named(
            file,
            s,
            "it names the certificate's files and is used on the command line",
        )?;
        if let Some(first) = done.iter().find(|c| c.name == name) {
            return Err(duplicate(file, s, first.line));
        }
        done.push(parse_cert(file, s, name, &providers, &deploys)?);
    }
    let mut ddns: Vec<DdnsConf> = Vec::new();
    for s in ddns_sections {
        let name = named(
            file,
            s,
            "status shows the record by that name and `wancert ddns NAME` runs it",
        )?;
        if let Some(first) = ddns.iter().find(|d| d.name == name) {
            return Err(duplicate(file, s, first.line));
        }
        ddns.push(parse_ddns(file, s, name, &providers)?);
    }
    Ok(Config {
        file: file.into(),
        global,
        providers,
        certs: done,
        deploys,
        ddns,
        notifiers,
    })
}

/// Read and parse the file at `path`.
pub fn load(path: &str) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
    parse(path, &text)
}

/// `config TY 'name'`, or `config TY` for an anonymous section.
fn label(s: &Section) -> String {
    match &s.name {
        Some(n) => format!("config {} '{n}'", s.ty),
        None => format!("config {}", s.ty),
    }
}

/// An error about option `key` of `s` (at its line, else the section's).
fn err(file: &str, s: &Section, key: &str, msg: &str) -> Error {
    let line = s.opt(key).map_or(s.line, |o| o.line);
    Error::Config {
        file: file.into(),
        line,
        msg: format!("{}: {msg}", label(s)),
    }
}

fn warn_unknown(file: &str, s: &Section, known: &[&str]) {
    for o in s
        .options
        .iter()
        .filter(|o| !known.contains(&o.name.as_str()))
    {
        log::warn!(
            "{file}:{}: {}: unknown option '{}' ignored",
            o.line,
            label(s),
            o.name
        );
    }
}

/// The section's name, or an error saying why it needs one.
fn named<'a>(file: &str, s: &'a Section, why: &str) -> Result<&'a str> {
    s.name.as_deref().ok_or_else(|| {
        let msg = format!("needs a name, as in `config {} 'NAME'`: {why}", s.ty);
        err(file, s, "", &msg)
    })
}

fn duplicate(file: &str, s: &Section, first: usize) -> Error {
    err(
        file,
        s,
        "",
        &format!("is defined twice (first at line {first}): rename or merge one"),
    )
}

/// A non-empty option value. LuCI may leave an emptied field as `''`, which
/// means "not set".
fn value<'a>(s: &'a Section, key: &str) -> Option<&'a str> {
    s.value(key).filter(|v| !v.is_empty())
}

fn plugin(file: &str, s: &Section, seen: &[PluginSection]) -> Result<PluginSection> {
    let name = named(file, s, "a config cert refers to it by that name")?;
    if let Some(first) = seen.iter().find(|p| p.name == name) {
        return Err(duplicate(file, s, first.section.line));
    }
    let Some(kind) = value(s, "type") else {
        let msg = format!(
            "option type is missing: add `option type '...'` naming the {} type",
            s.ty
        );
        return Err(err(file, s, "type", &msg));
    };
    Ok(PluginSection {
        file: file.into(),
        name: name.into(),
        kind: kind.into(),
        section: s.clone(),
    })
}

/// A `config notify` section. Nothing refers to one by name, so it may be
/// anonymous (as LuCI creates them); it is then called `notify[N]`.
fn notifier(file: &str, s: &Section, index: usize) -> Result<PluginSection> {
    let Some(kind) = value(s, "type") else {
        let msg =
            "option type is missing: add `option type '...'` (`wancert notifiers` lists the types)";
        return Err(err(file, s, "type", msg));
    };
    Ok(PluginSection {
        file: file.into(),
        name: s.name.clone().unwrap_or_else(|| format!("notify[{index}]")),
        kind: kind.into(),
        section: s.clone(),
    })
}

fn parse_global(file: &str, s: &Section) -> Result<Global> {
    let known: Vec<&str> = [
        "acme_server",
        "email",
        "ca_file",
        "state_dir",
        "run_dir",
        "firewall_config",
        "ubus",
        "notify_interval",
        "expiry_warn_days",
        // Read by the hotplug script, not here.
        "wan_interface",
        "eab_kid",
        "eab_hmac_key",
        "eab_hmac_key_file",
        "account_key_type",
    ]
    .into_iter()
    .chain(PROPAGATION_OPTIONS.iter().copied())
    .collect();
    warn_unknown(file, s, &known);
    let mut g = Global::default();
    if let Some(v) = value(s, "acme_server") {
        g.acme_server = acme_server(file, s, v)?;
    }
    if let Some(v) = value(s, "email") {
        if !is_email(v) {
            let msg = format!(
                "option email '{v}' is not an e-mail address: write it as name@example.com"
            );
            return Err(err(file, s, "email", &msg));
        }
        g.email = Some(v.into());
    }
    g.ca_file = path(file, s, "ca_file")?;
    if let Some(p) = path(file, s, "state_dir")? {
        g.state_dir = p;
    }
    if let Some(p) = path(file, s, "run_dir")? {
        g.run_dir = p;
    }
    if let Some(p) = path(file, s, "firewall_config")? {
        g.firewall_config = p;
    }
    if let Some(v) = value(s, "ubus") {
        g.ubus = v.into();
    }
    if let Some(d) = seconds(file, s, "notify_interval")? {
        g.notify_interval = d;
    }
    if let Some(v) = value(s, "expiry_warn_days") {
        g.expiry_warn_days = match v.parse::<u32>() {
            Ok(n) if v.bytes().all(|c| c.is_ascii_digit()) => n,
            _ => {
                let msg = format!("option expiry_warn_days '{v}' is not a whole number of days");
                return Err(err(file, s, "expiry_warn_days", &msg));
            }
        };
    }
    g.eab = eab(file, s)?;
    g.account_key_type = match value(s, "account_key_type") {
        None | Some("ec256") => KeyType::Ec256,
        Some("ec384") => KeyType::Ec384,
        Some(v) => {
            let msg = format!("option account_key_type '{v}' is not ec256 or ec384");
            return Err(err(file, s, "account_key_type", &msg));
        }
    };
    g.propagation = parse_propagation(file, s, &Propagation::default())?;
    Ok(g)
}

/// The propagation options of section `s`, each replacing its value in
/// `base` when set. A list replaces the whole list: a provider that needs
/// its own servers should not also be checked on the global ones.
fn parse_propagation(file: &str, s: &Section, base: &Propagation) -> Result<Propagation> {
    let mut p = base.clone();
    // An emptied LuCI field leaves `''`, which means "not set".
    let list = |key| s.list(key).into_iter().filter(|v| !v.is_empty());
    let servers: Vec<&str> = list("propagation_server").collect();
    if !servers.is_empty() {
        p.servers.clear();
    }
    for v in servers {
        if !is_host_port(v) {
            let msg = format!(
                "list propagation_server '{v}' is not host:port: write e.g. '1.1.1.1:53' or '[2606:4700:4700::1111]:53'"
            );
            return Err(err(file, s, "propagation_server", &msg));
        }
        p.servers.push(v.into());
    }
    let doh: Vec<&str> = list("doh_server").collect();
    if !doh.is_empty() {
        p.doh_servers.clear();
    }
    for v in doh {
        if !is_url(v) {
            let msg = format!(
                "list doh_server '{v}' is not a URL: write e.g. 'https://dns.google/dns-query'"
            );
            return Err(err(file, s, "doh_server", &msg));
        }
        p.doh_servers.push(v.into());
    }
    if let Some(d) = seconds(file, s, "propagation_timeout")? {
        p.timeout = d;
    }
    if let Some(d) = seconds(file, s, "propagation_interval")? {
        p.interval = d;
    }
    if let Some(d) = seconds(file, s, "propagation_wait")? {
        p.wait = Some(d);
    }
    Ok(p)
}

/// `eab_kid` with `eab_hmac_key` (or `eab_hmac_key_file`, a 0600 file):
/// both or neither. Messages never show the key.
fn eab(file: &str, s: &Section) -> Result<Option<EabConf>> {
    let key = match (value(s, "eab_hmac_key"), value(s, "eab_hmac_key_file")) {
        (Some(_), Some(_)) => {
            let msg = "set either option eab_hmac_key or option eab_hmac_key_file, not both";
            return Err(err(file, s, "eab_hmac_key_file", msg));
        }
        (Some(k), None) => Some(k.to_string()),
        (None, Some(path)) => {
            Some(read_secret_file(path).map_err(|m| err(file, s, "eab_hmac_key_file", &m))?)
        }
        (None, None) => None,
    };
    match (value(s, "eab_kid"), key) {
        (None, None) => Ok(None),
        (Some(kid), Some(hmac_key)) => {
            if crate::b64::decode(&hmac_key).is_none_or(|k| k.is_empty()) {
                let msg = "option eab_hmac_key is not base64url: copy the HMAC key exactly as the CA shows it";
                return Err(err(file, s, "eab_hmac_key", msg));
            }
            Ok(Some(EabConf {
                kid: kid.into(),
                hmac_key,
            }))
        }
        (Some(_), None) => Err(err(
            file,
            s,
            "eab_kid",
            "option eab_kid needs option eab_hmac_key (or eab_hmac_key_file) from the same CA page",
        )),
        (None, Some(_)) => Err(err(
            file,
            s,
            "eab_hmac_key",
            "option eab_hmac_key needs option eab_kid from the same CA page",
        )),
    }
}

/// An `acme_server` value: a shortcut or a URL.
fn acme_server(file: &str, s: &Section, v: &str) -> Result<String> {
    match ACME_SERVERS.iter().find(|(k, _)| *k == v) {
        Some((_, url)) => Ok((*url).into()),
        None if is_url(v) => Ok(v.into()),
        None => {
            let names: Vec<&str> = ACME_SERVERS.iter().map(|(k, _)| *k).collect();
            let msg = format!(
                "option acme_server '{v}' is not a URL or one of {}",
                names.join(", ")
            );
            Err(err(file, s, "acme_server", &msg))
        }
    }
}

/// An absolute path option: the daemon's working directory is not the
/// user's, so a relative path would point somewhere unexpected.
fn path(file: &str, s: &Section, key: &str) -> Result<Option<PathBuf>> {
    match value(s, key) {
        Some(v) if !v.starts_with('/') => {
            let msg = format!("option {key} '{v}' is not an absolute path: start it with /");
            Err(err(file, s, key, &msg))
        }
        v => Ok(v.map(PathBuf::from)),
    }
}

/// A whole number of seconds, at least 1.
fn seconds(file: &str, s: &Section, key: &str) -> Result<Option<Duration>> {
    let Some(v) = value(s, key) else {
        return Ok(None);
    };
    match v.parse::<u32>() {
        Ok(n) if n >= 1 && v.bytes().all(|c| c.is_ascii_digit()) => {
            Ok(Some(Duration::from_secs(n.into())))
        }
        _ => {
            let msg = format!("option {key} '{v}' is not a whole number of seconds of at least 1");
            Err(err(file, s, key, &msg))
        }
    }
}

fn is_url(v: &str) -> bool {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.bytes().any(|c| c <= b' '))
}

fn is_email(v: &str) -> bool {
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !v.bytes().any(|c| c <= b' ')
        }
        None => false,
    }
}

/// `host:port` with an IPv4 address or DNS name, or `[IPv6]:port`.
fn is_host_port(v: &str) -> bool {
    let (host_ok, port) = match v.strip_prefix('[').and_then(|r| r.split_once("]:")) {
        Some((h, p)) => (h.parse::<Ipv6Addr>().is_ok(), p),
        None => match v.rsplit_once(':') {
            Some((h, p)) => (
                h.parse::<Ipv4Addr>().is_ok() || dns_name_error(h).is_none(),
                p,
            ),
            None => return false,
        },
    };
    host_ok && port.bytes().all(|c| c.is_ascii_digit()) && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// Why `name` is not a valid DNS host name (RFC 1123 labels), if it is not.
pub fn dns_name_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.len() > 253 {
        return Some("it is longer than 253 characters".into());
    }
    if name.contains('*') {
        return Some("a * is only allowed as the whole first label, as in *.example.com".into());
    }
    for l in name.split('.') {
        let why = if l.is_empty() {
            "is empty (two dots in a row, or a dot at the start or end)"
        } else if l.len() > 63 {
            "is longer than 63 characters"
        } else if !l.is_ascii() {
            "is not ASCII: write an internationalized name in its xn-- form"
        } else if !l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            "has characters other than letters, digits and -"
        } else if l.starts_with('-') || l.ends_with('-') {
            "starts or ends with -"
        } else {
            continue;
        };
        return Some(format!("label '{l}' {why}"));
    }
    // A name must end in a name: `1.2.3.4` is an address, and a DNS-01
    // certificate cannot be issued for one.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
    {
        return Some("it is an IP address, not a name".into());
    }
    None
}

fn parse_cert(
    file: &str,
    s: &Section,
    name: &str,
    providers: &[PluginSection],
    deploys: &[PluginSection],
) -> Result<CertConf> {
    warn_unknown(
        file,
        s,
        &[
            "domain",
            "provider",
            "key_type",
            "deploy",
            "profile",
            "renew_days",
            "acme_server",
            "challenge",
            "challenge_alias",
        ],
    );
    let mut domains: Vec<String> = Vec::new();
    for v in s.list("domain") {
        let d = v.to_ascii_lowercase();
        if let Some(why) = dns_name_error(d.strip_prefix("*.").unwrap_or(&d)) {
            let msg = format!("list domain '{v}' is not a valid DNS name: {why}");
            return Err(err(file, s, "domain", &msg));
        }
        if domains.contains(&d) {
            return Err(err(
                file,
                s,
                "domain",
                &format!("list domain '{v}' is given twice: remove one"),
            ));
        }
        domains.push(d);
    }
    if domains.is_empty() {
        let msg = "list domain is missing: add `list domain 'host.example.com'`, one per name";
        return Err(err(file, s, "domain", msg));
    }

    let challenge = match value(s, "challenge") {
        None | Some("dns-01") => ChallengeType::Dns01,
        Some("dns-persist-01") => ChallengeType::DnsPersist01,
        Some(v) => {
            let msg = format!("option challenge '{v}' is not dns-01 or dns-persist-01");
            return Err(err(file, s, "challenge", &msg));
        }
    };
    let provider = value(s, "provider");
    match provider {
        None if challenge == ChallengeType::Dns01 => {
            let msg = "option provider is missing: add `option provider 'NAME'` naming a config provider section";
            return Err(err(file, s, "provider", msg));
        }
        Some(p) if !providers.iter().any(|x| x.name == p) => {
            let msg = format!(
                "option provider '{p}' names no config provider section: add one or fix the name"
            );
            return Err(err(file, s, "provider", &msg));
        }
        _ => {}
    }
    let challenge_alias = match value(s, "challenge_alias") {
        Some(_) if challenge != ChallengeType::Dns01 => {
            let msg =
                "option challenge_alias is for dns-01 only: remove it or the challenge option";
            return Err(err(file, s, "challenge_alias", msg));
        }
        Some(v) => {
            let a = v.trim_end_matches('.').to_ascii_lowercase();
            if let Some(why) = dns_name_error(a.strip_prefix('_').unwrap_or(&a)) {
                let msg = format!("option challenge_alias '{v}' is not a valid DNS name: {why}");
                return Err(err(file, s, "challenge_alias", &msg));
            }
            Some(a)
        }
        None => None,
    };

    let key_type = match value(s, "key_type") {
        None | Some("ec256") => KeyType::Ec256,
        Some("ec384") => KeyType::Ec384,
        Some(v @ ("rsa2048" | "rsa3072" | "rsa4096")) if !cfg!(feature = "rsa") => {
            let msg = format!(
                "option key_type '{v}' needs a wancert built with RSA support (cargo feature rsa): use ec256 or ec384, or install that build"
            );
            return Err(err(file, s, "key_type", &msg));
        }
        Some("rsa2048") => KeyType::Rsa2048,
        Some("rsa3072") => KeyType::Rsa3072,
        Some("rsa4096") => KeyType::Rsa4096,
        Some(v) => {
            let msg =
                format!("option key_type '{v}' is not ec256, ec384, rsa2048, rsa3072 or rsa4096");
            return Err(err(file, s, "key_type", &msg));
        }
    };
    let profile = value(s, "profile").map(String::from);
    let renew_days = match value(s, "renew_days") {
        None => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=365).contains(&n) && v.bytes().all(|c| c.is_ascii_digit()) => Some(n),
            _ => {
                let msg =
                    format!("option renew_days '{v}' is not a whole number of days from 1 to 365");
                return Err(err(file, s, "renew_days", &msg));
            }
        },
    };
    let acme_server = match value(s, "acme_server") {
        Some(v) => Some(acme_server(file, s, v)?),
        None => None,
    };

    let mut deploy: Vec<String> = Vec::new();
    for d in s.list("deploy") {
        let msg = if !deploys.iter().any(|p| p.name == d) {
            format!("list deploy '{d}' names no config deploy section: add one or fix the name")
        } else if deploy.iter().any(|x| x == d) {
            format!("list deploy '{d}' is given twice: remove one")
        } else {
            deploy.push(d.into());
            continue;
        };
        return Err(err(file, s, "deploy", &msg));
    }

    Ok(CertConf {
        name: name.into(),
        line: s.line,
        domains,
        provider: provider.map(String::from),
        key_type,
        deploy,
        profile,
        renew_days,
        acme_server,
        challenge,
        challenge_alias,
    })
}

/// `config ddns 'NAME'`: one DNS name kept pointing at the router's WAN
/// addresses, or (with `host_suffix` or `mac`) its AAAA at a LAN host.
#[derive(Debug, Clone, PartialEq)]
pub struct DdnsConf {
    pub name: String,
    /// Line of the `config ddns` statement.
    pub line: usize,
    /// `option enabled '0'` keeps the section but never runs it.
    pub enabled: bool,
    /// Name of a `config provider` section (checked to exist).
    pub provider: String,
    /// The record's name, lowercase.
    pub domain: String,
    /// Keep the A record current.
    pub ipv4: bool,
    /// Keep the AAAA record current.
    pub ipv6: bool,
    /// Where the addresses come from; `None`: ubus where it exists (OpenWrt),
    /// the kernel's view elsewhere.
    pub source: Option<AddrSource>,
    /// The WAN: a logical interface (`wan`) for ubus, a device (`pppoe-wan`)
    /// for the kernel's view. `None`: the one with the default route.
    pub interface: Option<String>,
    /// Where the LAN host lives, for `host`: `lan` (ubus) or `br-lan`
    /// (kernel) when `None`.
    pub lan_interface: Option<String>,
    /// Publish AAAA = the LAN's delegated prefix + this identifier.
    pub host: Option<HostId>,
    /// Echo services for `source web` and the NAT check, tried in order.
    pub web_urls: Vec<String>,
    /// argv of the command for `source script`.
    pub script: Vec<String>,
    pub ttl: u32,
    /// Re-check (and for dyndns2 services, re-send) an unchanged record after
    /// this long; zero: never.
    pub force_interval: Duration,
    /// What to do when the WAN IPv4 address is not the public one.
    pub cgnat: CgnatPolicy,
    /// Before sending a new IPv4 address, ask a web echo whether the
    /// Internet sees the same one.
    pub nat_check: bool,
    /// The section as written, for a digest of it (DDNS starts over when
    /// a record's configuration changes).
    pub section: Section,
}

/// Option `source` of a `config ddns` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSource {
    /// `ubus call network.interface dump` (netifd's view).
    Ubus,
    /// The kernel's view: `/proc/net/if_inet6`, `ip addr show`.
    Interface,
    /// What echo services on the Internet see.
    Web,
    /// The source address the kernel picks toward the Internet.
    Route,
    /// A command that prints the address.
    Script,
}

impl AddrSource {
    pub const NAMES: &[(&str, AddrSource)] = &[
        ("ubus", AddrSource::Ubus),
        ("interface", AddrSource::Interface),
        ("web", AddrSource::Web),
        ("route", AddrSource::Route),
        ("script", AddrSource::Script),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("?", |(n, _)| n)
    }
}

/// The interface identifier of a LAN host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostId {
    /// `option host_suffix '::1:2'`: the low bits, as written.
    Suffix(Ipv6Addr),
    /// `option mac '...'`: the modified EUI-64 identifier of this MAC.
    Mac([u8; 6]),
}

/// Option `cgnat`: the WAN IPv4 address is private, shared (100.64.0.0/10)
/// or not what the Internet sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgnatPolicy {
    /// Leave the A record alone (and warn): it would point at an address
    /// nobody outside can reach.
    Skip,
    /// Publish the address a web echo reports (the carrier's NAT address;
    /// reachable only if the carrier forwards ports).
    Web,
}

/// Defaults of a `config ddns` section.
pub const DDNS_TTL: u32 = 300;
pub const DDNS_FORCE_INTERVAL: Duration = Duration::from_secs(72 * 3600);

fn parse_ddns(
    file: &str,
    s: &Section,
    name: &str,
    providers: &[PluginSection],
) -> Result<DdnsConf> {
    warn_unknown(
        file,
        s,
        &[
            "enabled",
            "provider",
            "domain",
            "ipv4",
            "ipv6",
            "source",
            "interface",
            "lan_interface",
            "host_suffix",
            "mac",
            "web_url",
            "script",
            "ttl",
            "force_interval",
            "cgnat",
            "nat_check",
        ],
    );
    let Some(provider) = value(s, "provider") else {
        let msg = "option provider is missing: add `option provider 'NAME'` naming a config provider section";
        return Err(err(file, s, "provider", msg));
    };
    if !providers.iter().any(|p| p.name == provider) {
        let msg = format!(
            "option provider '{provider}' names no config provider section: add one or fix the name"
        );
        return Err(err(file, s, "provider", &msg));
    }
    let Some(domain) = value(s, "domain") else {
        let msg = "option domain is missing: add `option domain 'host.example.com'`";
        return Err(err(file, s, "domain", msg));
    };
    let lower = domain.to_ascii_lowercase();
    if let Some(why) = dns_name_error(lower.strip_prefix("*.").unwrap_or(&lower)) {
        let msg = format!("option domain '{domain}' is not a valid DNS name: {why}");
        return Err(err(file, s, "domain", &msg));
    }
    let enabled = boolean(file, s, "enabled", true)?;
    let ipv4 = boolean(file, s, "ipv4", true)?;
    let ipv6 = boolean(file, s, "ipv6", true)?;
    if !ipv4 && !ipv6 {
        let msg = "options ipv4 and ipv6 are both off: turn one on, or set option enabled '0'";
        return Err(err(file, s, "ipv6", msg));
    }
    let source = match value(s, "source") {
        None => None,
        Some(v) => match AddrSource::NAMES.iter().find(|(n, _)| *n == v) {
            Some((_, src)) => Some(*src),
            None => {
                let why = "is not ubus, interface, web, route or script";
                return Err(bad(file, s, "source", v, why));
            }
        },
    };
    let host = match (value(s, "host_suffix"), value(s, "mac")) {
        (Some(_), Some(_)) => {
            let msg = "set either option host_suffix or option mac, not both";
            return Err(err(file, s, "mac", msg));
        }
        (Some(v), None) => match v.parse::<Ipv6Addr>() {
            Ok(a) if a != Ipv6Addr::UNSPECIFIED => Some(HostId::Suffix(a)),
            _ => {
                let why = "is not an IPv6 interface identifier: write it like '::1:2' or '::211:32ff:fe12:3456'";
                return Err(bad(file, s, "host_suffix", v, why));
            }
        },
        (None, Some(v)) => match parse_mac(v) {
            Some(m) => Some(HostId::Mac(m)),
            None => {
                let why = "is not a MAC address: write it like '00:11:32:12:34:56'";
                return Err(bad(file, s, "mac", v, why));
            }
        },
        (None, None) => None,
    };
    if host.is_some()
        && let Some(src @ (AddrSource::Web | AddrSource::Route | AddrSource::Script)) = source
    {
        let key = if value(s, "mac").is_some() {
            "mac"
        } else {
            "host_suffix"
        };
        let msg = format!(
            "option {key} needs the LAN's prefix, which source '{}' cannot tell: use source 'ubus' or 'interface'",
            src.name()
        );
        return Err(err(file, s, key, &msg));
    }
    if host.is_some() && !ipv6 {
        let key = if value(s, "mac").is_some() {
            "mac"
        } else {
            "host_suffix"
        };
        let msg = format!("option {key} sets the AAAA record, but option ipv6 is off: turn it on");
        return Err(err(file, s, key, &msg));
    }
    let mut web_urls = Vec::new();
    for v in s.list("web_url") {
        if !is_url(v) {
            let msg = format!("list web_url '{v}' is not an http:// or https:// URL");
            return Err(err(file, s, "web_url", &msg));
        }
        web_urls.push(v.to_string());
    }
    let script: Vec<String> = s.list("script").into_iter().map(String::from).collect();
    if source == Some(AddrSource::Script) && script.first().is_none_or(|p| p.is_empty()) {
        let msg = "source 'script' needs the command: add `list script '/path/to/program'` (and one `list script` per argument)";
        return Err(err(file, s, "script", msg));
    }
    let ttl = match value(s, "ttl") {
        None => DDNS_TTL,
        Some(v) => match v.parse::<u32>() {
            Ok(n @ 1..=86400) if v.bytes().all(|c| c.is_ascii_digit()) => n,
            _ => {
                let why = "is not a number of seconds from 1 to 86400";
                return Err(bad(file, s, "ttl", v, why));
            }
        },
    };
    let force_interval = match value(s, "force_interval") {
        None => DDNS_FORCE_INTERVAL,
        Some(v) => duration(v).ok_or_else(|| {
            let why = "is not a duration: write seconds, or a number with s, m, h or d ('72h'); '0' turns it off";
            bad(file, s, "force_interval", v, why)
        })?,
    };
    let cgnat = match value(s, "cgnat") {
        None | Some("skip") => CgnatPolicy::Skip,
        Some("web") => CgnatPolicy::Web,
        Some(v) => return Err(bad(file, s, "cgnat", v, "is not skip or web")),
    };
    let nat_check = boolean(file, s, "nat_check", true)?;
    Ok(DdnsConf {
        name: name.into(),
        line: s.line,
        enabled,
        provider: provider.into(),
        domain: lower,
        ipv4,
        ipv6,
        source,
        interface: value(s, "interface").map(String::from),
        lan_interface: value(s, "lan_interface").map(String::from),
        host,
        web_urls,
        script,
        ttl,
        force_interval,
        cgnat,
        nat_check,
        section: s.clone(),
    })
}

/// A UCI boolean as libuci reads them (`1`, `yes`, `on`, `true`, `enabled`
/// and their opposites); `default` when unset.
fn boolean(file: &str, s: &Section, key: &str, default: bool) -> Result<bool> {
    match value(s, key) {
        None => Ok(default),
        Some("1" | "yes" | "on" | "true" | "enabled") => Ok(true),
        Some("0" | "no" | "off" | "false" | "disabled") => Ok(false),
        Some(v) => Err(bad(file, s, key, v, "is not a boolean: write '1' or '0'")),
    }
}

/// `option KEY 'V' WHY` at the option's line: one formatting site for the
/// many value errors, which saves code on the router's flash.
#[inline(never)]
fn bad(file: &str, s: &Section, key: &str, v: &str, why: &str) -> Error {
    err(file, s, key, &format!("option {key} '{v}' {why}"))
}

/// `90`, `90s`, `15m`, `72h`, `3d`: a whole number of seconds, minutes,
/// hours or days.
fn duration(v: &str) -> Option<Duration> {
    let (digits, unit) = match v.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, 's'),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return None,
    };
    n.checked_mul(scale).map(Duration::from_secs)
}

/// `00:11:32:12:34:56` or with dashes.
fn parse_mac(v: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = v.split([':', '-']);
    for b in &mut out {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    const FILE: &str = "/etc/config/wancert";

    const FULL: &str = "# wancert
config wancert 'global'
\toption acme_server 'letsencrypt-staging'
\toption email 'admin@example.com'
\toption ca_file '/etc/wancert/extra.pem'
\toption state_dir '/srv/wancert'
\toption run_dir '/tmp/wancert'
\tlist propagation_server '1.1.1.1:53'
\tlist propagation_server '[2606:4700:4700::1111]:53'
\tlist propagation_server 'ns1.example.net:5353'
\tlist doh_server 'https://doh.example.net/dns-query'
\toption propagation_timeout '600'
\toption propagation_interval '1'

config cert 'nas'
\tlist domain 'NAS.Example.com'
\tlist domain '*.nas.example.com'
\toption provider 'home'
\toption key_type 'ec384'
\tlist deploy 'uhttpd'
\tlist deploy 'copy'

config cert 'www'
\tlist domain 'www.example.org'
\toption provider 'home'

config provider 'home'
\toption type 'rfc2136'
\toption server '192.168.1.2'
\tlist zone 'example.com'

config deploy 'uhttpd'
\toption type 'uhttpd'

config deploy 'copy'
\toption type 'copy'
\toption dir '/mnt/certs'
";

    fn ok(text: &str) -> Config {
        parse(FILE, text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The line and message of the error `text` gives.
    fn fails(text: &str) -> (usize, String) {
        match parse(FILE, text) {
            Err(Error::Config { file, line, msg }) if file == FILE => (line, msg),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    /// Assert the error is at `line` and contains every one of `words`.
    fn fails_with(text: &str, line: usize, words: &[&str]) {
        let (l, msg) = fails(text);
        assert_eq!(l, line, "{msg}");
        for w in words {
            assert!(msg.contains(w), "{msg:?} lacks {w:?}");
        }
    }

    /// A valid file with one cert, `extra` appended inside its section.
    fn cert(extra: &str) -> String {
        format!(
            "config provider 'p'\n\toption type 'x'\nconfig deploy 'd'\n\toption type 'y'\n\
             config cert 'c'\n\toption provider 'p'\n{extra}"
        )
    }

    thread_local!(static LOGGED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) });

    /// Collects this thread's log records, so that parallel tests do not
    /// see each other's.
    struct Capture;
    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata) -> bool {
            true
        }
        fn log(&self, r: &log::Record) {
            LOGGED.with(|l| l.borrow_mut().push(format!("{}: {}", r.level(), r.args())));
        }
        fn flush(&self) {}
    }
    static CAPTURE: Capture = Capture;

    fn warnings(text: &str) -> Vec<String> {
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Trace);
        LOGGED.with(|l| l.borrow_mut().clear());
        ok(text);
        LOGGED.with(|l| l.take())
    }

    #[test]
    fn full_file() {
        let c = ok(FULL);
        assert_eq!(c.file, FILE);
        let g = &c.global;
        assert_eq!(
            g.acme_server,
            "https://acme-staging-v02.api.letsencrypt.org/directory"
        );
        assert_eq!(g.email.as_deref(), Some("admin@example.com"));
        assert_eq!(g.ca_file, Some(PathBuf::from("/etc/wancert/extra.pem")));
        assert_eq!(g.state_dir, PathBuf::from("/srv/wancert"));
        assert_eq!(g.run_dir, PathBuf::from("/tmp/wancert"));
        let p = &g.propagation;
        assert_eq!(
            p.servers,
            [
                "1.1.1.1:53",
                "[2606:4700:4700::1111]:53",
                "ns1.example.net:5353"
            ]
        );
        assert_eq!(p.doh_servers, ["https://doh.example.net/dns-query"]);
        assert_eq!(p.timeout, Duration::from_secs(600));
        assert_eq!(p.interval, Duration::from_secs(1));
        assert_eq!(p.wait, None);
        assert_eq!(&c.propagation("home").unwrap(), p);

        assert_eq!(c.certs.len(), 2);
        let nas = c.cert("nas").unwrap();
        assert_eq!(nas.line, 15);
        assert_eq!(nas.domains, ["nas.example.com", "*.nas.example.com"]);
        assert_eq!(nas.provider.as_deref(), Some("home"));
        assert_eq!(nas.key_type, KeyType::Ec384);
        assert_eq!(nas.deploy, ["uhttpd", "copy"]);
        let www = c.cert("www").unwrap();
        assert_eq!((www.key_type, www.deploy.len()), (KeyType::Ec256, 0));
        assert!(c.cert("nope").is_none());

        let home = c.provider("home").unwrap();
        assert_eq!((home.kind.as_str(), home.file.as_str()), ("rfc2136", FILE));
        assert_eq!(home.optional("server"), Some("192.168.1.2"));
        assert_eq!(home.list("zone"), ["example.com"]);
        assert_eq!(
            c.deploy("copy").unwrap().required("dir").unwrap(),
            "/mnt/certs"
        );
        assert!(c.deploy("home").is_none() && c.provider("copy").is_none());
    }

    #[test]
    fn defaults() {
        for text in [
            "",
            "config wancert 'global'\n",
            "config wancert\n\toption email ''\n",
        ] {
            let g = ok(text).global;
            assert_eq!(
                g.acme_server,
                "https://acme-v02.api.letsencrypt.org/directory"
            );
            assert_eq!((g.email, g.ca_file), (None, None));
            assert_eq!(g.state_dir, PathBuf::from("/etc/wancert"));
            assert_eq!(g.run_dir, PathBuf::from("/var/run/wancert"));
            assert_eq!(g.propagation, Propagation::default());
            assert!(g.propagation.servers.is_empty());
            assert_eq!(g.propagation.doh_servers, DOH_SERVERS);
            assert_eq!(g.propagation.timeout, Duration::from_secs(300));
            assert_eq!(g.propagation.interval, Duration::from_secs(5));
            assert_eq!(g.propagation.wait, None);
            assert_eq!(g.firewall_config, PathBuf::from("/etc/config/firewall"));
        }
        let c = ok("");
        assert!(c.certs.is_empty() && c.providers.is_empty() && c.deploys.is_empty());
    }

    #[test]
    fn firewall_config() {
        let c = ok("config wancert\n\toption firewall_config '/tmp/firewall'\n");
        assert_eq!(c.global.firewall_config, PathBuf::from("/tmp/firewall"));
    }

    #[test]
    fn acme_server() {
        let server = |v: &str| {
            ok(&format!("config wancert\n\toption acme_server '{v}'\n"))
                .global
                .acme_server
        };
        assert_eq!(
            server("letsencrypt"),
            "https://acme-v02.api.letsencrypt.org/directory"
        );
        assert_eq!(server("zerossl"), "https://acme.zerossl.com/v2/DV90");
        assert_eq!(
            server("google"),
            "https://dv.acme-v02.api.pki.goog/directory"
        );
        assert_eq!(server("https://ca.lan/dir"), "https://ca.lan/dir");
        assert_eq!(
            server("http://localhost:14000/dir"),
            "http://localhost:14000/dir"
        );
        for bad in [
            "foo",
            "ftp://x/",
            "https://",
            "https:///dir",
            "https://a b/",
            "Letsencrypt",
        ] {
            let (line, msg) = fails(&format!(
                "# c\nconfig wancert 'global'\n\toption acme_server '{bad}'\n"
            ));
            assert_eq!(line, 3);
            assert_eq!(
                msg,
                format!(
                    "config wancert 'global': option acme_server '{bad}' is not a URL or one of letsencrypt, letsencrypt-staging, zerossl, google"
                )
            );
        }
    }

    #[test]
    fn global_errors() {
        let g = |body: &str| format!("config wancert 'global'\n{body}\n");
        fails_with(
            &g("\toption email 'me'"),
            2,
            &["option email 'me'", "name@example.com"],
        );
        fails_with(&g("\toption email 'me@localhost'"), 2, &["option email"]);
        fails_with(&g("\toption email 'a b@example.com'"), 2, &["option email"]);
        fails_with(
            &g("\toption ca_file 'extra.pem'"),
            2,
            &["option ca_file 'extra.pem'", "absolute", "/"],
        );
        fails_with(
            &g("\toption state_dir 'wancert'"),
            2,
            &["option state_dir 'wancert'", "absolute"],
        );
        fails_with(
            &g("\toption firewall_config 'firewall'"),
            2,
            &["option firewall_config 'firewall'", "absolute"],
        );
        fails_with(
            &g("\toption run_dir 'run'"),
            2,
            &["option run_dir 'run'", "absolute"],
        );
        for bad in [
            "1.1.1.1",
            "::1:53",
            "[::1]",
            "[::1]:",
            "[::1]:x",
            "[zz]:53",
            "1.1.1.1:0",
            "1.1.1.1:65536",
            "ns_1.x:53",
            ":53",
            "1.1.1.1:+53",
        ] {
            let (line, msg) = fails(&g(&format!(
                "\n\tlist propagation_server '8.8.8.8:53'\n\tlist propagation_server '{bad}'"
            )));
            assert_eq!(line, 3, "{bad}");
            assert!(
                msg.contains(&format!("list propagation_server '{bad}' is not host:port")),
                "{msg}"
            );
        }
        for bad in ["dns.google", "https://", "tls://dns.google"] {
            fails_with(
                &g(&format!("\tlist doh_server '{bad}'")),
                2,
                &[&format!("list doh_server '{bad}' is not a URL")],
            );
        }
        for key in [
            "propagation_timeout",
            "propagation_interval",
            "propagation_wait",
        ] {
            for bad in ["0", "-1", "5s", "1.5", "+5", "99999999999"] {
                let (line, msg) = fails(&g(&format!("\toption {key} '{bad}'")));
                assert_eq!(line, 2);
                assert!(msg.starts_with(&format!("config wancert 'global': option {key} '{bad}' is not a whole number of seconds")), "{msg}");
            }
        }
    }

    #[test]
    fn provider_sections_override_the_propagation_settings() {
        let text = "config wancert 'global'
\tlist propagation_server '192.0.2.1:53'
\toption propagation_timeout '100'
config provider 'slow'
\toption type 'x'
\toption propagation_timeout '900'
\toption propagation_interval '30'
config provider 'blind'
\toption type 'x'
\toption propagation_wait '120'
\tlist doh_server 'https://doh.lan/dns-query'
config provider 'own'
\toption type 'x'
\tlist propagation_server '192.0.2.9:5353'
\tlist propagation_server ''
";
        let c = ok(text);
        let slow = c.propagation("slow").unwrap();
        assert_eq!(slow.servers, ["192.0.2.1:53"]);
        assert_eq!(
            (slow.timeout, slow.interval, slow.wait),
            (Duration::from_secs(900), Duration::from_secs(30), None)
        );
        let blind = c.propagation("blind").unwrap();
        assert_eq!(blind.wait, Some(Duration::from_secs(120)));
        assert_eq!(blind.timeout, Duration::from_secs(100));
        assert_eq!(blind.doh_servers, ["https://doh.lan/dns-query"]);
        assert_eq!(blind.servers, ["192.0.2.1:53"]);
        let own = c.propagation("own").unwrap();
        assert_eq!(own.servers, ["192.0.2.9:5353"], "replaces the global list");
        assert_eq!(own.doh_servers, DOH_SERVERS);
        // A bad value in a provider section is found when the file is read.
        fails_with(
            "config provider 'p'\n\toption type 'x'\n\toption propagation_interval '5s'\n",
            3,
            &["config provider 'p': option propagation_interval '5s'"],
        );
        fails_with(
            "config provider 'p'\n\toption type 'x'\n\tlist propagation_server 'x'\n",
            3,
            &["list propagation_server 'x' is not host:port"],
        );
    }

    #[test]
    fn one_wancert_section() {
        fails_with(
            "config wancert 'global'\n\nconfig wancert 'other'\n",
            3,
            &["config wancert 'other'", "line 1", "merge"],
        );
        fails_with(
            "config wancert\nconfig wancert\n",
            2,
            &["config wancert: there is already"],
        );
    }

    #[test]
    fn plugin_sections() {
        for ty in ["provider", "deploy"] {
            fails_with(
                &format!("config {ty}\n\toption type 'x'\n"),
                1,
                &[&format!("config {ty}: needs a name"), "config cert refers"],
            );
            fails_with(
                &format!("config {ty} 'a'\n\toption server 'x'\n"),
                1,
                &[
                    &format!("config {ty} 'a': option type is missing"),
                    "option type '...'",
                    ty,
                ],
            );
            fails_with(
                &format!("config {ty} 'a'\n\toption type ''\n"),
                2,
                &["option type is missing"],
            );
            fails_with(
                &format!(
                    "config {ty} 'a'\n\toption type 'x'\nconfig {ty} 'a'\n\toption type 'y'\n"
                ),
                3,
                &[&format!(
                    "config {ty} 'a': is defined twice (first at line 1)"
                )],
            );
        }
        // The same name for a provider and a deploy section is fine.
        let c =
            ok("config provider 'a'\n\toption type 'x'\nconfig deploy 'a'\n\toption type 'y'\n");
        assert_eq!(
            (
                c.provider("a").unwrap().kind.as_str(),
                c.deploy("a").unwrap().kind.as_str()
            ),
            ("x", "y")
        );
    }

    #[test]
    fn plugin_section_errors_name_the_line() {
        let c = ok(FULL);
        let home = c.provider("home").unwrap();
        let e = home.required("key").unwrap_err().to_string();
        assert_eq!(
            e,
            "/etc/config/wancert:27: config provider 'home': option 'key' is missing: add `option key '...'`"
        );
        assert!(!home.flag("tcp", false).unwrap() && home.flag("tcp", true).unwrap());
        let p = |v: &str| {
            ok(&format!(
                "config provider 'p'\n\toption type 'x'\n\toption tcp '{v}'\n"
            ))
            .providers
            .remove(0)
        };
        assert!(p("1").flag("tcp", false).unwrap() && p("on").flag("tcp", false).unwrap());
        assert!(!p("0").flag("tcp", true).unwrap() && !p("no").flag("tcp", true).unwrap());
        let e = p("maybe").flag("tcp", false).unwrap_err().to_string();
        assert!(
            e.contains(":3:") && e.contains("option tcp 'maybe' is not a boolean"),
            "{e}"
        );
        let e = home.error("server", "bad address").to_string();
        assert_eq!(
            e,
            "/etc/config/wancert:29: config provider 'home': bad address"
        );
    }

    #[test]
    fn cert_names() {
        let c = ok(&cert("\tlist domain 'a.example.com'\n"));
        assert_eq!(c.cert("c").unwrap().line, 5);
        fails_with(
            "config cert\n\tlist domain 'a.b'\n",
            1,
            &["config cert: needs a name", "command line"],
        );
        let dup = format!(
            "{}config cert 'c'\n\tlist domain 'b.example.com'\n\toption provider 'p'\n",
            cert("\tlist domain 'a.example.com'\n")
        );
        fails_with(
            &dup,
            8,
            &["config cert 'c': is defined twice (first at line 5)"],
        );
    }

    #[test]
    fn domains() {
        let c = ok(&cert(
            "\tlist domain 'A.Example.COM'\n\tlist domain '*.example.com'\n\tlist domain 'xn--grse-0ra.de'\n\tlist domain 'a-b.c0'\n",
        ));
        assert_eq!(
            c.certs[0].domains,
            [
                "a.example.com",
                "*.example.com",
                "xn--grse-0ra.de",
                "a-b.c0"
            ]
        );
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long.len(), 253);
        assert_eq!(
            ok(&cert(&format!("\tlist domain '{long}'\n"))).certs[0].domains[0],
            long
        );

        fails_with(
            &cert(""),
            5,
            &[
                "config cert 'c': list domain is missing",
                "list domain 'host.example.com'",
            ],
        );
        fails_with(&cert("\tlist domain ''\n"), 7, &["list domain ''", "empty"]);
        let bad = [
            ("a..b", "empty"),
            (".a.b", "empty"),
            ("a.b.", "empty"),
            ("-a.b", "label '-a' starts or ends with -"),
            ("a-.b", "starts or ends with -"),
            (
                "a_b.c",
                "label 'a_b' has characters other than letters, digits and -",
            ),
            ("a b.c", "other than letters"),
            ("grüße.de", "xn--"),
            ("a.*.b", "*.example.com"),
            ("*", "*.example.com"),
            ("**.a.b", "*.example.com"),
            ("*.*.a.b", "*.example.com"),
            ("192.168.1.1", "IP address"),
            ("https://a.b", "other than letters"),
        ];
        for (d, why) in bad {
            let text = cert(&format!(
                "\tlist domain 'ok.example.com'\n\tlist domain '{d}'\n"
            ));
            fails_with(
                &text,
                7,
                &[
                    &format!("config cert 'c': list domain '{d}' is not a valid DNS name"),
                    why,
                ],
            );
        }
        let over = format!("{long}a");
        fails_with(
            &cert(&format!("\tlist domain '{over}'\n")),
            7,
            &["longer than 253"],
        );
        let label = format!("{}.com", "a".repeat(64));
        fails_with(
            &cert(&format!("\tlist domain '{label}'\n")),
            7,
            &["longer than 63"],
        );
        fails_with(
            &cert("\tlist domain 'a.example.com'\n\tlist domain 'A.example.com'\n"),
            7,
            &["list domain 'A.example.com' is given twice: remove one"],
        );
    }

    #[test]
    fn cert_provider() {
        let text = "config cert 'nas'\n\tlist domain 'nas.example.com'\n\toption provider 'cf'\n";
        let (line, msg) = fails(text);
        assert_eq!(line, 3);
        assert_eq!(
            msg,
            "config cert 'nas': option provider 'cf' names no config provider section: add one or fix the name"
        );
        // A deploy section of that name does not count.
        fails_with(
            &format!("{text}config deploy 'cf'\n\toption type 'x'\n"),
            3,
            &["names no config provider section"],
        );
        fails_with(
            "config cert 'nas'\n\tlist domain 'a.b'\n",
            1,
            &[
                "config cert 'nas': option provider is missing",
                "option provider 'NAME'",
            ],
        );
        // Referring to a section further down the file is fine.
        ok(&format!("{text}config provider 'cf'\n\toption type 'x'\n"));
    }

    #[test]
    fn key_type() {
        let kt = |v: &str| {
            ok(&cert(&format!(
                "\tlist domain 'a.b'\n\toption key_type '{v}'\n"
            )))
            .certs[0]
                .key_type
        };
        assert_eq!(
            (kt("ec256"), kt("ec384"), kt("")),
            (KeyType::Ec256, KeyType::Ec384, KeyType::Ec256)
        );
        for bad in ["rsa1024", "EC256", "ec521"] {
            let text = cert(&format!("\tlist domain 'a.b'\n\toption key_type '{bad}'\n"));
            fails_with(
                &text,
                8,
                &[&format!(
                    "config cert 'c': option key_type '{bad}' is not ec256, ec384, rsa2048"
                )],
            );
        }
        for rsa in ["rsa2048", "rsa3072", "rsa4096"] {
            let text = cert(&format!("\tlist domain 'a.b'\n\toption key_type '{rsa}'\n"));
            if cfg!(feature = "rsa") {
                assert_eq!(ok(&text).certs[0].key_type.name(), rsa);
            } else {
                fails_with(&text, 8, &["cargo feature rsa"]);
            }
        }
    }

    #[test]
    fn cert_deploy() {
        let c = ok(&cert("\tlist domain 'a.b'\n\tlist deploy 'd'\n"));
        assert_eq!(c.certs[0].deploy, ["d"]);
        fails_with(
            &cert("\tlist domain 'a.b'\n\tlist deploy 'd'\n\tlist deploy 'x'\n"),
            8,
            &[
                "config cert 'c': list deploy 'x' names no config deploy section: add one or fix the name",
            ],
        );
        fails_with(
            &cert("\tlist domain 'a.b'\n\tlist deploy 'p'\n"),
            8,
            &["list deploy 'p' names no config deploy section"],
        );
        fails_with(
            &cert("\tlist domain 'a.b'\n\tlist deploy 'd'\n\tlist deploy 'd'\n"),
            8,
            &["list deploy 'd' is given twice: remove one"],
        );
    }

    #[test]
    fn syntax_errors_become_config_errors() {
        let e = parse(FILE, "config cert 'nas'\n\tlist domain 'a.b\n").unwrap_err();
        assert!(matches!(&e, Error::Config { line: 2, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "/etc/config/wancert:2: unterminated quote: the ' opened on this line is never closed"
        );
        fails_with(
            "option email 'a@b.c'\n",
            1,
            &["option outside a config section"],
        );
    }

    #[test]
    fn unknown_things_are_warnings() {
        let text = format!(
            "config wancert 'global'\n\toption acme_srever 'x'\nconfig frobnicate 'home'\n\toption foo 'bar'\n{}",
            cert("\tlist domain 'a.b'\n\toption renew_dayz '30'\n\toption extra ''\n")
        );
        let w = warnings(&text);
        assert_eq!(
            w,
            [
                "WARN: /etc/config/wancert:3: unknown section type 'config frobnicate' ignored",
                "WARN: /etc/config/wancert:2: config wancert 'global': unknown option 'acme_srever' ignored",
                "WARN: /etc/config/wancert:12: config cert 'c': unknown option 'renew_dayz' ignored",
                "WARN: /etc/config/wancert:13: config cert 'c': unknown option 'extra' ignored",
            ]
        );
        // Provider and deploy options belong to their plug-ins: no warnings.
        assert!(warnings(FULL).is_empty());
    }

    #[test]
    fn notify_sections_and_their_global_options() {
        let c = ok(&format!(
            "config wancert 'g'\n\toption notify_interval '3600'\n\toption expiry_warn_days '20'\n\
             config notify 'phone'\n\toption type 'ntfy'\n\toption topic 't'\n\
             config notify\n\toption type 'webhook'\n{}",
            cert("\tlist domain 'a.b'\n")
        ));
        assert_eq!(c.global.notify_interval, Duration::from_secs(3600));
        assert_eq!(c.global.expiry_warn_days, 20);
        let names: Vec<_> = c.notifiers.iter().map(|n| (&*n.name, &*n.kind)).collect();
        assert_eq!(names, [("phone", "ntfy"), ("notify[1]", "webhook")]);
        assert_eq!(c.notifiers[0].optional("topic"), Some("t"));
        assert_eq!(
            ok(&cert("\tlist domain 'a.b'\n")).global.expiry_warn_days,
            14
        );
        fails_with(
            "config notify 'x'\n\toption topic 't'\n",
            1,
            &["option type is missing", "wancert notifiers"],
        );
        fails_with(
            "config wancert 'g'\n\toption expiry_warn_days 'soon'\n",
            2,
            &["expiry_warn_days 'soon'"],
        );
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn section(extra: &str) -> PluginSection {
        let text = format!("config provider 'p'\n\toption type 'x'\n{extra}");
        parse("/c", &text).unwrap().providers.remove(0)
    }

    #[test]
    fn secret_inline_from_file_and_refusals() {
        assert_eq!(
            section("\toption token 's3cret'\n")
                .secret("token")
                .unwrap(),
            "s3cret"
        );

        let path = std::env::temp_dir().join(format!("wancert-secret-{}", std::process::id()));
        std::fs::write(&path, "filesecret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = section(&format!("\toption token_file '{}'\n", path.display()));
        assert_eq!(s.secret("token").unwrap(), "filesecret");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = s.secret("token").unwrap_err().to_string();
        assert!(
            err.contains("readable by others") && err.contains("chmod 600"),
            "{err}"
        );
        assert!(!err.contains("filesecret"));
        std::fs::remove_file(&path).unwrap();

        let err = section("").secret("token").unwrap_err().to_string();
        assert!(err.contains("token_file"), "{err}");
        let both = section(&format!(
            "\toption token 'a'\n\toption token_file '{}'\n",
            path.display()
        ));
        assert!(
            both.secret("token")
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
    }
}

#[cfg(test)]
mod ddns_tests {
    use super::*;

    const HEAD: &str = "config provider 'p'\n\toption type 'rfc2136'\nconfig ddns 'home'\n";

    fn ddns(body: &str) -> DdnsConf {
        parse("/c", &format!("{HEAD}{body}"))
            .unwrap_or_else(|e| panic!("{e}"))
            .ddns
            .remove(0)
    }

    fn fails(body: &str) -> String {
        match parse("/c", &format!("{HEAD}{body}")) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("parsed: {:?}", c.ddns),
        }
    }

    const MIN: &str = "\toption provider 'p'\n\toption domain 'Home.Example.com'\n";

    #[test]
    fn defaults() {
        let d = ddns(MIN);
        assert_eq!(
            d,
            DdnsConf {
                name: "home".into(),
                line: 3,
                enabled: true,
                provider: "p".into(),
                domain: "home.example.com".into(),
                ipv4: true,
                ipv6: true,
                source: None,
                interface: None,
                lan_interface: None,
                host: None,
                web_urls: vec![],
                script: vec![],
                ttl: DDNS_TTL,
                force_interval: DDNS_FORCE_INTERVAL,
                cgnat: CgnatPolicy::Skip,
                nat_check: true,
                section: d.section.clone(),
            }
        );
        assert_eq!(d.section.value("domain"), Some("Home.Example.com"));
        assert_eq!(Global::default().ubus, "ubus");
        let g = parse("/c", "config wancert\n\toption ubus '/tmp/fake-ubus'\n").unwrap();
        assert_eq!(g.global.ubus, "/tmp/fake-ubus");
    }

    #[test]
    fn every_option() {
        let d = ddns(&format!(
            "{MIN}\toption enabled 'no'\n\toption ipv4 '0'\n\toption source 'interface'\n\toption interface 'pppoe-wan'\n\toption lan_interface 'br-lan'\n\toption mac '00-11-32-12-34-56'\n\tlist web_url 'https://a.example/ip'\n\toption ttl '60'\n\toption force_interval '3d'\n\toption cgnat 'web'\n\toption nat_check 'off'\n"
        ));
        assert!(!d.enabled && !d.ipv4 && d.ipv6 && !d.nat_check);
        assert_eq!(d.source, Some(AddrSource::Interface));
        assert_eq!(d.interface.as_deref(), Some("pppoe-wan"));
        assert_eq!(d.lan_interface.as_deref(), Some("br-lan"));
        assert_eq!(d.host, Some(HostId::Mac([0, 0x11, 0x32, 0x12, 0x34, 0x56])));
        assert_eq!(d.web_urls, ["https://a.example/ip"]);
        assert_eq!(
            (d.ttl, d.force_interval),
            (60, Duration::from_secs(3 * 86400))
        );
        assert_eq!(d.cgnat, CgnatPolicy::Web);
        let d = ddns(&format!(
            "{MIN}\toption host_suffix '::1:2'\n\toption source 'ubus'\n"
        ));
        assert_eq!(d.host, Some(HostId::Suffix("::1:2".parse().unwrap())));
        let d = ddns(&format!(
            "{MIN}\toption source 'script'\n\tlist script '/bin/myip'\n\tlist script '-4'\n"
        ));
        assert_eq!(d.script, ["/bin/myip", "-4"]);
        for (v, secs) in [
            ("90", 90),
            ("90s", 90),
            ("15m", 900),
            ("72h", 259200),
            ("0", 0),
        ] {
            let d = ddns(&format!("{MIN}\toption force_interval '{v}'\n"));
            assert_eq!(d.force_interval, Duration::from_secs(secs), "{v}");
        }
    }

    #[test]
    fn errors_name_the_option_and_the_fix() {
        let cases: &[(&str, &[&str])] = &[
            (
                "\toption domain 'a.example.com'\n",
                &["option provider is missing"],
            ),
            (
                "\toption provider 'x'\n\toption domain 'a.b'\n",
                &["names no config provider section"],
            ),
            ("\toption provider 'p'\n", &["option domain is missing"]),
            (
                "\toption provider 'p'\n\toption domain 'a..b'\n",
                &["not a valid DNS name"],
            ),
        ];
        for (body, words) in cases {
            let e = fails(body);
            for w in *words {
                assert!(e.contains(w), "{e}");
            }
        }
        let with = |extra: &str| fails(&format!("{MIN}{extra}"));
        let e = with("\toption ipv4 '0'\n\toption ipv6 'off'\n");
        assert!(e.contains("both off") && e.contains("enabled"), "{e}");
        assert!(with("\toption ipv4 'maybe'\n").contains("not a boolean"));
        assert!(
            with("\toption source 'dns'\n").contains("not ubus, interface, web, route or script")
        );
        let e = with("\toption host_suffix '::1'\n\toption mac '00:11:22:33:44:55'\n");
        assert!(e.contains("not both"), "{e}");
        assert!(with("\toption host_suffix 'nas'\n").contains("'::1:2'"));
        assert!(with("\toption mac '00:11:22:33:44'\n").contains("not a MAC address"));
        let e = with("\toption host_suffix '::1:2'\n\toption source 'web'\n");
        assert!(e.contains("source 'ubus' or 'interface'"), "{e}");
        assert!(
            with("\toption mac '00:11:22:33:44:55'\n\toption ipv6 '0'\n")
                .contains("option ipv6 is off")
        );
        assert!(with("\tlist web_url 'ip.example'\n").contains("not an http:// or https:// URL"));
        let e = with("\toption source 'script'\n");
        assert!(e.contains("list script '/path/to/program'"), "{e}");
        for bad in ["0", "86401", "1m", "-5"] {
            assert!(
                with(&format!("\toption ttl '{bad}'\n")).contains("option ttl"),
                "{bad}"
            );
        }
        for bad in ["h", "1.5h", "3w", "-1", "99999999999999999999d"] {
            assert!(
                with(&format!("\toption force_interval '{bad}'\n")).contains("not a duration"),
                "{bad}"
            );
        }
        assert!(with("\toption cgnat 'publish'\n").contains("not skip or web"));
        let e = fails(&format!("{MIN}config ddns 'home'\n{MIN}"));
        assert!(e.contains("defined twice"), "{e}");
        let anonymous = format!("{HEAD}{MIN}").replace("config ddns 'home'", "config ddns");
        let e = parse("/c", &anonymous).unwrap_err();
        assert!(e.to_string().contains("needs a name"), "{e}");
    }
}

#[cfg(test)]
mod acme_option_tests {
    use super::*;

    const FILE: &str = "/c";

    fn cert(extra: &str) -> String {
        format!(
            "config provider 'p'\n\toption type 'x'\nconfig cert 'c'\n\tlist domain 'a.example'\n{extra}"
        )
    }

    fn error(text: &str) -> String {
        parse(FILE, text).unwrap_err().to_string()
    }

    #[test]
    fn cert_acme_options() {
        let c = parse(
            FILE,
            &cert(
                "\toption provider 'p'\n\toption profile 'shortlived'\n\toption renew_days '20'\n\toption acme_server 'zerossl'\n\toption challenge_alias 'A.Delegate.example.'\n",
            ),
        )
        .unwrap();
        let c = &c.certs[0];
        assert_eq!(c.profile.as_deref(), Some("shortlived"));
        assert_eq!(c.renew_days, Some(20));
        assert_eq!(
            c.acme_server.as_deref(),
            Some("https://acme.zerossl.com/v2/DV90")
        );
        assert_eq!(c.challenge, ChallengeType::Dns01);
        assert_eq!(c.challenge_alias.as_deref(), Some("a.delegate.example"));
        let g = Global::default();
        assert_eq!(c.server(&g), "https://acme.zerossl.com/v2/DV90");

        // dns-persist-01 needs no provider.
        let c = parse(FILE, &cert("\toption challenge 'dns-persist-01'\n")).unwrap();
        assert_eq!(c.certs[0].challenge, ChallengeType::DnsPersist01);
        assert_eq!(c.certs[0].provider, None);
        assert_eq!(c.certs[0].server(&g), g.acme_server);

        for (extra, words) in [
            ("", "option provider is missing"),
            (
                "\toption provider 'p'\n\toption renew_days '0'\n",
                "renew_days '0' is not a whole number of days",
            ),
            (
                "\toption provider 'p'\n\toption renew_days '30d'\n",
                "renew_days '30d'",
            ),
            (
                "\toption provider 'p'\n\toption challenge 'http-01'\n",
                "option challenge 'http-01' is not dns-01 or dns-persist-01",
            ),
            (
                "\toption provider 'p'\n\toption acme_server 'nope'\n",
                "option acme_server 'nope' is not a URL",
            ),
            (
                "\toption provider 'p'\n\toption challenge_alias 'a..b'\n",
                "challenge_alias 'a..b' is not a valid DNS name",
            ),
            (
                "\toption challenge 'dns-persist-01'\n\toption challenge_alias 'x.example'\n",
                "challenge_alias is for dns-01 only",
            ),
        ] {
            let e = error(&cert(extra));
            assert!(e.contains(words), "{e}");
        }
    }

    #[test]
    fn eab_and_account_key_type() {
        let g = |body: &str| parse(FILE, &format!("config wancert 'global'\n{body}"));
        let c = g("\toption eab_kid 'kid-1'\n\toption eab_hmac_key 'c2VjcmV0LWtleS0xMjM0NTY3ODkw'\n\toption account_key_type 'ec384'\n").unwrap();
        let eab = c.global.eab.as_ref().unwrap();
        assert_eq!(eab.kid, "kid-1");
        assert!(
            !format!("{:?}", c.global).contains("c2VjcmV0"),
            "the key is not in debug output"
        );
        assert_eq!(c.global.account_key_type, KeyType::Ec384);
        for (body, words) in [
            ("\toption eab_kid 'k'\n", "needs option eab_hmac_key"),
            ("\toption eab_hmac_key 'c2VjcmV0'\n", "needs option eab_kid"),
            (
                "\toption eab_kid 'k'\n\toption eab_hmac_key 'not base64!'\n",
                "not base64url",
            ),
            (
                "\toption account_key_type 'rsa2048'\n",
                "account_key_type 'rsa2048' is not ec256 or ec384",
            ),
        ] {
            let e = g(body).unwrap_err().to_string();
            assert!(e.contains(words), "{e}");
            assert!(!e.contains("c2VjcmV0"), "the key is not shown: {e}");
        }
        let path = std::env::temp_dir().join(format!("wancert-eab-{}", std::process::id()));
        std::fs::write(&path, "c2VjcmV0LWtleQ\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = g(&format!(
            "\toption eab_kid 'k'\n\toption eab_hmac_key_file '{}'\n",
            path.display()
        ))
        .unwrap();
        assert_eq!(c.global.eab.unwrap().hmac_key, "c2VjcmV0LWtleQ");
        std::fs::remove_file(path).unwrap();
    }
}
