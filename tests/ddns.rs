//! `wancert ddns`, the real binary: addresses from a stand-in `ubus` that
//! prints real-shaped netifd dumps (tests/fixtures/ddns), or from this
//! machine's kernel; records sent to a local dyndns2 server that answers
//! each code of the protocol and counts requests.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use common::httpd::{Request, Response, Server};
use common::{TempDir, text, wancert};

const PASSWORD: &str = "s3cret-Pa55";

/// A router in a temporary directory: a fake `ubus`, a dyndns2 service and
/// a web echo on loopback.
struct Router {
    dir: TempDir,
    /// The dyndns2 service answers this to the next update.
    answer: Arc<Mutex<String>>,
    service: Server,
}

impl Router {
    fn new(tag: &str) -> Router {
        let dir = TempDir::new(tag);
        let ubus = dir.path().join("ubus");
        // Stands in for OpenWrt's ubus: it answers the one question wancert
        // asks, with the argv checked, from dump.json next to it.
        fs::write(
            &ubus,
            "#!/bin/sh\n\
             if [ \"$*\" != \"call network.interface dump\" ]; then\n\
             \techo \"fake ubus: unexpected arguments: $*\" >&2; exit 1\n\
             fi\n\
             exec cat \"$(dirname \"$0\")/dump.json\"\n",
        )
        .unwrap();
        fs::set_permissions(&ubus, fs::Permissions::from_mode(0o755)).unwrap();
        let answer = Arc::new(Mutex::new("good".to_string()));
        let said = answer.clone();
        let service = Server::start(move |r: &Request| match r.path() {
            "/nic/update" => Response::text(200, &said.lock().unwrap()),
            // The web echo: what the Internet sees of the dual-stack router.
            "/ip" => Response::text(200, "203.0.113.45\n"),
            _ => Response::text(404, "not found"),
        });
        let router = Router {
            dir,
            answer,
            service,
        };
        router.dump("ubus_dual_stack.json");
        router
    }

    /// What `ubus call network.interface dump` prints from now on.
    fn dump(&self, fixture: &str) {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ddns")
            .join(fixture);
        fs::copy(from, self.dir.path().join("dump.json")).unwrap();
    }

    fn answer(&self, code: &str) {
        *self.answer.lock().unwrap() = code.into();
    }

    /// Write the configuration with `record` as the ddns section's extra
    /// options and `password` for the provider.
    fn config(&self, record: &str, password: &str) -> PathBuf {
        let d = self.dir.path().display();
        let text = format!(
            "config wancert 'global'\n\
             \toption state_dir '{d}/state'\n\
             \toption run_dir '{d}/run'\n\
             \toption ubus '{d}/ubus'\n\
             \t# Nothing listens here: the DNS lookup after a reboot fails fast.\n\
             \tlist propagation_server '127.0.0.1:1'\n\
             config provider 'noip'\n\
             \toption type 'dyndns2'\n\
             \toption server '{url}'\n\
             \toption username 'user@example.com'\n\
             \toption password '{password}'\n\
             config ddns 'home'\n\
             \toption provider 'noip'\n\
             \toption domain 'home.example.com'\n\
             {echo}{record}",
            url = self.service.url(),
            // The web echo for the NAT check, unless the test lists its own.
            echo = if record.contains("web_url") {
                String::new()
            } else {
                format!("\tlist web_url '{}/ip'\n", self.service.url())
            }
        );
        let path = self.dir.path().join("wancert.conf");
        fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, config: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        wancert(&all)
    }

    /// Requests to /nic/update so far.
    fn updates(&self) -> Vec<Request> {
        self.service
            .requests()
            .into_iter()
            .filter(|r| r.path() == "/nic/update")
            .collect()
    }

    fn status(&self, config: &Path) -> serde_json::Value {
        let out = self.run(config, &["status", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(!text(&out).contains(PASSWORD));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Every file under `dir` with its modification time and size; empty when
/// `dir` does not exist.
fn snapshot(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), meta.modified().unwrap(), meta.len()));
        }
    }
    out.sort();
    out
}

fn query(r: &Request, key: &str) -> Option<String> {
    r.query()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[test]
fn updates_once_then_costs_nothing_and_follows_a_renumbering() {
    let router = Router::new("ddns-dyndns2");
    let config = router.config("", PASSWORD);

    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    let updates = router.updates();
    assert_eq!(updates.len(), 1, "{}", text(&out));
    let u = &updates[0];
    assert_eq!(query(u, "hostname").as_deref(), Some("home.example.com"));
    assert_eq!(query(u, "myip").as_deref(), Some("203.0.113.45"));
    assert_eq!(query(u, "myipv6").as_deref(), Some("2001:db8:0:1::1234"));
    // Basic authentication, as the protocol wants it.
    let expected = format!(
        "Basic {}",
        wancert::b64::std(format!("user@example.com:{PASSWORD}").as_bytes())
    );
    assert_eq!(u.header("authorization"), Some(expected.as_str()));
    assert!(!text(&out).contains(PASSWORD));

    // A run with nothing to do: no request and no write under state_dir.
    let state_before = snapshot(&router.dir.path().join("state"));
    // The cache in run_dir (RAM): only its `checked` time may move.
    let cache = || {
        let text = fs::read_to_string(router.dir.path().join("run/ddns.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("checked");
        v
    };
    let cache_before = cache();
    let requests_before = router.service.requests().len();
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let out = router.run(&config, &["ddns"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let out = router.run(&config, &["run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        router.service.requests().len(),
        requests_before,
        "no HTTP request at all"
    );
    assert_eq!(snapshot(&router.dir.path().join("state")), state_before);
    assert!(
        state_before.is_empty(),
        "DDNS never writes under state_dir: {state_before:?}"
    );
    assert_eq!(cache(), cache_before);

    // The ISP renumbers: the AAAA follows, the unchanged A goes along (the
    // protocol sets both at once).
    router.dump("ubus_renumbered.json");
    router.answer("nochg");
    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    let updates = router.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        query(&updates[1], "myipv6").as_deref(),
        Some("2001:db8:0:2::77")
    );

    let status = router.status(&config);
    let rec = &status["ddns"][0];
    assert_eq!(rec["name"], "home");
    let both = serde_json::json!(["203.0.113.45", "2001:db8:0:2::77"]);
    assert_eq!(rec["addresses"], both);
    assert_eq!(rec["desired"], both);
    assert_eq!(rec["current"], true);
    assert!(rec["last_update"].is_string() && rec["confirmed"].is_string());
    assert!(rec.get("refused").is_none() && rec.get("last_error").is_none());
    assert_eq!(status["version"], 1);
    assert_eq!(status["wan"]["ipv4"], serde_json::json!(["203.0.113.45"]));
    assert_eq!(
        status["wan"]["ipv6"],
        serde_json::json!(["2001:db8:0:2::77"])
    );
    assert!(status["wan"]["checked"].is_string());
    assert!(status["wan"].get("nat").is_none());
}

#[test]
fn a_lan_host_gets_its_own_aaaa_that_follows_the_prefix() {
    let router = Router::new("ddns-lanhost");
    let config = router.config(
        "\toption ipv4 '0'\n\toption host_suffix '::1:2'\n",
        PASSWORD,
    );
    assert!(router.run(&config, &["ddns"]).status.success());
    router.dump("ubus_renumbered.json");
    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    let sent: Vec<Option<String>> = router
        .updates()
        .iter()
        .map(|u| query(u, "myipv6"))
        .collect();
    assert_eq!(
        sent,
        [
            Some("2001:db8:aa00:10::1:2".to_string()),
            Some("2001:db8:bb00:10::1:2".to_string())
        ]
    );
    assert!(router.updates().iter().all(|u| query(u, "myip").is_none()));
}

#[test]
fn account_errors_stop_retries_until_the_configuration_changes() {
    for code in [
        "badauth", "nohost", "abuse", "notfqdn", "!donator", "badagent", "numhost",
    ] {
        let router = Router::new("ddns-refused");
        let config = router.config("", PASSWORD);
        router.answer(code);
        let out = router.run(&config, &["ddns"]);
        assert_eq!(out.status.code(), Some(2), "{code}: {}", text(&out));
        assert!(
            text(&out).contains(&format!("({code})")),
            "{code}: {}",
            text(&out)
        );
        assert!(!text(&out).contains(PASSWORD));
        // Later runs do not ask again, and say why.
        for _ in 0..2 {
            let out = router.run(&config, &["ddns"]);
            assert_eq!(out.status.code(), Some(2), "{code}: {}", text(&out));
            assert!(text(&out).contains("--force"), "{}", text(&out));
        }
        assert_eq!(router.updates().len(), 1, "{code}: one request only");
        let status = router.status(&config);
        assert_eq!(status["ddns"][0]["refused"], true, "{code}");
        assert!(
            status["ddns"][0]["last_error"]
                .as_str()
                .unwrap()
                .contains(code)
        );

        // Fixing the password (any change of the record or its provider)
        // lifts the stop.
        router.answer("good");
        let fixed = router.config("", "another-password");
        let out = router.run(&fixed, &["ddns"]);
        assert!(out.status.success(), "{code}: {}", text(&out));
        assert_eq!(router.updates().len(), 2, "{code}");
        assert!(router.status(&fixed)["ddns"][0].get("refused").is_none());
    }
}

#[test]
fn service_trouble_backs_off_and_force_overrides() {
    for code in ["911", "dnserr"] {
        let router = Router::new("ddns-911");
        let config = router.config("", PASSWORD);
        router.answer(code);
        let out = router.run(&config, &["ddns"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains("30 minutes"), "{}", text(&out));
        let out = router.run(&config, &["ddns"]);
        assert!(
            out.status.success(),
            "backing off is not a failure: {}",
            text(&out)
        );
        assert_eq!(router.updates().len(), 1, "backing off");
        let status = router.status(&config);
        assert!(status["ddns"][0]["next_attempt"].is_string(), "{status}");
        router.answer("good");
        let out = router.run(&config, &["ddns", "--force", "home"]);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(router.updates().len(), 2);
    }
}

#[test]
fn behind_carrier_grade_nat_the_a_record_is_left_alone() {
    let router = Router::new("ddns-cgnat");
    router.dump("ubus_pppoe_cgnat.json");
    let config = router.config("", PASSWORD);
    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("100.72.13.5 is a carrier-grade NAT address"),
        "{}",
        text(&out)
    );
    let u = &router.updates()[0];
    assert_eq!(query(u, "myip"), None);
    assert_eq!(query(u, "myipv6").as_deref(), Some("2001:db8:dd:1::5"));
    let status = router.status(&config);
    let nat = status["wan"]["nat"].as_str().unwrap();
    assert!(
        nat.starts_with("100.72.13.5: a carrier-grade NAT address"),
        "{nat}"
    );
    assert!(status["wan"].get("ipv4").is_none(), "{status}");
    assert_eq!(
        status["ddns"][0]["desired"],
        serde_json::json!(["2001:db8:dd:1::5"])
    );
    // The warning is news once; later runs keep quiet about it.
    let out = router.run(&config, &["ddns"]);
    assert!(!text(&out).contains("carrier-grade"), "{}", text(&out));

    // cgnat 'web': the address the Internet sees instead.
    let web = router.config("\toption cgnat 'web'\n", PASSWORD);
    let out = router.run(&web, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    let last = router.updates().pop().unwrap();
    assert_eq!(query(&last, "myip").as_deref(), Some("203.0.113.45"));
}

#[test]
fn this_machines_kernel_as_the_source() {
    // The kernel's own view: `ip addr show` on the default route's device,
    // /proc/net/if_inet6, and the route source toward the Internet. What it
    // publishes must match what `ip route get` says.
    let route = std::process::Command::new("ip")
        .args(["-4", "route", "get", "1.1.1.1"])
        .output()
        .unwrap();
    let route = String::from_utf8_lossy(&route.stdout).into_owned();
    let words: Vec<&str> = route.split_whitespace().collect();
    let src = words
        .iter()
        .position(|w| *w == "src")
        .map(|i| words[i + 1].to_string())
        .expect("this test needs an IPv4 default route");
    for source in ["interface", "route"] {
        let router = Router::new("ddns-kernel");
        let config = router.config(
            &format!("\toption source '{source}'\n\toption nat_check '0'\n\toption cgnat 'skip'\n"),
            PASSWORD,
        );
        let out = router.run(&config, &["-v", "ddns"]);
        assert!(out.status.success(), "{source}: {}", text(&out));
        let sent = router.updates();
        let v4: std::net::Ipv4Addr = src.parse().unwrap();
        let private = v4.is_private() || (v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64);
        if private {
            // Behind NAT on this machine: nothing published for IPv4.
            assert!(sent.iter().all(|u| query(u, "myip").is_none()), "{source}");
        } else {
            assert_eq!(
                query(&sent[0], "myip"),
                Some(src.clone()),
                "{source}: {}",
                text(&out)
            );
        }
        // Whatever IPv6 this machine has, a ULA or link-local address is
        // never published (this lab's eth0 has only fd00::2 and fe80::).
        for u in &sent {
            if let Some(v6) = query(u, "myipv6") {
                let v6: std::net::Ipv6Addr = v6.parse().unwrap();
                assert_eq!(v6.segments()[0] & 0xe000, 0x2000, "{source}: {v6}");
            }
        }
    }
}

#[test]
fn web_echo_services_are_asked_over_the_forced_family() {
    // One echo service on IPv6 loopback only, one on IPv4 loopback only;
    // each is listed for both families. Forced to one family, the client
    // cannot reach the other family's service, so each answers once.
    let v6 = Server::start_on("[::1]:0", |_: &Request| {
        Response::text(200, "2001:db8:77::45\n")
    });
    let v4 = Server::start(|_: &Request| Response::text(200, "198.51.100.45\n"));
    let router = Router::new("ddns-web");
    let config = router.config(
        &format!(
            "\toption source 'web'\n\tlist web_url '{}/ip'\n\tlist web_url '{}/ip'\n",
            v6.url(),
            v4.url()
        ),
        PASSWORD,
    );
    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    let u = &router.updates()[0];
    assert_eq!(query(u, "myip").as_deref(), Some("198.51.100.45"));
    assert_eq!(query(u, "myipv6").as_deref(), Some("2001:db8:77::45"));
    assert_eq!(
        v6.requests().len(),
        1,
        "only the IPv6 lookup reached the IPv6 service"
    );
    assert_eq!(
        v4.requests().len(),
        1,
        "only the IPv4 lookup reached the IPv4 service"
    );
    // Unchanged: the web source is the one lookup of a no-op run.
    let out = router.run(&config, &["ddns"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(router.updates().len(), 1);
    assert_eq!((v4.requests().len(), v6.requests().len()), (2, 2));
}

/// A throw-away authoritative server for `wancert.test`, started by the
/// project's lab script (`knot.sh`: TSIG updates; `pdns.sh`: PowerDNS with
/// its HTTP API); stopped on drop.
struct Dns {
    script: &'static str,
    dir: TempDir,
    env: std::collections::HashMap<String, String>,
}

impl Dns {
    fn start(script: &'static str) -> Dns {
        let dir = TempDir::new("ddns-lab");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/lab")
            .join(script);
        let out = std::process::Command::new("bash")
            .arg(&path)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tests/lab/{script} failed (tests/setup.sh installs knot and PowerDNS):\n{}",
            text(&out)
        );
        let env_file = format!("{}.env", script.trim_end_matches(".sh"));
        let env = fs::read_to_string(dir.path().join(env_file))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Dns { script, dir, env }
    }

    fn var(&self, k: &str) -> &str {
        &self.env[k]
    }

    fn port(&self) -> &str {
        match self.script {
            "pdns.sh" => self.var("PDNS_PORT"),
            _ => self.var("KNOT_PORT"),
        }
    }

    /// What the server answers for `name` and `rtype`.
    fn dig(&self, rtype: &str, name: &str) -> Vec<String> {
        let out = std::process::Command::new("kdig")
            .args(["@127.0.0.1", "-p", self.port(), "+short", rtype, name])
            .output()
            .unwrap();
        let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// The zone's serial: every accepted UPDATE raises it (Knot).
    fn serial(&self) -> String {
        let soa = self.dig("SOA", "wancert.test");
        soa[0].split_whitespace().nth(2).unwrap().to_string()
    }

    /// Change the zone behind wancert's back, as another client would
    /// (Knot, TSIG-signed).
    fn nsupdate(&self, commands: &str) {
        let key = format!(
            "{}:{}:{}",
            self.var("TSIG_ALGORITHM"),
            self.var("TSIG_NAME"),
            self.var("TSIG_SECRET")
        );
        let mut child = std::process::Command::new("knsupdate")
            .args(["-y", &key])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("knsupdate runs (knot-dnsutils)");
        let script = format!(
            "server 127.0.0.1 {}\nzone wancert.test\n{commands}\nsend\nquit\n",
            self.port()
        );
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "knsupdate: {}", text(&out));
    }

    /// A configuration with `provider` (a `config provider` section's
    /// options) and `records`; records are read back from this server.
    fn config(&self, router: &Router, provider: &str, records: &str) -> PathBuf {
        let d = router.dir.path().display();
        let text = format!(
            "config wancert 'global'\n\
             \toption state_dir '{d}/state'\n\
             \toption run_dir '{d}/run'\n\
             \toption ubus '{d}/ubus'\n\
             \tlist propagation_server '127.0.0.1:{}'\n\
             config provider 'dns'\n\
             {provider}{records}",
            self.port()
        );
        let path = router.dir.path().join("lab.conf");
        fs::write(&path, text).unwrap();
        path
    }

    /// The rfc2136 provider options for Knot.
    fn rfc2136(&self) -> String {
        format!(
            "\toption type 'rfc2136'\n\
             \toption server '127.0.0.1'\n\
             \toption port '{}'\n\
             \toption tsig_name '{}'\n\
             \toption tsig_algorithm '{}'\n\
             \toption tsig_secret '{}'\n",
            self.port(),
            self.var("TSIG_NAME"),
            self.var("TSIG_ALGORITHM"),
            self.var("TSIG_SECRET"),
        )
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/lab")
            .join(self.script);
        let _ = std::process::Command::new("bash")
            .arg(path)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// The two records the lab tests keep: the router (A and AAAA) and a NAS
/// on its LAN (AAAA only, its EUI-64 identifier).
fn home_and_nas(router: &Router) -> String {
    format!(
        "config ddns 'home'\n\
         \toption provider 'dns'\n\
         \toption domain 'home.wancert.test'\n\
         \toption ttl '120'\n\
         \tlist web_url '{}/ip'\n\
         config ddns 'nas'\n\
         \toption provider 'dns'\n\
         \toption domain 'nas.wancert.test'\n\
         \toption ipv4 '0'\n\
         \toption mac '00:11:32:12:34:56'\n",
        router.service.url()
    )
}

#[test]
fn knot_records_follow_the_wan_and_a_lan_host_and_drift_is_repaired() {
    let knot = Dns::start("knot.sh");
    let router = Router::new("ddns-rfc2136");
    let config = knot.config(&router, &knot.rfc2136(), &home_and_nas(&router));
    let run = |what: &str| {
        let out = router.run(&config, &["ddns"]);
        assert!(out.status.success(), "{what}: {}", text(&out));
        out
    };
    run("first run");
    assert_eq!(knot.dig("A", "home.wancert.test"), ["203.0.113.45"]);
    assert_eq!(
        knot.dig("AAAA", "home.wancert.test"),
        ["2001:db8:0:1::1234"]
    );
    assert_eq!(
        knot.dig("AAAA", "nas.wancert.test"),
        ["2001:db8:aa00:10:211:32ff:fe12:3456"]
    );
    assert!(knot.dig("A", "nas.wancert.test").is_empty());

    // Nothing changed: no UPDATE (the serial stays), nothing under state_dir.
    let serial = knot.serial();
    run("no-op");
    run("no-op");
    assert_eq!(knot.serial(), serial);
    assert!(snapshot(&router.dir.path().join("state")).is_empty());

    // After a reboot (run_dir is RAM: the cache is gone) the records are
    // read back from the server; unchanged, they cost no UPDATE either.
    fs::remove_dir_all(router.dir.path().join("run")).unwrap();
    run("after a reboot");
    assert_eq!(knot.serial(), serial);

    // Someone changes the A record by hand, and the router reboots: the
    // lookup sees the drift and repairs it.
    knot.nsupdate(
        "update delete home.wancert.test A\nupdate add home.wancert.test 60 A 192.0.2.99",
    );
    fs::remove_dir_all(router.dir.path().join("run")).unwrap();
    run("drift");
    assert_eq!(knot.dig("A", "home.wancert.test"), ["203.0.113.45"]);

    // The ISP renumbers: the router's AAAA and the NAS's follow; A stays.
    router.dump("ubus_renumbered.json");
    run("renumbered");
    assert_eq!(knot.dig("AAAA", "home.wancert.test"), ["2001:db8:0:2::77"]);
    assert_eq!(
        knot.dig("AAAA", "nas.wancert.test"),
        ["2001:db8:bb00:10:211:32ff:fe12:3456"]
    );
    assert_eq!(knot.dig("A", "home.wancert.test"), ["203.0.113.45"]);

    let status = router.status(&config);
    assert_eq!(
        status["ddns"][1]["addresses"][0],
        "2001:db8:bb00:10:211:32ff:fe12:3456"
    );
    assert!(
        !serde_json::to_string(&status)
            .unwrap()
            .contains(knot.var("TSIG_SECRET"))
    );
}

#[test]
fn powerdns_records_follow_the_wan_and_a_no_op_run_makes_no_api_call() {
    let pdns = Dns::start("pdns.sh");
    // Every connection to the HTTP API goes through this relay, which
    // counts them: the measure of "no provider call".
    let api: std::net::SocketAddr = pdns
        .var("PDNS_API")
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let relay = common::dns::TcpRelay::start(api);
    let router = Router::new("ddns-powerdns");
    let provider = format!(
        "\toption type 'powerdns'\n\
         \toption endpoint 'http://127.0.0.1:{}'\n\
         \toption api_key '{}'\n",
        relay.port,
        pdns.var("PDNS_API_KEY")
    );
    let config = pdns.config(&router, &provider, &home_and_nas(&router));
    let run = |what: &str| {
        let out = router.run(&config, &["ddns"]);
        assert!(out.status.success(), "{what}: {}", text(&out));
    };
    run("first run");
    assert_eq!(pdns.dig("A", "home.wancert.test"), ["203.0.113.45"]);
    assert_eq!(
        pdns.dig("AAAA", "home.wancert.test"),
        ["2001:db8:0:1::1234"]
    );
    assert_eq!(
        pdns.dig("AAAA", "nas.wancert.test"),
        ["2001:db8:aa00:10:211:32ff:fe12:3456"]
    );
    let calls = relay.connections();
    assert!(calls > 0);

    // Nothing changed: not one API connection, nothing under state_dir.
    run("no-op");
    run("no-op");
    assert_eq!(relay.connections(), calls, "a no-op run called the API");
    assert!(snapshot(&router.dir.path().join("state")).is_empty());

    // After a reboot the records are read back over DNS, not the API.
    fs::remove_dir_all(router.dir.path().join("run")).unwrap();
    run("after a reboot");
    assert_eq!(
        relay.connections(),
        calls,
        "unchanged records cost no API call"
    );

    // The ISP renumbers: both AAAA records follow.
    router.dump("ubus_renumbered.json");
    run("renumbered");
    assert_eq!(pdns.dig("AAAA", "home.wancert.test"), ["2001:db8:0:2::77"]);
    assert_eq!(
        pdns.dig("AAAA", "nas.wancert.test"),
        ["2001:db8:bb00:10:211:32ff:fe12:3456"]
    );
    assert_eq!(pdns.dig("A", "home.wancert.test"), ["203.0.113.45"]);
    assert!(relay.connections() > calls);
}
