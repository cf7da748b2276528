//! `type 'uhttpd'`: point OpenWrt's web server at wancert's files by editing
//! `/etc/config/uhttpd` in place (every other line kept), then restart it.
//! The certificate is checked where uhttpd listens for HTTPS (its first
//! `listen_https`, on loopback when it listens on every address).

use std::path::{Path, PathBuf};

use super::{DeployType, Deployer, Env, Material};
use crate::config::PluginSection;
use crate::verify::Endpoint;
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

fn build<'a>(s: &PluginSection, _env: &Env<'a>) -> Result<Box<dyn Deployer + 'a>> {
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
        let edited = edit(&text, &self.section, m.fullchain_path, m.key_path).ok_or_else(|| {
            Error::other(format!(
                "{} has no `config uhttpd '{}'` section: set option section in the deploy section",
                self.config.display(),
                self.section
            ))
        })?;
        let changed = store::write_if_changed(&self.config, edited.as_bytes(), store::PUBLIC)?;
        proc::run(&self.restart)?;
        let what = if changed {
            "config updated, restarted"
        } else {
            "restarted"
        };
        Ok(format!("uhttpd {what}"))
    }

    fn endpoint(&self) -> Option<Endpoint> {
        let text = store::read(&self.config).ok()??;
        listen_https(&text, &self.section)
    }
}

/// `text` with options `cert` and `key` of `config uhttpd 'section'` set to
/// the two paths, every other line as it was. `None` when there is no such
/// section (or the file is not valid UCI).
pub fn edit(text: &str, section: &str, cert: &Path, key: &Path) -> Option<String> {
    let text = uci::set_option(text, "uhttpd", section, "cert", &cert.display().to_string())?;
    uci::set_option(&text, "uhttpd", section, "key", &key.display().to_string())
}

/// Where the section serves HTTPS: its first `listen_https`, with a
/// wildcard address (or none) replaced by loopback, where wancert can reach
/// it.
pub fn listen_https(text: &str, section: &str) -> Option<Endpoint> {
    let sections = uci::parse(text).ok()?;
    let s = sections
        .iter()
        .find(|s| s.ty == "uhttpd" && s.name.as_deref() == Some(section))?;
    let first = *s.list("listen_https").first()?;
    if let Ok(port) = first.parse::<u16>() {
        return Some(Endpoint {
            host: "127.0.0.1".into(),
            port,
        });
    }
    let mut at = Endpoint::parse(first)?;
    match at.host.as_str() {
        "0.0.0.0" => at.host = "127.0.0.1".into(),
        "::" => at.host = "::1".into(),
        _ => {}
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = "/etc/wancert/certs/router/fullchain.pem";
    const KEY: &str = "/etc/wancert/certs/router/key.pem";

    fn edited(text: &str, section: &str) -> Option<String> {
        edit(text, section, Path::new(CERT), Path::new(KEY))
    }

    /// OpenWrt 23.05's `/etc/config/uhttpd` as shipped: the `main` server
    /// and px5g's `defaults` for the self-signed certificate.
    const OPENWRT: &str = include_str!("../../tests/fixtures/uhttpd-openwrt");

    #[test]
    fn the_shipped_file_changes_on_two_lines() {
        let out = edited(OPENWRT, "main").unwrap();
        let expected = OPENWRT
            .replace("'/etc/uhttpd.crt'", &format!("'{CERT}'"))
            .replace("'/etc/uhttpd.key'", &format!("'{KEY}'"));
        assert_eq!(out, expected);
        // Done again, nothing changes: no write on the next run.
        assert_eq!(edited(&out, "main").unwrap(), out);
        assert_eq!(
            listen_https(OPENWRT, "main"),
            Some(Endpoint {
                host: "127.0.0.1".into(),
                port: 443
            })
        );
    }

    /// Older releases ship the file with its documentation as comments,
    /// some of them naming the very options we set.
    #[test]
    fn comments_and_commented_out_options_stay() {
        let text = "# Server configuration
config uhttpd main

\t# HTTP listen addresses, multiple allowed
\tlist listen_http\t0.0.0.0:80
\tlist listen_https\t0.0.0.0:443

\t# Certificate and private key for HTTPS.
\t# If no listen_https addresses are given,
\t# the key options are ignored.
\toption cert\t/etc/uhttpd.crt  # made by px5g
\toption key\t/etc/uhttpd.key

\t# option cert /etc/ssl/other.crt
\toption home\t/www
";
        let out = edited(text, "main").unwrap();
        let expected = text
            .replace(
                "option cert\t/etc/uhttpd.crt",
                &format!("option cert '{CERT}'"),
            )
            .replace(
                "option key\t/etc/uhttpd.key",
                &format!("option key '{KEY}'"),
            );
        assert_eq!(out, expected);
        assert!(out.contains("# option cert /etc/ssl/other.crt\n"));
        assert!(out.contains(&format!("option cert '{CERT}'  # made by px5g\n")));
    }

    #[test]
    fn missing_options_are_added_at_the_end_of_the_section() {
        let text = "config uhttpd 'main'\n\tlist listen_https '192.168.1.1:8443'\n\toption home '/www'\n\nconfig uhttpd 'other'\n\toption home '/srv'\n";
        let out = edited(text, "main").unwrap();
        let expected = text.replace(
            "\toption home '/www'\n",
            &format!("\toption home '/www'\n\toption cert '{CERT}'\n\toption key '{KEY}'\n"),
        );
        assert_eq!(out, expected);
        assert_eq!(
            listen_https(text, "main").map(|e| e.to_string()),
            Some("192.168.1.1:8443".into())
        );
        // A file ending without a newline.
        let out = edited("config uhttpd 'main'\n\toption home '/www'", "main").unwrap();
        assert_eq!(
            out,
            format!(
                "config uhttpd 'main'\n\toption home '/www'\n\toption cert '{CERT}'\n\toption key '{KEY}'\n"
            )
        );
    }

    #[test]
    fn only_the_named_section_of_several_changes() {
        let text = "config uhttpd 'main'
\tlist listen_https '[::]:443'
\toption cert '/etc/uhttpd.crt'
\toption key '/etc/uhttpd.key'

config uhttpd 'luci_alt'
\tlist listen_https '0.0.0.0:8443'
\toption cert '/etc/alt.crt'
\toption key '/etc/alt.key'
";
        let out = edited(text, "luci_alt").unwrap();
        let expected = text
            .replace("'/etc/alt.crt'", &format!("'{CERT}'"))
            .replace("'/etc/alt.key'", &format!("'{KEY}'"));
        assert_eq!(out, expected);
        assert_eq!(
            listen_https(text, "main").map(|e| e.to_string()),
            Some("[::1]:443".into())
        );
        assert_eq!(listen_https(text, "luci_alt").map(|e| e.port), Some(8443));
    }

    #[test]
    fn a_repeated_option_is_set_once() {
        let text = "config uhttpd 'main'\n\toption cert '/a'\n\toption home '/www'\n\toption cert '/b'\n\toption key '/k'\n";
        let out = edited(text, "main").unwrap();
        assert_eq!(
            out,
            format!(
                "config uhttpd 'main'\n\toption cert '{CERT}'\n\toption home '/www'\n\toption key '{KEY}'\n"
            )
        );
    }

    #[test]
    fn no_such_section_or_no_https() {
        assert_eq!(edited(OPENWRT, "secondary"), None);
        assert_eq!(
            edited("config uhttpd\n\toption home '/www'\n", "main"),
            None
        );
        assert_eq!(edited("config uhttpd 'main\n", "main"), None);
        assert_eq!(
            listen_https("config uhttpd 'main'\n\tlist listen_http '80'\n", "main"),
            None
        );
        assert_eq!(
            listen_https("config uhttpd 'main'\n\tlist listen_https '443'\n", "main")
                .map(|e| e.to_string()),
            Some("127.0.0.1:443".into())
        );
    }
}
