//! `type 'webhook'`: POST the event as a JSON document (see `Event::json`) to
//! a URL, with optional extra headers (`list header 'Name: value'`, e.g. an
//! Authorization header). Any 2xx answer counts as delivered.

use super::{Event, Notifier, NotifyType};
use crate::config::PluginSection;
use crate::http::{Http, Request};
use crate::{Error, Result};

pub const TYPE: NotifyType = NotifyType {
    name: "webhook",
    about: "POST a JSON document to a URL",
    build,
};

struct Webhook<'a> {
    http: &'a dyn Http,
    url: String,
    headers: Vec<(String, String)>,
}

fn build<'a>(s: &PluginSection, http: &'a dyn Http) -> Result<Box<dyn Notifier + 'a>> {
    let url = super::url_option(s, "url")?.to_string();
    let mut headers = Vec::new();
    for h in s.list("header") {
        match h.split_once(':') {
            Some((name, value))
                if !name.trim().is_empty()
                    && name
                        .trim()
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-') =>
            {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
            // The value may be a secret: the message names the option only.
            _ => {
                return Err(s.error(
                    "header",
                    "a list header value is not 'Name: value': write e.g. 'Authorization: Bearer TOKEN'",
                ));
            }
        }
    }
    Ok(Box::new(Webhook { http, url, headers }))
}

impl Notifier for Webhook<'_> {
    fn send(&self, event: &Event) -> Result<()> {
        let what = format!("webhook {}", super::origin(&self.url));
        let secrets: Vec<&str> = self
            .headers
            .iter()
            .map(|(_, v)| v.as_str())
            .chain([self.url.as_str()])
            .collect();
        let body = event.json().to_string();
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let resp = self
            .http
            .send(&Request {
                method: "POST",
                url: &self.url,
                headers: &headers,
                body: Some(("application/json", body.as_bytes())),
            })
            .map_err(|e| super::failed(&what, e, &secrets))?;
        if (200..300).contains(&resp.status) {
            return Ok(());
        }
        Err(Error::other(format!(
            "{what} answered HTTP {}: check option url and list header",
            resp.status
        )))
    }
}
