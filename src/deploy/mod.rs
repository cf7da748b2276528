//! Deployers: the registry. A deployer is one file here that puts a freshly
//! installed certificate where a service reads it and reloads the service.
//!
//! Every `config deploy` section may also say, whatever its type:
//! - `option redirect 'NAME'`: the port forward (`config redirect` in the
//!   firewall configuration) in front of the service; its internal host and
//!   port are the target's, and follow the forward when it changes;
//! - `option verify 'HOST:PORT'` (or `'off'`): where to check over TLS that
//!   the service serves the new certificate after the deploy. Without it, the
//!   forward's host and port, else what the deployer knows (uhttpd's own
//!   `listen_https`), else nothing is checked.

use std::cell::OnceCell;
use std::path::Path;

use crate::clock::Clock;
use crate::config::PluginSection;
use crate::firewall::{self, Forward};
use crate::http::Http;
use crate::verify::Endpoint;
use crate::{Error, Result, store};

pub mod file;
pub mod ssh;
pub mod uhttpd;
pub mod webhook;

/// What a deployer gets: the certificate as text, and where wancert keeps it.
pub struct Material<'a> {
    pub cert_name: &'a str,
    /// The certificate's names, the first one being its subject.
    pub domains: &'a [String],
    pub key_pem: &'a str,
    /// Leaf first, then the intermediates.
    pub fullchain_pem: &'a str,
    pub key_path: &'a Path,
    pub fullchain_path: &'a Path,
}

impl Material<'_> {
    /// The leaf certificate block and the rest of the chain, as PEM text.
    pub fn split_chain(&self) -> (&str, &str) {
        const END: &str = "-----END CERTIFICATE-----";
        match self.fullchain_pem.find(END) {
            Some(i) => {
                let (leaf, rest) = self.fullchain_pem.split_at(i + END.len());
                (leaf, rest.trim_start_matches(['\r', '\n']))
            }
            None => (self.fullchain_pem, ""),
        }
    }
}

/// What a deployer may use besides its own options.
pub struct Env<'a> {
    pub http: &'a dyn Http,
    pub clock: &'a dyn Clock,
    pub state_dir: &'a Path,
    /// The port forward named by the section's `option redirect`.
    pub forward: Option<&'a Forward>,
}

pub trait Deployer {
    /// Install `m` and reload the service. Returns a short summary for the log.
    fn deploy(&self, m: &Material<'_>) -> Result<String>;

    /// Where the service serves TLS, when the deployer knows without being
    /// told (uhttpd reads its `listen_https`).
    fn endpoint(&self) -> Option<Endpoint> {
        None
    }
}

pub type Builder = for<'a> fn(&PluginSection, &Env<'a>) -> Result<Box<dyn Deployer + 'a>>;

pub struct DeployType {
    pub name: &'static str,
    pub about: &'static str,
    pub build: Builder,
}

pub const TYPES: &[DeployType] = &[file::TYPE, ssh::TYPE, uhttpd::TYPE, webhook::TYPE];

/// A deploy section ready to run: its deployer and where to check it.
pub struct Target<'a> {
    pub deployer: Box<dyn Deployer + 'a>,
    /// `None`: verification is not configured.
    pub verify: Option<Endpoint>,
}

/// Build the target a `config deploy` section describes. `env.forward` must
/// be the port forward it names (`Forwards::of`).
pub fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Target<'a>> {
    let Some(t) = TYPES.iter().find(|t| t.name == section.kind) else {
        let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
        return Err(section.error(
            "type",
            &format!(
                "unknown deploy type '{}': use one of {}",
                section.kind,
                known.join(", ")
            ),
        ));
    };
    let deployer = (t.build)(section, env)?;
    let verify = match section.optional("verify").filter(|v| !v.is_empty()) {
        Some("off") => None,
        Some(v) => Some(Endpoint::parse(v).ok_or_else(|| {
            section.error(
                "verify",
                &format!(
                    "option verify '{v}' is not HOST:PORT: write e.g. '192.168.1.10:443', '[fd00::10]:443', or 'off'"
                ),
            )
        })?),
        None => match env.forward {
            Some(f) => Some(Endpoint {
                host: f.host().to_string(),
                port: f.port().map_err(|why| {
                    section.error(
                        "redirect",
                        &format!("{why}: set option verify 'HOST:PORT', or 'off'"),
                    )
                })?,
            }),
            None => deployer.endpoint(),
        },
    };
    Ok(Target { deployer, verify })
}

/// The port forwards of the firewall configuration at `path`.
pub fn load_forwards(path: &Path) -> Result<Vec<Forward>> {
    let text = store::read(path)?.ok_or_else(|| {
        Error::other(format!(
            "{} does not exist: set option firewall_config in config wancert, or remove option redirect",
            path.display()
        ))
    })?;
    firewall::parse(&text).map_err(|e| Error::Config {
        file: path.display().to_string(),
        line: e.line,
        msg: e.msg,
    })
}

/// The firewall's port forwards, read when a section first needs them: a
/// run that deploys nothing does not read the file.
pub struct Forwards<'p> {
    path: &'p Path,
    read: OnceCell<std::result::Result<Vec<Forward>, String>>,
}

impl<'p> Forwards<'p> {
    pub fn new(path: &'p Path) -> Self {
        Forwards {
            path,
            read: OnceCell::new(),
        }
    }

    pub fn get(&self) -> Result<&[Forward]> {
        self.read
            .get_or_init(|| load_forwards(self.path).map_err(|e| e.to_string()))
            .as_deref()
            .map_err(|e| Error::other(e.clone()))
    }

    /// The port forward `section` names with `option redirect`, if any.
    pub fn of(&self, section: &PluginSection) -> Result<Option<&Forward>> {
        let Some(name) = section.optional("redirect").filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let found =
            firewall::find(self.get()?, name).map_err(|why| section.error("redirect", &why))?;
        if !found.enabled {
            log::warn!(
                "config deploy '{}': port forward '{name}' is disabled; its host is used all the same",
                section.name
            );
        }
        Ok(Some(found))
    }
}

/// Split `list reload`-style values into an argv: each list value is one
/// argument; a single value holding spaces is split on white space (UCI lists
/// are awkward to type, `option reload '/etc/init.d/nginx reload'` is common).
/// Never a shell.
pub fn argv(values: &[&str]) -> Vec<String> {
    match values {
        [one] => one.split_whitespace().map(String::from).collect(),
        many => many.iter().map(|s| s.to_string()).collect(),
    }
}

/// One file a `file` or `ssh` deploy can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The leaf certificate alone.
    Cert,
    /// The intermediates.
    Chain,
    /// Leaf and intermediates.
    Fullchain,
    Key,
    /// Leaf, intermediates and key in one file, as haproxy and lighttpd read.
    Combined,
}

impl Part {
    /// Each part and the option naming its path.
    pub const OPTIONS: [(Part, &'static str); 5] = [
        (Part::Cert, "cert_path"),
        (Part::Chain, "chain_path"),
        (Part::Fullchain, "fullchain_path"),
        (Part::Key, "key_path"),
        (Part::Combined, "combined_path"),
    ];

    /// Whether the file holds the private key.
    pub fn secret(self) -> bool {
        matches!(self, Part::Key | Part::Combined)
    }

    /// The file's text, ending in a newline.
    pub fn text(self, m: &Material<'_>) -> String {
        let line = |s: &str| {
            let mut s = s.to_string();
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s
        };
        let (leaf, chain) = m.split_chain();
        match self {
            Part::Cert => line(leaf),
            Part::Chain => line(chain),
            Part::Fullchain => line(m.fullchain_pem),
            Part::Key => line(m.key_pem),
            Part::Combined => line(m.fullchain_pem) + &line(m.key_pem),
        }
    }
}

/// The files a `file` or `ssh` section writes, from its options `cert_path`,
/// `chain_path`, `fullchain_path`, `key_path`, `combined_path`, `mode` (of
/// the files holding the key) and `owner`.
#[derive(Debug, Clone, PartialEq)]
pub struct Files {
    pub paths: Vec<(Part, String)>,
    /// Mode of the files holding the key; the others are 0644.
    pub key_mode: u32,
    /// `user` or `user:group`, names or numbers.
    pub owner: Option<String>,
}

impl Files {
    pub fn from_section(s: &PluginSection) -> Result<Files> {
        let mut paths = Vec::new();
        for (part, key) in Part::OPTIONS {
            let Some(p) = s.optional(key).filter(|v| !v.is_empty()) else {
                continue;
            };
            if !p.starts_with('/')
                || p.ends_with('/')
                || p.chars().any(char::is_control)
                || p.split('/').any(|c| c == "..")
            {
                return Err(s.error(
                    key,
                    &format!(
                        "option {key} '{p}' is not an absolute file path: start it with /, without .. or control characters"
                    ),
                ));
            }
            paths.push((part, p.to_string()));
        }
        let has = |want: &[Part]| paths.iter().any(|(p, _)| want.contains(p));
        if !has(&[Part::Cert, Part::Fullchain, Part::Combined]) {
            return Err(s.error(
                "fullchain_path",
                "no file to write the certificate to: set option fullchain_path (or cert_path, or combined_path)",
            ));
        }
        if !has(&[Part::Key, Part::Combined]) {
            return Err(s.error(
                "key_path",
                "no file to write the key to: set option key_path (or combined_path)",
            ));
        }
        let key_mode = match s.optional("mode").filter(|v| !v.is_empty()) {
            None => store::SECRET,
            Some(v) => parse_mode(v).ok_or_else(|| {
                s.error(
                    "mode",
                    &format!(
                        "option mode '{v}' is not a file mode that keeps the key from other users: use e.g. '0600' or '0640'"
                    ),
                )
            })?,
        };
        let owner = s.optional("owner").filter(|v| !v.is_empty());
        if let Some(o) = owner {
            let name_ok = |n: &str| {
                !n.is_empty()
                    && n.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
                    && !n.starts_with('-')
            };
            let ok = match o.split_once(':') {
                Some((u, g)) => name_ok(u) && name_ok(g),
                None => name_ok(o),
            };
            if !ok {
                return Err(s.error(
                    "owner",
                    &format!("option owner '{o}' is not USER or USER:GROUP (names or numbers)"),
                ));
            }
        }
        Ok(Files {
            paths,
            key_mode,
            owner: owner.map(String::from),
        })
    }

    /// The mode of `part`'s file.
    pub fn mode(&self, part: Part) -> u32 {
        if part.secret() {
            self.key_mode
        } else {
            store::PUBLIC
        }
    }
}

/// An octal mode of 3 or 4 digits that gives nothing to other users and no
/// special bits.
fn parse_mode(v: &str) -> Option<u32> {
    if !(3..=4).contains(&v.len()) {
        return None;
    }
    let m = u32::from_str_radix(v, 8).ok()?;
    (m & !0o770 == 0 && m & 0o600 == 0o600).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn material<'a>(chain: &'a str) -> Material<'a> {
        Material {
            cert_name: "x",
            domains: &[],
            key_pem: "-----BEGIN PRIVATE KEY-----\nkeybody\n-----END PRIVATE KEY-----\n",
            fullchain_pem: chain,
            key_path: Path::new("k"),
            fullchain_path: Path::new("c"),
        }
    }

    const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nleafbody\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nchainbody\n-----END CERTIFICATE-----\n";

    #[test]
    fn chain_split_and_argv() {
        let m = material(CHAIN);
        let (leaf, rest) = m.split_chain();
        assert!(leaf.contains("leafbody") && !leaf.contains("chainbody"));
        assert!(
            rest.starts_with("-----BEGIN")
                && rest.contains("chainbody")
                && !rest.contains("leafbody")
        );
        assert_eq!(
            argv(&["/etc/init.d/nginx reload"]),
            ["/etc/init.d/nginx", "reload"]
        );
        assert_eq!(argv(&["/bin/x", "a b"]), ["/bin/x", "a b"]);
    }

    #[test]
    fn parts() {
        let m = material(CHAIN);
        let pems = |t: &str, label: &str| crate::pem::decode_all(t, label).len();
        let cert = Part::Cert.text(&m);
        assert!(cert.ends_with("-----END CERTIFICATE-----\n") && cert.contains("leafbody"));
        assert_eq!(pems(&cert, "CERTIFICATE"), 1);
        let chain = Part::Chain.text(&m);
        assert!(chain.contains("chainbody") && !chain.contains("leafbody"));
        assert_eq!(Part::Fullchain.text(&m), CHAIN);
        let combined = Part::Combined.text(&m);
        assert_eq!(combined, format!("{CHAIN}{}", m.key_pem));
        // A chain without its final newline still gives separate blocks.
        let m = material(CHAIN.trim_end());
        assert!(
            Part::Combined
                .text(&m)
                .contains("-----\n-----BEGIN PRIVATE KEY")
        );
        assert!(Part::Key.secret() && Part::Combined.secret() && !Part::Fullchain.secret());
    }

    fn section(body: &str) -> PluginSection {
        let text = format!("config deploy 'd'\n\toption type 'file'\n{body}");
        config::parse("/etc/config/wancert", &text)
            .unwrap()
            .deploys
            .remove(0)
    }

    #[test]
    fn where_a_target_is_checked() {
        let fw = firewall::parse(
            "config redirect\n\toption name 'NAS'\n\toption src_dport '8443'\n\toption dest_ip '192.168.1.10'\n\toption dest_port '443'\n\
             config redirect\n\toption name 'games'\n\toption proto 'udp'\n\toption src_dport '27015'\n\toption dest_ip '192.168.1.40'\n",
        )
        .unwrap();
        let forwards = Forwards {
            path: Path::new("/etc/config/firewall"),
            read: OnceCell::from(Ok(fw)),
        };
        let paths = "\toption fullchain_path '/c'\n\toption key_path '/k'\n";
        let at = |extra: &str| {
            let s = section(&format!("{paths}{extra}"));
            let env = Env {
                http: &crate::http::NoHttp,
                clock: &crate::clock::FakeClock::at(0),
                state_dir: Path::new("/tmp"),
                forward: forwards.of(&s)?,
            };
            build(&s, &env).map(|t| t.verify.map(|e| e.to_string()))
        };
        assert_eq!(at("").unwrap(), None);
        assert_eq!(
            at("\toption redirect 'NAS'\n").unwrap().as_deref(),
            Some("192.168.1.10:443")
        );
        // An explicit verify wins over the forward; 'off' turns it off.
        assert_eq!(
            at("\toption redirect 'NAS'\n\toption verify '[fd00::10]:8443'\n")
                .unwrap()
                .as_deref(),
            Some("[fd00::10]:8443")
        );
        assert_eq!(
            at("\toption redirect 'NAS'\n\toption verify 'off'\n").unwrap(),
            None
        );
        let e = at("\toption verify 'nas'\n").unwrap_err().to_string();
        assert!(e.contains("option verify 'nas' is not HOST:PORT"), "{e}");
        let e = at("\toption redirect 'games'\n").unwrap_err().to_string();
        assert!(
            e.contains("does not forward TCP") && e.contains("option verify"),
            "{e}"
        );
        let e = at("\toption redirect 'nas'\n").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "/etc/config/wancert:5: config deploy 'd': there is no port forward 'nas'"
            ),
            "{e}"
        );
        // A UDP-only forward is fine when the check is elsewhere.
        assert_eq!(
            at("\toption redirect 'games'\n\toption verify 'off'\n").unwrap(),
            None
        );
    }

    #[test]
    fn files_from_options() {
        let f = Files::from_section(&section(
            "\toption fullchain_path '/srv/c.pem'\n\toption key_path '/srv/k.pem'\n\toption combined_path '/etc/haproxy/x.pem'\n\toption mode '0640'\n\toption owner 'haproxy:www-data'\n",
        ))
        .unwrap();
        assert_eq!(
            f.paths,
            [
                (Part::Fullchain, "/srv/c.pem".to_string()),
                (Part::Key, "/srv/k.pem".into()),
                (Part::Combined, "/etc/haproxy/x.pem".into())
            ]
        );
        assert_eq!((f.mode(Part::Key), f.mode(Part::Fullchain)), (0o640, 0o644));
        assert_eq!(f.owner.as_deref(), Some("haproxy:www-data"));
        let plain =
            Files::from_section(&section("\toption combined_path '/etc/haproxy/x.pem'\n")).unwrap();
        assert_eq!((plain.key_mode, plain.owner), (0o600, None));
    }

    #[test]
    fn files_errors() {
        let err = |body: &str| Files::from_section(&section(body)).unwrap_err().to_string();
        let paths = "\toption fullchain_path '/c'\n\toption key_path '/k'\n";
        assert!(err("\toption key_path '/k'\n").contains("no file to write the certificate to"));
        assert!(err("\toption fullchain_path '/c'\n").contains("no file to write the key to"));
        for bad in ["c.pem", "/srv/../etc/shadow", "/srv/", "/a\nb"] {
            let e = err(&format!(
                "\toption key_path '{bad}'\n\toption cert_path '/c'\n"
            ));
            assert!(e.contains("is not an absolute file path"), "{bad}: {e}");
        }
        for bad in ["0644", "0604", "777", "4600", "0400", "600x", "06000", "60"] {
            let e = err(&format!("{paths}\toption mode '{bad}'\n"));
            assert!(
                e.contains(&format!("option mode '{bad}' is not a file mode")),
                "{e}"
            );
        }
        for ok in ["0600", "0640", "660", "0660"] {
            Files::from_section(&section(&format!("{paths}\toption mode '{ok}'\n"))).unwrap();
        }
        for bad in ["a b", "-x", "root:", ":g", "a;b", "u:g:h"] {
            let e = err(&format!("{paths}\toption owner '{bad}'\n"));
            assert!(e.contains("is not USER or USER:GROUP"), "{bad}: {e}");
        }
        // The error points at the option's line.
        assert!(
            err(&format!("{paths}\toption mode '0644'\n")).starts_with("/etc/config/wancert:5:")
        );
    }
}
