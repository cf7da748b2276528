//! Deploy targets against real services: nginx reloaded through the `file`
//! deployer, an OpenSSH server behind a port forward reached with both SSH
//! clients OpenWrt may have, a webhook receiver; each checked over TLS.
//!
//! These tests install a certificate in the state directory themselves (a
//! fresh one, so nothing is due and no CA is needed); `lab_issues_and_deploys`
//! runs the whole way from the local ACME CA.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Lab, Service, TempDir, text, wancert, wancert_env};

const DOMAIN: &str = "demo.wancert.test";

/// A fresh pair for `DOMAIN` and its wildcard (`common::tls::fresh_pair`).
fn make_pair() -> (String, String) {
    common::tls::fresh_pair(&[DOMAIN, &format!("*.{DOMAIN}")])
}

/// Put a pair where wancert keeps the certificate `name`.
fn install(state: &Path, name: &str, pair: &(String, String)) {
    let dir = state.join("certs").join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("key.pem"), &pair.0).unwrap();
    fs::set_permissions(dir.join("key.pem"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(dir.join("fullchain.pem"), &pair.1).unwrap();
}

/// The leaf (DER) of a PEM chain.
fn leaf(chain: &str) -> Vec<u8> {
    wancert::pem::decode_all(chain, "CERTIFICATE").remove(0)
}

/// The leaf served at 127.0.0.1:`port` once it is `want`, or after 5 s
/// what is served then, read by openssl: a check independent of wancert's
/// own. Waiting, because during nginx's graceful reload old workers may
/// still answer a connection or two after a new one has answered wancert.
fn served(port: &str, want: &[u8]) -> Vec<u8> {
    let mut seen = served_now(port);
    for _ in 0..20 {
        if seen == want {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        seen = served_now(port);
    }
    seen
}

fn served_now(port: &str) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", DOMAIN])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl runs (run tests/setup.sh)");
    let pem = String::from_utf8_lossy(&out.stdout);
    wancert::pem::decode_all(&pem, "CERTIFICATE")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("nothing served on {port}: {}", text(&out)))
}

fn nginx(dir: &Path, name: &str) -> Service {
    Service::start("nginx.sh", dir, &[name], &format!("{name}.env"))
}

/// The nginx instance's reload command, one `list reload` line per word.
fn reload_lines(n: &Service) -> String {
    let prefix = n.var("NGINX_PREFIX");
    [
        "/usr/sbin/nginx",
        "-p",
        prefix,
        "-c",
        n.var("NGINX_CONF"),
        "-e",
        &format!("{prefix}/error.log"),
        "-s",
        "reload",
    ]
    .iter()
    .map(|w| format!("\tlist reload '{w}'\n"))
    .collect()
}

/// How many times the nginx instance reloaded its configuration.
fn reloads(n: &Service) -> usize {
    let log = fs::read_to_string(format!("{}/error.log", n.var("NGINX_PREFIX"))).unwrap();
    log.matches("reconfiguring").count()
}

/// A configuration file `dir/name` with one certificate deploying to
/// `deploys` (names of `config deploy` sections in `sections`). The provider
/// is never used: nothing is due.
fn config(dir: &Path, name: &str, deploys: &[&str], sections: &str) -> PathBuf {
    let list: String = deploys
        .iter()
        .map(|d| format!("\tlist deploy '{d}'\n"))
        .collect();
    let d = dir.display();
    let text = format!(
        "config wancert 'global'
\toption state_dir '{d}/state'
\toption run_dir '{d}/run'
\toption firewall_config '{d}/firewall'

config provider 'unused'
\toption type 'rfc2136'
\toption server '127.0.0.1'
\toption tsig_name 'unused'
\toption tsig_secret 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='

config cert 'demo'
\tlist domain '{DOMAIN}'
\tlist domain '*.{DOMAIN}'
\toption provider 'unused'
{list}
{sections}"
    );
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

fn run(config: &Path) -> Output {
    wancert(&["--config", config.to_str().unwrap(), "run"])
}

fn status(config: &Path) -> serde_json::Value {
    let out = wancert(&["--config", config.to_str().unwrap(), "status", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn mode(p: &str) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Modification times of every file under `dir`.
fn mtimes(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), e.metadata().unwrap().modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn file_deploy_reloads_nginx_and_a_reload_that_does_nothing_is_caught() {
    let dir = TempDir::new("deploy-nginx");
    let web = nginx(dir.path(), "web");
    let state = dir.path().join("state");
    let first = make_pair();
    install(&state, "demo", &first);
    let port = web.var("NGINX_PORT");
    let section = |reload: &str| {
        format!(
            "config deploy 'web'\n\toption type 'file'\n\toption fullchain_path '{}'\n\toption key_path '{}'\n{reload}\toption verify '127.0.0.1:{port}'\n",
            web.var("NGINX_CERT"),
            web.var("NGINX_KEY"),
        )
    };
    let conf = config(
        dir.path(),
        "web.conf",
        &["web"],
        &section(&reload_lines(&web)),
    );

    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        served(port, &leaf(&first.1)),
        leaf(&first.1),
        "nginx does not serve it"
    );
    assert_eq!(fs::read_to_string(web.var("NGINX_KEY")).unwrap(), first.0);
    assert_eq!(mode(web.var("NGINX_KEY")), 0o600);
    let s = status(&conf);
    let d = &s["certs"][0]["deploy"][0];
    assert_eq!(d["type"], "file");
    assert_eq!(d["current"], true);
    assert_eq!(d["verify"], "new", "{d}");
    assert_eq!(d["verified"], true, "{d}");
    assert!(
        d["verified_at"].is_string() && d["deployed_at"].is_string(),
        "{d}"
    );
    assert_eq!(d["endpoint"], format!("127.0.0.1:{port}"));
    assert!(d.get("last_error").is_none(), "{d}");
    // `wancert verify` asks the target again, now, and writes nothing.
    let before = mtimes(&state);
    let out = wancert(&["--config", conf.to_str().unwrap(), "verify"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "demo: web: 127.0.0.1:{port} serves the new certificate"
        )),
        "{said}"
    );
    assert_eq!(mtimes(&state), before, "verify wrote to state_dir");

    // Nothing to do: no reload, nothing written to state_dir (flash; the
    // run's own record goes to run_dir, RAM).
    let (reloaded, before) = (reloads(&web), mtimes(&state));
    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        reloads(&web),
        reloaded,
        "a run with nothing to do reloaded nginx"
    );
    assert_eq!(
        mtimes(&state),
        before,
        "a run with nothing to do wrote to state_dir"
    );

    // Renewed, but the reload command does nothing: caught and shown.
    let second = make_pair();
    install(&state, "demo", &second);
    let noop = config(
        dir.path(),
        "noop.conf",
        &["web"],
        &section("\tlist reload '/bin/true'\n"),
    );
    let out = run(&noop);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains(&format!(
            "deployed, but 127.0.0.1:{port} still serves another certificate than the new one"
        )),
        "{msg}"
    );
    assert_eq!(served(port, &leaf(&first.1)), leaf(&first.1));
    assert_eq!(fs::read_to_string(web.var("NGINX_CERT")).unwrap(), second.1);
    let out = wancert(&["--config", noop.to_str().unwrap(), "verify"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("serves another certificate than the new one"),
        "{said}"
    );
    let s = status(&noop);
    let d = &s["certs"][0]["deploy"][0];
    assert_eq!(
        (d["verify"].as_str(), d["current"].as_bool()),
        (Some("old"), Some(false))
    );
    assert!(
        d["last_error"]
            .as_str()
            .unwrap()
            .contains("did the reload command reload it?")
    );
    assert!(d["failed_since"].is_string());
    let human = wancert(&["--config", noop.to_str().unwrap(), "status"]);
    let human = text(&human);
    assert!(
        human.contains(&format!(
            "deploy web (file): still serving an old certificate at 127.0.0.1:{port}"
        )),
        "{human}"
    );
    assert!(human.contains("last error (failing since"), "{human}");

    // Fixed: the failed target is retried although its files are current.
    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(served(port, &leaf(&second.1)), leaf(&second.1));
    let s = status(&conf);
    let d = &s["certs"][0]["deploy"][0];
    assert_eq!(
        (d["verify"].as_str(), d["current"].as_bool()),
        (Some("new"), Some(true))
    );
    assert!(
        d.get("failed_since").is_none() && d.get("last_error").is_none(),
        "{d}"
    );
}

/// A realistic firewall with the forward under test (`NAS`) among others.
fn firewall(dir: &Path, nas_port: &str) {
    let text = format!(
        "config defaults\n\toption input 'REJECT'\n\toption forward 'REJECT'\n\n\
         config zone\n\toption name 'wan'\n\tlist network 'wan'\n\toption masq '1'\n\n\
         config redirect\n\toption dest 'lan'\n\toption target 'DNAT'\n\toption name 'NAS'\n\tlist proto 'tcp'\n\toption src 'wan'\n\toption src_dport '8443'\n\toption dest_ip '127.0.0.1'\n\toption dest_port '{nas_port}'\n\n\
         config redirect\n\toption name 'camera'\n\toption src 'wan'\n\toption src_dport '9443'\n\toption dest_ip '192.168.1.30'\n\toption enabled '0'\n"
    );
    fs::write(dir.join("firewall"), text).unwrap();
}

#[test]
fn ssh_deploy_follows_a_port_forward_with_both_clients() {
    let dir = TempDir::new("deploy-ssh");
    let sshd = Service::start("sshd.sh", dir.path(), &[], "sshd.env");
    // The host behind the forward: an HTTPS server the SSH login reloads.
    let nas = nginx(dir.path(), "nas");
    let nas_port = nas.var("NGINX_PORT");
    firewall(dir.path(), nas_port);
    let state = dir.path().join("state");
    let first = make_pair();
    install(&state, "demo", &first);
    let host_key = fs::read_to_string(sshd.var("SSH_HOST_KEY_FILE")).unwrap();
    let section = |client: &str, identity: &str, host_key: &str| {
        format!(
            "config deploy 'nas'\n\toption type 'ssh'\n\toption redirect 'NAS'\n\toption port '{}'\n\toption user '{}'\n\toption client '{client}'\n\toption identity '{identity}'\n\tlist host_key '{}'\n\toption fullchain_path '{}'\n\toption key_path '{}'\n{}",
            sshd.var("SSHD_PORT"),
            sshd.var("SSH_USER"),
            host_key.trim(),
            nas.var("NGINX_CERT"),
            nas.var("NGINX_KEY"),
            reload_lines(&nas),
        )
    };
    let conf = config(
        dir.path(),
        "ssh.conf",
        &["nas"],
        &section("ssh", sshd.var("SSH_IDENTITY"), &host_key),
    );
    let c = conf.to_str().unwrap();

    // The forwards, and which deploy section follows each.
    let out = wancert(&["--config", c, "targets"]);
    assert!(out.status.success(), "{}", text(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&format!(
            "NAS\ttcp\t8443 -> 127.0.0.1:{nas_port}\tenabled\tnas\n"
        )),
        "{listed}"
    );
    assert!(
        listed.contains("camera\ttcp udp\t9443 -> 192.168.1.30:9443\tdisabled\t\n"),
        "{listed}"
    );

    // OpenSSH's client.
    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(served(nas_port, &leaf(&first.1)), leaf(&first.1));
    assert_eq!(fs::read_to_string(nas.var("NGINX_KEY")).unwrap(), first.0);
    assert_eq!(mode(nas.var("NGINX_KEY")), 0o600);
    let d = status(&conf)["certs"][0]["deploy"][0].clone();
    assert_eq!(d["verify"], "new", "{d}");
    assert_eq!(d["redirect"], "NAS");
    assert_eq!(d["endpoint"], format!("127.0.0.1:{nas_port}"));
    // wancert keeps the host key it checks against.
    let known = fs::read_to_string(state.join("ssh/nas/.ssh/known_hosts")).unwrap();
    assert!(known.contains(host_key.split_whitespace().nth(1).unwrap()));

    // Renewed; dropbear's client this time.
    let second = make_pair();
    install(&state, "demo", &second);
    let conf = config(
        dir.path(),
        "dbclient.conf",
        &["nas"],
        &section("dbclient", sshd.var("SSH_IDENTITY_DROPBEAR"), &host_key),
    );
    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(served(nas_port, &leaf(&second.1)), leaf(&second.1));

    // A host that shows another key gets nothing, with either client.
    let third = make_pair();
    install(&state, "demo", &third);
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9y4kWnK4qkV4s3Y0v0nDhTjxUq8Hzvj8gUIj1k0e5Y";
    for (client, id, expect) in [
        (
            "ssh",
            sshd.var("SSH_IDENTITY"),
            "Host key verification failed",
        ),
        (
            "dbclient",
            sshd.var("SSH_IDENTITY_DROPBEAR"),
            "host key mismatch",
        ),
    ] {
        let conf = config(
            dir.path(),
            "badkey.conf",
            &["nas"],
            &section(client, id, other),
        );
        let out = run(&conf);
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(2), "{client}: {msg}");
        assert!(msg.contains(expect), "{client}: {msg}");
        assert_eq!(fs::read_to_string(nas.var("NGINX_CERT")).unwrap(), second.1);
        let d = status(&conf)["certs"][0]["deploy"][0].clone();
        assert_eq!(d["current"], false);
        assert!(d["last_error"].as_str().unwrap().contains(expect), "{d}");
    }

    // When the forward moves, the check follows it.
    firewall(dir.path(), "4443");
    let out = wancert(&["--config", c, "check"]);
    assert!(
        text(&out).contains("deploy nas (ssh): checked over TLS at 127.0.0.1:4443"),
        "{}",
        text(&out)
    );
}

#[test]
fn webhook_posts_signed_material_and_uhttpd_is_pointed_at_it() {
    let dir = TempDir::new("deploy-webhook");
    let hook = Service::start(
        "webhook.sh",
        dir.path(),
        &["t0ken", "s3cret"],
        "webhook.env",
    );
    let state = dir.path().join("state");
    let pair = make_pair();
    install(&state, "demo", &pair);
    let uhttpd = dir.path().join("uhttpd");
    let uhttpd_text = "config uhttpd 'main'\n\tlist listen_http '0.0.0.0:80'\n\toption home '/www'\n\toption cert '/etc/uhttpd.crt'\n\toption key '/etc/uhttpd.key'\n\nconfig cert 'defaults'\n\toption days '730'\n";
    fs::write(&uhttpd, uhttpd_text).unwrap();
    let sections = |secret: &str| {
        format!(
            "config deploy 'hook'\n\toption type 'webhook'\n\toption url '{}'\n\toption token 't0ken'\n\toption hmac_secret '{secret}'\n\toption ca_file '{}'\n\n\
             config deploy 'router'\n\toption type 'uhttpd'\n\toption uhttpd_config '{}'\n\tlist restart '/bin/true'\n",
            hook.var("WEBHOOK_URL"),
            hook.var("WEBHOOK_CA"),
            uhttpd.display()
        )
    };
    let conf = config(
        dir.path(),
        "hook.conf",
        &["hook", "router"],
        &sections("s3cret"),
    );
    let out = run(&conf);
    assert!(out.status.success(), "{}", text(&out));

    let out_dir = Path::new(hook.var("WEBHOOK_OUT"));
    let body: serde_json::Value =
        serde_json::from_slice(&fs::read(out_dir.join("0.json")).unwrap()).unwrap();
    assert_eq!(body["fullchain"], pair.1.as_str());
    assert_eq!(body["key"], pair.0.as_str());
    assert_eq!(body["domains"][1], format!("*.{DOMAIN}"));
    // uhttpd: two lines changed, the rest as it was.
    let certs = state.join("certs/demo");
    let expected = uhttpd_text
        .replace(
            "/etc/uhttpd.crt",
            &certs.join("fullchain.pem").display().to_string(),
        )
        .replace(
            "/etc/uhttpd.key",
            &certs.join("key.pem").display().to_string(),
        );
    assert_eq!(fs::read_to_string(&uhttpd).unwrap(), expected);
    let s = status(&conf);
    for d in s["certs"][0]["deploy"].as_array().unwrap() {
        assert_eq!(d["verify"], "not_configured", "{d}");
        assert_eq!(d["current"], true, "{d}");
    }

    // The receiver refuses a wrong signature; the error says so and shows
    // no secret.
    install(&state, "demo", &make_pair());
    let conf = config(
        dir.path(),
        "wrong.conf",
        &["hook", "router"],
        &sections("wrong"),
    );
    let out = run(&conf);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(msg.contains("answered HTTP 401: bad signature"), "{msg}");
    assert!(!msg.contains("t0ken") && !msg.contains("wrong"), "{msg}");
    assert_eq!(fs::read_dir(out_dir).unwrap().count(), 1);
    let s = status(&conf);
    let (hook_d, router_d) = (&s["certs"][0]["deploy"][0], &s["certs"][0]["deploy"][1]);
    assert_eq!(
        (hook_d["current"].as_bool(), router_d["current"].as_bool()),
        (Some(false), Some(true))
    );
    let human = text(&wancert(&["--config", conf.to_str().unwrap(), "status"]));
    assert!(
        !human.contains("s3cret") && !human.contains("t0ken"),
        "{human}"
    );
}

/// Done when: a certificate issued by the local CA reaches an nginx target
/// reloaded through `file` and an SSH target behind a port forward, each
/// checked over TLS, OpenWrt's acme events are emitted, and a reload that
/// does nothing is caught.
#[test]
fn lab_issues_and_deploys_to_nginx_and_ssh_targets() {
    let lab = Lab::up("deploy-lab");
    let dir = lab.dir.path();
    let web = nginx(dir, "web");
    let sshd = Service::start("sshd.sh", dir, &[], "sshd.env");
    let nas = nginx(dir, "nas");
    firewall(dir, nas.var("NGINX_PORT"));
    // Stand-ins for OpenWrt's hotplug-call and ubus that record their calls.
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let events = dir.join("events.log");
    for (tool, line) in [
        (
            "hotplug-call",
            "hotplug $1 ACTION=$ACTION CERT_NAME=$CERT_NAME DOMAIN=$DOMAIN",
        ),
        ("ubus", "ubus $*"),
    ] {
        let path = bin.join(tool);
        fs::write(
            &path,
            format!("#!/bin/sh\necho \"{line}\" >> '{}'\n", events.display()),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let host_key = fs::read_to_string(sshd.var("SSH_HOST_KEY_FILE")).unwrap();
    let web_port = web.var("NGINX_PORT").to_string();
    let deploys = |web_reload: &str| {
        format!(
            "\tlist deploy 'web'\n\tlist deploy 'nas'\n\n\
             config deploy 'web'\n\toption type 'file'\n\toption cert_path '{}'\n\toption chain_path '{}/chain.pem'\n\toption key_path '{}'\n{web_reload}\toption verify '127.0.0.1:{web_port}'\n\n\
             config deploy 'nas'\n\toption type 'ssh'\n\toption redirect 'NAS'\n\toption port '{}'\n\toption user '{}'\n\toption identity '{}'\n\tlist host_key '{}'\n\toption fullchain_path '{}'\n\toption key_path '{}'\n{}",
            web.var("NGINX_CERT"),
            web.var("NGINX_PREFIX"),
            web.var("NGINX_KEY"),
            sshd.var("SSHD_PORT"),
            sshd.var("SSH_USER"),
            sshd.var("SSH_IDENTITY_DROPBEAR"),
            host_key.trim(),
            nas.var("NGINX_CERT"),
            nas.var("NGINX_KEY"),
            reload_lines(&nas),
        )
    };
    let variant = |name: &str, web_reload: String| {
        let firewall = dir.join("firewall");
        lab.config_variant(name, |t| {
            t.replace("\tlist deploy 'files'\n", &deploys(&web_reload))
                .replace(
                    "config wancert 'global'\n",
                    &format!(
                        "config wancert 'global'\n\toption firewall_config '{}'\n",
                        firewall.display()
                    ),
                )
        })
    };
    let conf = variant("deploy.conf", reload_lines(&web));
    let c = conf.to_str().unwrap();

    let out = wancert_env(&["--config", c, "run"], &[("PATH", &path)]);
    assert!(out.status.success(), "{}", text(&out));
    let chain = fs::read_to_string(lab.state().join("certs/demo/fullchain.pem")).unwrap();
    assert_eq!(served(&web_port, &leaf(&chain)), leaf(&chain), "web");
    assert_eq!(
        served(nas.var("NGINX_PORT"), &leaf(&chain)),
        leaf(&chain),
        "nas"
    );
    let s = status(&conf);
    for d in s["certs"][0]["deploy"].as_array().unwrap() {
        assert_eq!(
            (d["verify"].as_str(), d["current"].as_bool()),
            (Some("new"), Some(true)),
            "{d}"
        );
    }
    let log = fs::read_to_string(&events).unwrap();
    assert_eq!(
        log,
        format!(
            "hotplug acme ACTION=issued CERT_NAME=demo DOMAIN={DOMAIN}\nubus call service event {{\"type\":\"acme.issue\",\"data\":{{\"name\":\"demo\"}}}}\n"
        )
    );

    // Renewed, and the web server's reload does nothing.
    let noop = variant("noop.conf", "\tlist reload '/bin/true'\n".into());
    let out = wancert_env(
        &["--config", noop.to_str().unwrap(), "renew", "--force"],
        &[("PATH", &path)],
    );
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("still serves another certificate than the new one"),
        "{msg}"
    );
    let renewed = fs::read_to_string(lab.state().join("certs/demo/fullchain.pem")).unwrap();
    assert_ne!(renewed, chain);
    assert_eq!(
        served(&web_port, &leaf(&chain)),
        leaf(&chain),
        "web still has the old one"
    );
    assert_eq!(
        served(nas.var("NGINX_PORT"), &leaf(&renewed)),
        leaf(&renewed),
        "nas has the new one"
    );
    let s = status(&noop);
    let (w, n) = (&s["certs"][0]["deploy"][0], &s["certs"][0]["deploy"][1]);
    assert_eq!(
        (w["verify"].as_str(), w["current"].as_bool()),
        (Some("old"), Some(false)),
        "{w}"
    );
    assert_eq!(
        (n["verify"].as_str(), n["current"].as_bool()),
        (Some("new"), Some(true)),
        "{n}"
    );
    assert!(fs::read_to_string(&events).unwrap().ends_with(
        "hotplug acme ACTION=renewed CERT_NAME=demo DOMAIN=demo.wancert.test\nubus call service event {\"type\":\"acme.renew\",\"data\":{\"name\":\"demo\"}}\n"
    ));

    // The next run with a working reload finishes the job: the web target
    // only, since the nas target has the certificate.
    let out = wancert_env(&["--config", c, "run"], &[("PATH", &path)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(served(&web_port, &leaf(&renewed)), leaf(&renewed));
    assert!(!text(&out).contains("deployed to nas"), "{}", text(&out));
}
