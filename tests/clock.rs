//! Clock (issue #8, point 6): a router without a real-time clock boots in
//! 1970 and keeps that date until NTP syncs. Every command that would talk
//! to the CA, to DNS servers or to DDNS services is postponed with a line
//! that names the clock and what to check, exits 1 (the documented "not
//! now" code), asks nothing and writes nothing. The clock is set through
//! `WANCERT_TEST_NOW`, read at the clock edge only.

mod common;

use std::io::ErrorKind;
use std::net::{TcpListener, UdpSocket};
use std::path::Path;

use common::{TempDir, text, wancert_env};

/// 1970-01-02, and 2023-12-31 (the day before the clock counts as set).
const BOOT: &str = "86400";
const LATE_2023: &str = "1703980800";

/// Whether anything reached the listener or the socket (neither is ever
/// read: a connection waits in the backlog, a datagram in the buffer).
fn reached(tcp: &TcpListener, udp: &UdpSocket) -> Option<String> {
    tcp.set_nonblocking(true).unwrap();
    udp.set_nonblocking(true).unwrap();
    if let Ok((_, peer)) = tcp.accept() {
        return Some(format!("a TCP connection from {peer}"));
    }
    let mut buf = [0u8; 512];
    match udp.recv_from(&mut buf) {
        Ok((n, peer)) => Some(format!("a {n}-byte datagram from {peer}")),
        Err(e) if e.kind() == ErrorKind::WouldBlock => None,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn before_ntp_nothing_is_asked_nor_written() {
    let dir = TempDir::new("clock");
    let d = dir.path().display();
    // Where the CA, the DDNS service's web echo, the DNS server and the
    // propagation check would be asked: nothing answers, so a request would
    // hang rather than pass unseen.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (web, dns) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
    let config = dir.path().join("wancert.conf");
    std::fs::write(
        &config,
        format!(
            "config wancert 'global'\n\
             \toption acme_server 'http://{web}/dir'\n\
             \toption state_dir '{d}/state'\n\
             \toption run_dir '{d}/run'\n\
             \toption ubus '{d}/no-ubus'\n\
             \tlist propagation_server '{dns}'\n\
             config provider 'dns'\n\
             \toption type 'rfc2136'\n\
             \toption server '127.0.0.1'\n\
             \toption port '{port}'\n\
             \toption tsig_name 'k'\n\
             \toption tsig_algorithm 'hmac-sha256'\n\
             \toption tsig_secret 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0'\n\
             config cert 'demo'\n\
             \tlist domain 'demo.wancert.test'\n\
             \toption provider 'dns'\n\
             config ddns 'home'\n\
             \toption provider 'dns'\n\
             \toption domain 'home.wancert.test'\n\
             \tlist web_url 'http://{web}/ip'\n",
            port = dns.port()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let commands: [&[&str]; 7] = [
        &["run"],
        &["renew", "--force"],
        &["ddns", "--force"],
        &["dns-test", "dns", "demo.wancert.test"],
        &["revoke", "demo"],
        &["account", "rollover"],
        &["--background", "renew"],
    ];
    for now in [BOOT, LATE_2023] {
        for cmd in commands {
            let mut args = vec!["--config", c];
            args.extend_from_slice(cmd);
            let out = wancert_env(&args, &[("WANCERT_TEST_NOW", now)]);
            let log = text(&out);
            assert_eq!(out.status.code(), Some(1), "{cmd:?} at {now}: {log}");
            assert!(
                log.contains("the system clock says 19")
                    || log.contains("the system clock says 2023"),
                "{cmd:?}: {log}"
            );
            assert!(
                log.contains("NTP") && log.contains("sysntpd"),
                "{cmd:?}: {log}"
            );
            assert!(log.contains("postponed"), "{cmd:?}: {log}");
            assert_eq!(log.lines().count(), 1, "one line: {log}");
            if let Some(what) = reached(&tcp, &udp) {
                panic!("{cmd:?} at {now} sent {what}");
            }
            for written in ["state", "run"] {
                assert!(
                    !Path::new(&dir.path().join(written)).exists(),
                    "{cmd:?} at {now} created {written}"
                );
            }
        }
    }

    // Commands that ask no one still work, and the same configuration with
    // the right time does reach out: the checks above can fail.
    let out = wancert_env(&["--config", c, "check"], &[("WANCERT_TEST_NOW", BOOT)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wancert"))
        .args(["--config", c, "renew"])
        .env("WANCERT_LOG", "stderr")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    let what = loop {
        if let Some(w) = reached(&tcp, &udp) {
            break w;
        }
        assert!(
            t0.elapsed().as_secs() < 20,
            "a run with the right time asked no one"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!("with the right time, a run sent {what}");
}
