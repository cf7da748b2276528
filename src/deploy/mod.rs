//! Deployers: the registry. A deployer is one file here that puts a freshly
//! installed certificate where a service reads it and reloads the service.

use std::path::Path;

use crate::Result;
use crate::config::PluginSection;

pub mod file;
pub mod uhttpd;

/// What a deployer gets: the certificate as text, and where wancert keeps it.
pub struct Material<'a> {
    pub cert_name: &'a str,
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

pub trait Deployer {
    /// Install `m` and reload the service. Returns a short summary for the log.
    fn deploy(&self, m: &Material<'_>) -> Result<String>;
}

pub type Builder = fn(&PluginSection) -> Result<Box<dyn Deployer>>;

pub struct DeployType {
    pub name: &'static str,
    pub about: &'static str,
    pub build: Builder,
}

pub const TYPES: &[DeployType] = &[file::TYPE, uhttpd::TYPE];

/// Build the deployer a `config deploy` section describes.
pub fn build(section: &PluginSection) -> Result<Box<dyn Deployer>> {
    match TYPES.iter().find(|t| t.name == section.kind) {
        Some(t) => (t.build)(section),
        None => {
            let known: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
            Err(section.error(
                "type",
                &format!(
                    "unknown deploy type '{}': use one of {}",
                    section.kind,
                    known.join(", ")
                ),
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_split_and_argv() {
        let m = Material {
            cert_name: "x",
            key_pem: "",
            fullchain_pem: "-----BEGIN CERTIFICATE-----\nleafbody\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nchainbody\n-----END CERTIFICATE-----\n",
            key_path: Path::new("k"),
            fullchain_path: Path::new("c"),
        };
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
}
