//! After an install, tell OpenWrt what its acme packages tell it, so that the
//! services that listen for it (nginx, haproxy and others reload on
//! `acme.renew`) pick the certificate up: `ACTION=issued|renewed hotplug-call
//! acme`, then a ubus service event `acme.issue` or `acme.renew`. Where those
//! tools do not exist (not OpenWrt) nothing happens; a failure is a warning,
//! never a failed run: the certificate is installed either way.

use crate::proc;

/// The certificate `name` was installed; `first` when there was none before.
pub fn installed(name: &str, domains: &[String], key: &str, fullchain: &str, first: bool) {
    let (action, event) = if first {
        ("issued", "acme.issue")
    } else {
        ("renewed", "acme.renew")
    };
    if proc::exists("hotplug-call") {
        // Besides ACTION, what a hotplug script needs to find the files.
        let env = [
            ("ACTION", action),
            ("CERT_NAME", name),
            ("DOMAIN", domains.first().map_or("", String::as_str)),
            ("KEY", key),
            ("FULLCHAIN", fullchain),
        ];
        let argv = ["hotplug-call".to_string(), "acme".into()];
        if let Err(e) = proc::run_cmd(&proc::Cmd {
            env: &env,
            ..proc::Cmd::new(&argv)
        }) {
            log::warn!("{name}: {e}");
        }
    }
    if proc::exists("ubus") {
        let argv = [
            "ubus".to_string(),
            "call".into(),
            "service".into(),
            "event".into(),
            event_json(event, name),
        ];
        if let Err(e) = proc::run(&argv) {
            log::warn!("{name}: {e}");
        }
    }
}

/// `{"type":EVENT,"data":{"name":NAME}}`, as `ubus call service event` takes.
fn event_json(event: &str, name: &str) -> String {
    let name = serde_json::to_string(name).unwrap_or_default();
    format!(r#"{{"type":"{event}","data":{{"name":{name}}}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ubus_event_document() {
        assert_eq!(
            event_json("acme.renew", "nas"),
            r#"{"type":"acme.renew","data":{"name":"nas"}}"#
        );
        assert_eq!(
            event_json("acme.issue", "a\"b"),
            r#"{"type":"acme.issue","data":{"name":"a\"b"}}"#
        );
    }
}
