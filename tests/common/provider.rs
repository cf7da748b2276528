//! Building the real provider code from config text, for provider tests:
//! the real HTTP client (plain HTTP to loopback servers) and a fake clock,
//! so retry pauses cost nothing and can be checked.

#![allow(dead_code)]

use std::time::Duration;

use wancert::config::{self, PluginSection};
use wancert::http::UreqHttp;

/// The one `config provider` section of `text`.
pub fn section(text: &str) -> PluginSection {
    let mut c = config::parse("/etc/config/wancert", text).expect("config parses");
    assert_eq!(c.providers.len(), 1, "one provider section");
    c.providers.remove(0)
}

/// `config provider 'p'` of type `kind` with `lines` (tab-indented options).
pub fn config(kind: &str, lines: &[String]) -> String {
    let mut text = format!("config provider 'p'\n\toption type '{kind}'\n");
    for l in lines {
        text.push_str(&format!("\t{l}\n"));
    }
    text
}

/// The real HTTP client.
pub fn http() -> UreqHttp {
    UreqHttp::new(None, Duration::from_secs(10)).expect("HTTP client (needs the system CA bundle)")
}
