//! `type 'uhttpd'`: point OpenWrt's web server at wancert's files by editing
//! `/etc/config/uhttpd` in place (every other line kept), then restart it.

use std::path::{Path, PathBuf};

use super::{DeployType, Deployer, Material};
use crate::config::PluginSection;
use crate::{Error, Result, proc, store, uci};

pub const TYPE: DeployType = DeployType {
    name: "uhttpd",
    about: "OpenWrt's uhttpd: set its cert/key options and restart it",
    build,
};

struct Uhttpd {
    config: PathBuf,
    section: String,
    restart: Vec<String>,
}

fn build(s: &PluginSection) -> Result<Box<dyn Deployer>> {
    let restart = s.list("restart");
    Ok(Box::new(Uhttpd {
        config: PathBuf::from(s.optional("uhttpd_config").unwrap_or("/etc/config/uhttpd")),
        section: s.optional("section").unwrap_or("main").to_string(),
        restart: if restart.is_empty() {
            vec!["/etc/init.d/uhttpd".into(), "restart".into()]
        } else {
            super::argv(&restart)
        },
    }))
}

impl Deployer for Uhttpd {
    fn deploy(&self, m: &Material<'_>) -> Result<String> {
        let text = store::read(&self.config)?.ok_or_else(|| {
            Error::other(format!(
                "{} does not exist: is uhttpd installed?",
                self.config.display()
            ))
        })?;
        let path_str = |p: &Path| p.display().to_string();
        let missing = || {
            Error::other(format!(
                "{} has no `config uhttpd '{}'` section: set option section in the deploy section",
                self.config.display(),
                self.section
            ))
        };
        let edited = uci::set_option(
            &text,
            "uhttpd",
            &self.section,
            "cert",
            &path_str(m.fullchain_path),
        )
        .ok_or_else(missing)?;
        let edited = uci::set_option(
            &edited,
            "uhttpd",
            &self.section,
            "key",
            &path_str(m.key_path),
        )
        .ok_or_else(missing)?;
        let changed = store::write_if_changed(&self.config, edited.as_bytes(), store::PUBLIC)?;
        proc::run(&self.restart)?;
        let what = if changed {
            "config updated, restarted"
        } else {
            "restarted"
        };
        Ok(format!("uhttpd {what}"))
    }
}
