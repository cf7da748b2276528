//! A program of your own does the DNS work. Options: `command`, a path or
//! an argv list (`list command '/usr/bin/mydns'`, `list command '--zone'`,
//! ...), and `timeout` (seconds, 60). It is run, never through a shell,
//! with the verb and its arguments appended as separate arguments:
//!
//! ```text
//! COMMAND present NAME VALUE          add one TXT value at NAME
//! COMMAND cleanup NAME VALUE          remove that value
//! COMMAND set-address NAME A|AAAA ADDR...   DDNS: make the set exactly ADDR...
//! ```
//!
//! Exit 0 means done; any other status is an error quoting the last line of
//! its stderr.

use std::net::IpAddr;
use std::time::Duration;

use super::{DnsProvider, Env, Family, ProviderType};
use crate::config::PluginSection;
use crate::{Error, Result, proc};

pub const TYPE: ProviderType = ProviderType {
    name: "exec",
    about: "your own program: COMMAND present|cleanup NAME VALUE",
    build,
};

fn build<'a>(section: &PluginSection, _: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let command: Vec<String> = section
        .list("command")
        .iter()
        .map(|s| s.to_string())
        .collect();
    if command.first().is_none_or(|c| c.is_empty()) {
        return Err(section.error(
            "command",
            "option 'command' is missing: add `option command '/path/to/program'` (or a list: program, then its first arguments)",
        ));
    }
    let timeout = match section.optional("timeout") {
        None => 60,
        Some(t) => t.parse::<u64>().ok().filter(|&t| t > 0).ok_or_else(|| {
            section.error(
                "timeout",
                &format!("option 'timeout' must be a whole number of seconds, not '{t}'"),
            )
        })?,
    };
    Ok(Box::new(Exec {
        command,
        timeout: Duration::from_secs(timeout),
    }))
}

struct Exec {
    command: Vec<String>,
    timeout: Duration,
}

impl Exec {
    fn run(&self, args: &[&str]) -> Result<()> {
        let mut argv = self.command.clone();
        argv.extend(args.iter().map(|a| a.to_string()));
        proc::run_for(&argv, Some(self.timeout)).map_err(|e| match e {
            // The one knob that helps a slow script.
            Error::Timeout(m) => Error::Timeout(format!(
                "exec provider: {m}: raise option timeout if the script needs longer"
            )),
            e => e.context("exec provider"),
        })
    }
}

impl DnsProvider for Exec {
    fn add_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.run(&["present", fqdn, value])
    }

    fn remove_txt(&mut self, fqdn: &str, value: &str) -> Result<()> {
        self.run(&["cleanup", fqdn, value])
    }

    fn set_address(&mut self, fqdn: &str, family: Family, addrs: &[IpAddr], _: u32) -> Result<()> {
        let addrs: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
        let mut args = vec!["set-address", fqdn, super::api::rtype(family)];
        args.extend(addrs.iter().map(String::as_str));
        self.run(&args)
    }
}

#[cfg(test)]
mod tests {
    use crate::clock::FakeClock;
    use crate::providers::api::testing::{Canned, build};

    #[test]
    fn options_are_checked() {
        let (http, clock) = (Canned::new(|_| (500, String::new())), FakeClock::at(0));
        let err = build("exec", &[("command", "")], &http, &clock)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("option 'command' is missing"),
            "{err}"
        );
        for t in ["0", "-1", "x"] {
            let opts = [("command", "/bin/true"), ("timeout", t)];
            assert!(build("exec", &opts, &http, &clock).is_err(), "timeout {t}");
        }
        let mut p = build("exec", &[("command", "/bin/true")], &http, &clock).unwrap();
        p.add_txt("a.example.com", "v").unwrap();
        assert!(http.sent().is_empty(), "exec makes no request");
    }
}
