//! The rfc2136 provider and the propagation check against real DNS servers:
//! Knot and BIND (started by `tests/lab/{knot,bind}.sh` in temporary
//! directories), a BIND secondary that lags behind its Knot primary, a server
//! that never answers, and a DoH endpoint in front of Knot standing in for a
//! public resolver.
//!
//! Needs knotd, named and kdig (`tests/setup.sh` installs them); without them
//! these tests fail, on purpose: a skipped test would hide that TSIG and
//! UPDATE were never checked against a real server.

mod common;

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

use common::dns::{Server, Silent, TcpRelay, doh_server};
use wancert::clock::SystemClock;
use wancert::config::{PluginSection, Propagation};
use wancert::dns::wire::{Message, Name, rtype};
use wancert::http::{Http, LazyHttp, Request, Response};
use wancert::propagation;
use wancert::providers::{self, DnsProvider, Env, Family};

struct NoHttp;

impl Http for NoHttp {
    fn send(&self, req: &Request<'_>) -> wancert::Result<Response> {
        panic!("unexpected HTTP request to {}", req.url)
    }
}

const ENV: Env<'static> = Env {
    http: &NoHttp,
    clock: &SystemClock,
};

fn provider(section: &PluginSection) -> Box<dyn DnsProvider> {
    match providers::build(section, &ENV) {
        Ok(p) => p,
        Err(e) => panic!("build: {e}"),
    }
}

const AT: &str = "_acme-challenge.wancert.test";

/// Ask exactly `servers`, quickly, and never a DoH resolver on the Internet.
fn check(servers: Vec<String>, timeout: Duration) -> Propagation {
    Propagation {
        servers,
        doh_servers: Vec::new(),
        timeout,
        interval: Duration::from_millis(200),
        wait: None,
    }
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = list.iter().map(|a| a.parse().unwrap()).collect();
    v.sort();
    v
}

/// TXT values added and removed one by one, then DDNS address sets
/// replaced, through `p`, checked by asking `server`. Names start with
/// `label`, so that runs do not see each other's records.
fn exercise(server: &Server, label: &str, p: &mut dyn DnsProvider) {
    let at = format!("_acme-challenge.{label}.wancert.test");
    p.add_txt(&at, "value-one").unwrap();
    p.add_txt(&at, "value-two").unwrap();
    assert_eq!(server.txt(&at), ["value-one", "value-two"], "{label}");
    p.remove_txt(&at, "value-one").unwrap();
    assert_eq!(
        server.txt(&at),
        ["value-two"],
        "{label}: removes exactly one"
    );
    // Removing an absent value is fine.
    p.remove_txt(&at, "value-one").unwrap();
    p.remove_txt(&at, "value-two").unwrap();
    assert!(server.txt(&at).is_empty(), "{label}");

    let host = format!("{label}.wancert.test");
    let a = |s: &Server| s.addresses(&host, rtype::A);
    let aaaa = |s: &Server| s.addresses(&host, rtype::AAAA);
    p.set_address(&host, Family::V4, &ips(&["192.0.2.10", "192.0.2.11"]), 300)
        .unwrap();
    assert_eq!(a(server), ips(&["192.0.2.10", "192.0.2.11"]), "{label}");
    let answer = server.ask(&host, rtype::A);
    assert!(answer.answers.iter().all(|rr| rr.ttl == 300), "{answer:?}");
    p.set_address(&host, Family::V6, &ips(&["2001:db8::1"]), 300)
        .unwrap();
    assert_eq!(aaaa(server), ips(&["2001:db8::1"]), "{label}");
    assert_eq!(a(server).len(), 2, "{label}: AAAA leaves A alone");
    p.set_address(&host, Family::V4, &ips(&["192.0.2.12"]), 300)
        .unwrap();
    assert_eq!(a(server), ips(&["192.0.2.12"]), "{label}: replaces the set");
    p.set_address(&host, Family::V4, &[], 300).unwrap();
    assert!(a(server).is_empty(), "{label}");
    assert_eq!(aaaa(server), ips(&["2001:db8::1"]), "{label}");
    p.set_address(&host, Family::V6, &[], 300).unwrap();
    assert!(aaaa(server).is_empty(), "{label}");
    let e = p
        .set_address(&host, Family::V4, &ips(&["2001:db8::2"]), 300)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2001:db8::2 is not an IPv4 address: cannot set the A records"),
        "{e}"
    );
}

/// `exercise` with each TSIG key (hmac-sha256, hmac-sha512), over UDP and
/// over TCP. The TCP runs go through a relay that has nothing on UDP, so
/// they pass only if every exchange (zone discovery included) used TCP.
fn every_transport_and_key(server: &Server) {
    let relay = TcpRelay::start(server.addr());
    let relay_port = relay.port.to_string();
    let keys = [
        ("hmac-sha256", "TSIG_NAME", "TSIG_SECRET"),
        ("hmac-sha512", "TSIG512_NAME", "TSIG512_SECRET"),
    ];
    for (alg, name_var, secret_var) in keys {
        for tcp in [false, true] {
            let label = format!(
                "{}-{}-{}",
                server.kind(),
                alg.trim_start_matches("hmac-"),
                if tcp { "tcp" } else { "udp" }
            );
            let mut opts = vec![
                ("tsig_name", server.var(name_var)),
                ("tsig_algorithm", alg),
                ("tsig_secret", server.var(secret_var)),
            ];
            if tcp {
                opts.extend([("tcp", "1"), ("port", relay_port.as_str())]);
            }
            let before = relay.connections();
            let mut p = provider(&server.section(&opts));
            exercise(server, &label, p.as_mut());
            if tcp {
                assert!(
                    relay.connections() > before,
                    "{label}: nothing went over TCP"
                );
            } else {
                assert_eq!(relay.connections(), before, "{label}: went over TCP");
            }
        }
    }
}

#[test]
fn rfc2136_against_knot() {
    every_transport_and_key(&Server::knot());
}

#[test]
fn rfc2136_against_bind() {
    every_transport_and_key(&Server::bind());
}

/// Wrong credentials and zones the server does not hold: one clear line
/// each, naming the option to fix, never the secret; nothing left behind.
fn clear_errors(server: &Server) {
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut p = provider(&server.section(&[("tsig_secret", wrong), ("zone", "wancert.test")]));
    let e = p.add_txt(AT, "v").unwrap_err().to_string();
    assert!(
        e.contains("TSIG key wancert-key") && e.contains("tsig_secret") && !e.contains(wrong),
        "{}: {e}",
        server.kind()
    );

    let mut p = provider(&server.section(&[("tsig_name", "unknown-key.")]));
    let e = p.add_txt(AT, "v").unwrap_err().to_string();
    assert!(
        e.contains("TSIG key unknown-key") && e.contains("tsig_name"),
        "{}: {e}",
        server.kind()
    );

    // The server does not hold example.org: found by SOA, then given as option.
    let mut p = provider(&server.section(&[]));
    let e = p
        .add_txt("_acme-challenge.example.org", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot find the zone of _acme-challenge.example.org")
            && e.contains("option zone"),
        "{}: {e}",
        server.kind()
    );
    let mut p = provider(&server.section(&[("zone", "example.org")]));
    let e = p
        .add_txt("_acme-challenge.example.org", "v")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zone example.org") && e.contains("option zone"),
        "{}: {e}",
        server.kind()
    );
    assert!(server.txt(AT).is_empty());
}

#[test]
fn wrong_credentials_and_foreign_zones_give_clear_errors() {
    clear_errors(&Server::knot());
    clear_errors(&Server::bind());
}

#[test]
fn propagation_waits_for_a_secondary_that_lags_behind() {
    const LAG: Duration = Duration::from_secs(2);
    let primary = Server::knot();
    let secondary = Server::bind_secondary_of(&primary);
    let mut p = provider(&primary.section(&[]));
    p.add_txt(AT, "fresh").unwrap();
    assert_eq!(primary.txt(AT), ["fresh"]);
    assert!(
        secondary.txt(AT).is_empty(),
        "the secondary must not know yet: Knot sends no NOTIFY"
    );

    let conf = check(
        vec![primary.host_port(), secondary.host_port()],
        Duration::from_secs(20),
    );
    let start = Instant::now();
    let (report, seen) = std::thread::scope(|s| {
        // The NOTIFY that lets the secondary catch up comes late.
        s.spawn(|| {
            std::thread::sleep(LAG);
            secondary.notify();
        });
        propagation::check_txt(&conf, AT, &["fresh"], &SystemClock, &NoHttp)
    });
    let waited = start.elapsed();
    seen.unwrap();
    assert!(
        waited >= LAG,
        "done after {waited:?}, before the secondary caught up"
    );
    assert!(waited < LAG + Duration::from_secs(5), "took {waited:?}");
    assert_eq!(secondary.txt(AT), ["fresh"]);
    let labels: Vec<(&str, bool)> = report
        .servers
        .iter()
        .map(|s| (s.label.as_str(), s.sees))
        .collect();
    assert_eq!(
        labels,
        [
            (primary.host_port().as_str(), true),
            (secondary.host_port().as_str(), true)
        ]
    );
    p.remove_txt(AT, "fresh").unwrap();
}

#[test]
fn propagation_gives_up_in_time_naming_the_server_that_never_answers() {
    let knot = Server::knot();
    let silent = Silent::start();
    let mut p = provider(&knot.section(&[]));
    p.add_txt(AT, "v").unwrap();

    let timeout = Duration::from_secs(2);
    let conf = check(vec![knot.host_port(), silent.host_port()], timeout);
    let start = Instant::now();
    let (report, seen) = propagation::check_txt(&conf, AT, &["v"], &SystemClock, &NoHttp);
    let took = start.elapsed();
    let e = seen.unwrap_err().to_string();
    assert!(
        e.contains("not seen by 1 of 2 servers")
            && e.contains(&format!("{}: no answer", silent.host_port()))
            && e.contains("propagation_timeout"),
        "{e}"
    );
    assert!(
        !e.contains(&knot.host_port()),
        "blames the wrong server: {e}"
    );
    // The deadline, plus at most one question's own timeout (3 s).
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(4),
        "took {took:?}"
    );
    assert!(
        report.servers[0].sees && !report.servers[1].sees,
        "{report:?}"
    );
    p.remove_txt(AT, "v").unwrap();
}

/// A URL where nothing listens: a DoH resolver that cannot be reached.
fn closed_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/dns-query")
}

#[test]
fn doh_fallback_sees_the_record_when_port_53_is_unreachable() {
    let knot = Server::knot();
    let doh = doh_server(knot.addr());
    let good = format!("{}/dns-query", doh.url());
    let dead = closed_url();
    // Port 53 blocked: one server refuses (nothing bound), one drops.
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let silent = Silent::start();
    let mut p = provider(&knot.section(&[]));
    p.add_txt(AT, "via-doh").unwrap();

    let conf = Propagation {
        doh_servers: vec![dead.clone(), good.clone()],
        ..check(vec![closed, silent.host_port()], Duration::from_secs(20))
    };
    let http = LazyHttp::new(None, Duration::from_secs(5));
    let (report, seen) = propagation::check_txt(&conf, AT, &["via-doh"], &SystemClock, &http);
    seen.unwrap();
    assert!(report.via_doh, "{report:?}");
    let state = |url: &str| report.servers.iter().find(|s| s.label == url).unwrap();
    assert!(state(&good).sees, "{report:?}");
    assert!(
        !state(&dead).counts,
        "the unreachable resolver is ignored: {report:?}"
    );

    // What reached the endpoint is RFC 8484: a POSTed DNS message, ID 0,
    // asking for the TXT at the name.
    let requests = doh.requests();
    let r = requests.first().expect("the DoH endpoint was asked");
    assert_eq!(r.method, "POST");
    assert_eq!(r.header("content-type"), Some("application/dns-message"));
    assert_eq!(r.header("accept"), Some("application/dns-message"));
    let q = Message::decode(&r.body).unwrap();
    assert_eq!(q.id, 0);
    assert_eq!(q.questions[0].name, Name::parse(AT).unwrap());
    assert_eq!(q.questions[0].qtype, rtype::TXT);
    p.remove_txt(AT, "via-doh").unwrap();
}
