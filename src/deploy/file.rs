//! `type 'file'`: copy the certificate to paths a service reads, then run the
//! reload command.

use std::path::PathBuf;

use super::{DeployType, Deployer, Material};
use crate::config::PluginSection;
use crate::{Result, proc, store};

pub const TYPE: DeployType = DeployType {
    name: "file",
    about: "write cert/key/chain files and run a reload command",
    build,
};

struct FileDeploy {
    cert: Option<PathBuf>,
    fullchain: Option<PathBuf>,
    chain: Option<PathBuf>,
    key: PathBuf,
    reload: Vec<String>,
}

fn build(s: &PluginSection) -> Result<Box<dyn Deployer>> {
    let path = |k: &str| s.optional(k).map(PathBuf::from);
    let (cert, fullchain) = (path("cert_path"), path("fullchain_path"));
    if cert.is_none() && fullchain.is_none() {
        return Err(s.error(
            "cert_path",
            "set option cert_path (leaf certificate) or option fullchain_path (leaf and chain)",
        ));
    }
    Ok(Box::new(FileDeploy {
        cert,
        fullchain,
        chain: path("chain_path"),
        key: PathBuf::from(s.required("key_path")?),
        reload: super::argv(&s.list("reload")),
    }))
}

impl Deployer for FileDeploy {
    fn deploy(&self, m: &Material<'_>) -> Result<String> {
        let (leaf, chain) = m.split_chain();
        let files = [
            (&self.cert, leaf, store::PUBLIC),
            (&self.fullchain, m.fullchain_pem, store::PUBLIC),
            (&self.chain, chain, store::PUBLIC),
            (&Some(self.key.clone()), m.key_pem, store::SECRET),
        ];
        let mut written = 0;
        for (path, text, mode) in files {
            if let Some(path) = path {
                written += usize::from(store::write_if_changed(path, text.as_bytes(), mode)?);
            }
        }
        if !self.reload.is_empty() {
            proc::run(&self.reload)?;
            return Ok(format!(
                "{written} file(s) written, ran {}",
                self.reload.join(" ")
            ));
        }
        Ok(format!("{written} file(s) written"))
    }
}
