//! `type 'command'`: run a program of yours (`list command`, an argv: never
//! a shell). The event reaches it in the environment: `WANCERT_EVENT`
//! (renewed, failed, expiring), `WANCERT_CERT`, `WANCERT_DOMAINS`
//! (space-separated), `WANCERT_TITLE`, `WANCERT_MESSAGE`, `WANCERT_NOT_AFTER`
//! (RFC 3339, empty when none) and `WANCERT_HOST`.

use super::{Event, Notifier, NotifyType};
use crate::config::PluginSection;
use crate::http::Http;
use crate::{Result, der, proc};

pub const TYPE: NotifyType = NotifyType {
    name: "command",
    about: "run a program with the event in its environment",
    build,
};

struct Command {
    argv: Vec<String>,
}

fn build<'a>(s: &PluginSection, _http: &'a dyn Http) -> Result<Box<dyn Notifier + 'a>> {
    let argv = crate::deploy::argv(&s.list("command"));
    if argv.is_empty() {
        return Err(s.error(
            "command",
            "list command is missing: add `list command '/path/to/program'`, then one list value per argument",
        ));
    }
    Ok(Box::new(Command { argv }))
}

impl Notifier for Command {
    fn send(&self, e: &Event) -> Result<()> {
        let domains = e.domains.join(" ");
        let title = e.title();
        let not_after = e.not_after.map(der::rfc3339).unwrap_or_default();
        proc::run_env(
            &self.argv,
            &[
                ("WANCERT_EVENT", e.kind.name()),
                ("WANCERT_CERT", &e.cert),
                ("WANCERT_DOMAINS", &domains),
                ("WANCERT_TITLE", &title),
                ("WANCERT_MESSAGE", &e.message),
                ("WANCERT_NOT_AFTER", &not_after),
                ("WANCERT_HOST", &e.host),
            ],
        )
    }
}
