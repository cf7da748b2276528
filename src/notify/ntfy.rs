//! `type 'ntfy'`: publish to an ntfy topic (ntfy.sh or a server of your
//! own). The message is the body of a POST to `SERVER/TOPIC`, with the
//! `Title`, `Priority` and `Tags` headers of ntfy's publishing API, and
//! `Authorization: Bearer TOKEN` for a protected topic.

use super::{Event, Kind, Notifier, NotifyType};
use crate::config::PluginSection;
use crate::http::{Http, Request};
use crate::{Error, Result};

pub const TYPE: NotifyType = NotifyType {
    name: "ntfy",
    about: "publish to an ntfy topic (ntfy.sh or your own server)",
    build,
};

struct Ntfy<'a> {
    http: &'a dyn Http,
    /// `SERVER/TOPIC`.
    url: String,
    token: Option<String>,
}

fn build<'a>(s: &PluginSection, http: &'a dyn Http) -> Result<Box<dyn Notifier + 'a>> {
    let server = match s.optional("server").filter(|v| !v.is_empty()) {
        Some(_) => super::url_option(s, "server")?,
        None => "https://ntfy.sh",
    };
    let topic = s.required("topic")?;
    // ntfy's own rule for topic names.
    if topic.is_empty()
        || topic.len() > 64
        || !topic
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return Err(s.error(
            "topic",
            "option topic may hold only letters, digits, - and _ (at most 64)",
        ));
    }
    Ok(Box::new(Ntfy {
        http,
        url: format!("{}/{topic}", server.trim_end_matches('/')),
        token: match (s.optional("token"), s.optional("token_file")) {
            (None | Some(""), None) => None,
            _ => Some(s.secret("token")?),
        },
    }))
}

impl Notifier for Ntfy<'_> {
    fn send(&self, event: &Event) -> Result<()> {
        // Anyone who knows a topic can read it: errors show the server only.
        let what = format!("ntfy {}", super::origin(&self.url));
        let (priority, tags) = match event.kind {
            Kind::Renewed => ("default", "white_check_mark,lock"),
            Kind::Failed => ("high", "warning,lock"),
            Kind::Expiring => ("urgent", "rotating_light,lock"),
        };
        let title = event.title();
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("Title", title.as_str()),
            ("Priority", priority),
            ("Tags", tags),
        ];
        if let Some(a) = &auth {
            headers.push(("Authorization", a));
        }
        let body = format!("{}\n{}", event.domains.join(", "), event.message);
        let secrets = [self.url.as_str(), self.token.as_deref().unwrap_or("")];
        let resp = self
            .http
            .send(&Request {
                method: "POST",
                url: &self.url,
                headers: &headers,
                body: Some(("text/plain; charset=utf-8", body.as_bytes())),
            })
            .map_err(|e| super::failed(&what, e, &secrets))?;
        match resp.status {
            200..=299 => Ok(()),
            401 | 403 => Err(Error::other(format!(
                "{what} refused the token (HTTP {}): check option token",
                resp.status
            ))),
            status => Err(Error::other(format!(
                "{what} answered HTTP {status}: check options server and topic"
            ))),
        }
    }
}
