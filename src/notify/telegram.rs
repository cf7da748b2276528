//! `type 'telegram'`: a message from your bot, through the Bot API's
//! `sendMessage` method (`POST API/botTOKEN/sendMessage`, JSON `chat_id` and
//! `text`). Create the bot with @BotFather, send it a message, and take the
//! chat id from `getUpdates`. The token is part of the URL, so no error ever
//! shows the URL.

use super::{Event, Notifier, NotifyType};
use crate::config::PluginSection;
use crate::http::{Http, Request};
use crate::{Error, Result};

pub const TYPE: NotifyType = NotifyType {
    name: "telegram",
    about: "a message from a Telegram bot",
    build,
};

struct Telegram<'a> {
    http: &'a dyn Http,
    api: String,
    token: String,
    chat_id: serde_json::Value,
}

fn build<'a>(s: &PluginSection, http: &'a dyn Http) -> Result<Box<dyn Notifier + 'a>> {
    let api = match s.optional("api_url").filter(|v| !v.is_empty()) {
        Some(_) => super::url_option(s, "api_url")?,
        None => "https://api.telegram.org",
    };
    let token = s.secret("bot_token")?;
    // The form BotFather hands out: digits, a colon, then letters, digits, - and _.
    let well_formed = token.split_once(':').is_some_and(|(id, key)| {
        !id.is_empty()
            && id.bytes().all(|c| c.is_ascii_digit())
            && !key.is_empty()
            && key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    });
    if !well_formed {
        return Err(s.error(
            "bot_token",
            "option bot_token is not a bot token (digits:letters, as @BotFather gives it)",
        ));
    }
    let chat = s.required("chat_id")?;
    // A user or group is a number; a channel may be given as @name.
    let chat_id = match chat.parse::<i64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) if chat.starts_with('@') && chat.len() > 1 => serde_json::Value::from(chat),
        Err(_) => {
            return Err(s.error(
                "chat_id",
                &format!("option chat_id '{chat}' is not a number or @channelname"),
            ));
        }
    };
    Ok(Box::new(Telegram {
        http,
        api: api.trim_end_matches('/').to_string(),
        token,
        chat_id,
    }))
}

impl Notifier for Telegram<'_> {
    fn send(&self, event: &Event) -> Result<()> {
        let what = format!("telegram {}", super::origin(&self.api));
        let url = format!("{}/bot{}/sendMessage", self.api, self.token);
        let body = serde_json::json!({
            "chat_id": self.chat_id,
            "text": event.text(),
            "disable_web_page_preview": true,
        })
        .to_string();
        let resp = self
            .http
            .send(&Request {
                method: "POST",
                url: &url,
                headers: &[],
                body: Some(("application/json", body.as_bytes())),
            })
            .map_err(|e| super::failed(&what, e, &[&self.token]))?;
        if resp.status == 200 {
            return Ok(());
        }
        // The Bot API explains a refusal in `description`.
        let why = serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v["description"].as_str().map(String::from))
            .unwrap_or_default()
            .replace(&self.token, "***");
        let fix = match resp.status {
            401 | 404 => "check option bot_token",
            _ => "check option chat_id, and that the chat has talked to the bot",
        };
        Err(Error::other(format!(
            "{what} refused the message (HTTP {}: {why}): {fix}",
            resp.status
        )))
    }
}
