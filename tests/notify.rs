//! Notifications, end to end: the real binary fails to renew a certificate
//! that expires in three days and tells a webhook, an ntfy server, a Telegram
//! bot and a command, all played by a receiver on loopback; a second run right
//! after sends nothing (rate limit); undelivered events are tried again; no
//! secret appears in the output.

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::httpd::{Request, Response, Server};
use common::{TempDir, text, wancert};

const BOT_TOKEN: &str = "123456:SECRET-bot-token_x";
const HOOK_AUTH: &str = "Bearer hook-secret-value";

fn all_ok(r: &Request) -> Response {
    if r.path().ends_with("/sendMessage") {
        Response::json(200, serde_json::json!({"ok": true, "result": {}}))
    } else {
        Response::json(200, serde_json::json!({}))
    }
}

/// A state directory holding certificate `nas` that expires in three days
/// (self-signed: only its dates and names matter). It was issued for another
/// name, so a run finds it due: a fresh three-day certificate would not be.
fn expiring_cert(state: &std::path::Path) {
    let dir = state.join("certs/nas");
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "3", "-subj", "/CN=old.example.com"])
        .args(["-addext", "subjectAltName=DNS:old.example.com"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("fullchain.pem"))
        .output()
        .expect("openssl runs (run tests/setup.sh)");
    assert!(out.status.success(), "{}", text(&out));
}

/// A configuration whose CA does not answer (a closed loopback port), so the
/// renewal fails at once, with `notify` sections appended.
fn config(dir: &std::path::Path, notify: &str) -> String {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "config wancert 'global'
\toption acme_server 'http://127.0.0.1:{closed}/dir'
\toption state_dir '{state}'
\toption run_dir '{run}'
\toption expiry_warn_days '14'

config provider 'dns'
\toption type 'rfc2136'
\toption server '127.0.0.1'
\toption port '{closed}'
\toption tsig_name 'k'
\toption tsig_secret 'c2VjcmV0c2VjcmV0c2VjcmV0'

config cert 'nas'
\tlist domain 'nas.example.com'
\toption provider 'dns'
{notify}",
        state = dir.join("state").display(),
        run = dir.join("run").display(),
    );
    let path = dir.join("wancert.conf");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn failures_and_expiry_are_told_once_to_every_notifier() {
    let tmp = TempDir::new("notify");
    let server = Server::start(all_ok);
    let port = server.port;
    expiring_cert(&tmp.path().join("state"));
    let env_log = tmp.path().join("events.txt");
    let script = tmp.path().join("hook.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s|%s|%s|%s|%s\\n' \"$WANCERT_EVENT\" \"$WANCERT_CERT\" \"$WANCERT_DOMAINS\" \"$WANCERT_NOT_AFTER\" \"$1\" >> \"$2\"\n",
    )
    .unwrap();
    let conf = config(
        tmp.path(),
        &format!(
            "config notify 'hook'
\toption type 'webhook'
\toption url 'http://127.0.0.1:{port}/hook/s3cr3tpath'
\tlist header 'Authorization: {HOOK_AUTH}'

config notify 'phone'
\toption type 'ntfy'
\toption server 'http://127.0.0.1:{port}'
\toption topic 'wancert_test'
\toption token 'tk_ntfy_secret'

config notify 'bot'
\toption type 'telegram'
\toption api_url 'http://127.0.0.1:{port}'
\toption bot_token '{BOT_TOKEN}'
\toption chat_id '42'

config notify
\toption type 'command'
\tlist command 'sh'
\tlist command '{script}'
\tlist command 'arg; $(touch {pwned})'
\tlist command '{log}'

config notify 'renewals_only'
\toption type 'webhook'
\toption url 'http://127.0.0.1:{port}/renewals'
\tlist event 'renewed'
",
            script = script.display(),
            log = env_log.display(),
            pwned = tmp.path().join("pwned").display(),
        ),
    );

    let out = wancert(&["--config", &conf, "run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let output = text(&out);
    assert!(output.contains("notify bot: sent"), "{output}");
    let reqs = server.requests();

    let hooks: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.path().starts_with("/hook/"))
        .collect();
    assert_eq!(hooks.len(), 2, "{reqs:#?}");
    let events: Vec<String> = hooks
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["failed", "expiring"]);
    for h in &hooks {
        assert_eq!(h.method, "POST");
        assert_eq!(h.path(), "/hook/s3cr3tpath");
        assert_eq!(h.header("authorization"), Some(HOOK_AUTH));
        assert!(
            h.header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let j = h.json();
        assert_eq!(j["cert"], "nas");
        assert_eq!(j["domains"][0], "nas.example.com");
        assert!(j["not_after"].as_str().unwrap().ends_with('Z'));
        assert!(!j["message"].as_str().unwrap().is_empty());
    }
    let title = hooks[1].json()["title"].as_str().unwrap().to_string();
    assert!(
        title.contains("expires in 2 days") || title.contains("expires in 3 days"),
        "{title}"
    );
    assert!(
        !reqs.iter().any(|r| r.path() == "/renewals"),
        "a failure went to a renewals-only notifier"
    );

    let ntfy: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.path() == "/wancert_test")
        .collect();
    assert_eq!(ntfy.len(), 2);
    assert_eq!(ntfy[0].method, "POST");
    assert_eq!(ntfy[0].header("priority").unwrap(), "high");
    assert_eq!(ntfy[1].header("priority").unwrap(), "urgent");
    assert_eq!(
        ntfy[0].header("authorization").unwrap(),
        "Bearer tk_ntfy_secret"
    );
    assert!(
        ntfy[0]
            .header("title")
            .unwrap()
            .contains("certificate nas could not be renewed")
    );
    assert!(ntfy[0].header("tags").unwrap().contains("warning"));
    assert!(ntfy[0].text().starts_with("nas.example.com\n"));

    let tg: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.path().contains("sendMessage"))
        .collect();
    assert_eq!(tg.len(), 2);
    assert_eq!(tg[0].path(), format!("/bot{BOT_TOKEN}/sendMessage"));
    let j = tg[0].json();
    assert_eq!(j["chat_id"], 42);
    assert!(j["text"].as_str().unwrap().contains("nas.example.com"));

    let lines = std::fs::read_to_string(&env_log).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("failed|nas|nas.example.com|20"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("expiring|"), "{}", lines[1]);
    assert!(lines[0].ends_with(&format!(
        "|arg; $(touch {})",
        tmp.path().join("pwned").display()
    )));
    assert!(
        !tmp.path().join("pwned").exists(),
        "an argument reached a shell"
    );

    for secret in [
        BOT_TOKEN,
        "hook-secret-value",
        "tk_ntfy_secret",
        "s3cr3tpath",
    ] {
        assert!(!output.contains(secret), "{secret} in the output: {output}");
    }

    // The next (cron) run fails the same way: nothing is sent again.
    let out = wancert(&["--config", &conf, "run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(
        server.requests().len(),
        reqs.len(),
        "a second notification inside notify_interval"
    );
    assert_eq!(
        std::fs::read_to_string(&env_log).unwrap().lines().count(),
        2
    );

    // Once notify_interval has passed, they are told again.
    let text_conf = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text_conf.replace(
            "option expiry_warn_days '14'",
            "option expiry_warn_days '14'\n\toption notify_interval '1'",
        ),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = wancert(&["--config", &conf, "run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(server.requests().len(), 2 * reqs.len());
}

#[test]
fn undelivered_events_are_tried_again_and_errors_hide_the_token() {
    let tmp = TempDir::new("notify-refused");
    let server = Server::start(|_| {
        Response::json(
            401,
            serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        )
    });
    let port = server.port;
    let conf = config(
        tmp.path(),
        &format!(
            "config notify 'bot'
\toption type 'telegram'
\toption api_url 'http://127.0.0.1:{port}'
\toption bot_token '{BOT_TOKEN}'
\toption chat_id '@mychannel'
"
        ),
    );
    for round in 1..=2 {
        let out = wancert(&["--config", &conf, "run"]);
        assert_eq!(out.status.code(), Some(2));
        let output = text(&out);
        assert!(
            output.contains("notify bot: telegram http://127.0.0.1:"),
            "{output}"
        );
        assert!(output.contains("check option bot_token"), "{output}");
        assert!(!output.contains(BOT_TOKEN), "the token leaked: {output}");
        // Nothing installed: only the failure, and it was never delivered.
        assert_eq!(server.requests().len(), round);
    }
    assert_eq!(server.requests()[0].json()["chat_id"], "@mychannel");
}

#[test]
fn check_names_a_broken_notify_section() {
    let tmp = TempDir::new("notify-check");
    let conf = config(
        tmp.path(),
        "config notify 'bot'\n\toption type 'telegram'\n\toption bot_token 'nonsense'\n\toption chat_id '1'\n",
    );
    let out = wancert(&["--config", &conf, "check"]);
    assert_eq!(out.status.code(), Some(2));
    let msg = text(&out);
    assert!(
        msg.contains("wancert.conf:") && msg.contains("option bot_token is not a bot token"),
        "{msg}"
    );
    assert!(!msg.contains("nonsense"), "{msg}");
    let out = wancert(&["notifiers"]);
    let list = String::from_utf8_lossy(&out.stdout);
    for t in ["command", "ntfy", "telegram", "webhook"] {
        assert!(
            list.lines().any(|l| l.starts_with(&format!("{t}\t"))),
            "{list}"
        );
    }
}
