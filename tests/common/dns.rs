//! Real DNS servers for tests — Knot and BIND, started by
//! `tests/lab/{knot,bind}.sh` in temporary directories and stopped on drop —
//! and what tests need around them: an rfc2136 provider section for a
//! server, direct questions, a TCP-only relay, NOTIFY, and a DoH endpoint.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use wancert::config::PluginSection;
use wancert::dns::net;
use wancert::dns::wire::{self, Message, Name, RData, flag, rcode, rtype};
use wancert::uci::{Opt, Section};

use super::TempDir;
use super::httpd;

/// The zone both lab servers serve.
pub const ZONE: &str = "wancert.test";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/lab")
        .join(name)
}

/// A running Knot or BIND; stopped on drop, so also when a test fails.
pub struct Server {
    /// `knot.sh` or `bind.sh`.
    script: &'static str,
    env: HashMap<String, String>,
    // Dropped after `drop` below has stopped the server.
    pub dir: TempDir,
}

impl Server {
    /// Knot, primary of `wancert.test`.
    pub fn knot() -> Server {
        Server::start("knot.sh", "knot.env", &[])
    }

    /// BIND, primary of `wancert.test`.
    pub fn bind() -> Server {
        Server::start("bind.sh", "bind.env", &[])
    }

    /// BIND, secondary of `primary`: it catches up only when sent a NOTIFY.
    pub fn bind_secondary_of(primary: &Server) -> Server {
        let port = primary.port().to_string();
        Server::start("bind.sh", "bind.env", &["--secondary-of", &port])
    }

    fn start(script_name: &'static str, env_file: &str, args: &[&str]) -> Server {
        let dir = TempDir::new(script_name.trim_end_matches(".sh"));
        let out = Command::new("bash")
            .arg(script(script_name))
            .args(args)
            .arg(dir.path())
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "tests/lab/{script_name} failed (run tests/setup.sh to install knot and bind9):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join(env_file)).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Server {
            script: script_name,
            env,
            dir,
        }
    }

    /// "knot" or "bind", for messages.
    pub fn kind(&self) -> &'static str {
        self.script.trim_end_matches(".sh")
    }

    pub fn var(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("{} has no {k}", self.script))
    }

    pub fn port(&self) -> u16 {
        let key = if self.script == "knot.sh" {
            "KNOT_PORT"
        } else {
            "BIND_PORT"
        };
        self.var(key).parse().unwrap()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port()))
    }

    /// `127.0.0.1:PORT`, as `list propagation_server` takes it.
    pub fn host_port(&self) -> String {
        self.addr().to_string()
    }

    /// An rfc2136 provider section for this server (hmac-sha256 key), with
    /// `overrides` replacing or adding options.
    pub fn section(&self, overrides: &[(&str, &str)]) -> PluginSection {
        let port = self.port().to_string();
        let mut opts: Vec<(&str, &str)> = vec![
            ("server", "127.0.0.1"),
            ("port", &port),
            ("tsig_name", self.var("TSIG_NAME")),
            ("tsig_algorithm", self.var("TSIG_ALGORITHM")),
            ("tsig_secret", self.var("TSIG_SECRET")),
        ];
        for &(k, v) in overrides {
            opts.retain(|(o, _)| *o != k);
            opts.push((k, v));
        }
        section("lab", "rfc2136", &opts)
    }

    /// Ask this server directly (no recursion).
    pub fn ask(&self, fqdn: &str, qtype: u16) -> Message {
        let name = Name::parse(fqdn).unwrap();
        let m = net::query(self.addr(), &name, qtype, false, Duration::from_secs(5)).unwrap();
        assert!(
            matches!(m.rcode(), rcode::NOERROR | rcode::NXDOMAIN),
            "{} answered {m:?}",
            self.kind()
        );
        m
    }

    /// The TXT values at `fqdn`, sorted.
    pub fn txt(&self, fqdn: &str) -> Vec<String> {
        let mut v = self
            .ask(fqdn, rtype::TXT)
            .txt_values(&Name::parse(fqdn).unwrap());
        v.sort();
        v
    }

    /// The A or AAAA addresses at `fqdn`, sorted.
    pub fn addresses(&self, fqdn: &str, qtype: u16) -> Vec<IpAddr> {
        let name = Name::parse(fqdn).unwrap();
        let mut v: Vec<IpAddr> = self
            .ask(fqdn, qtype)
            .answers
            .iter()
            .filter(|rr| rr.name == name)
            .filter_map(|rr| match rr.data {
                RData::A(ip) => Some(ip.into()),
                RData::Aaaa(ip) => Some(ip.into()),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// Tell this server (a secondary) that the zone changed (RFC 1996), so
    /// that it transfers it now.
    pub fn notify(&self) {
        let mut m = wire::query(
            net::random_id().unwrap(),
            &Name::parse(ZONE).unwrap(),
            rtype::SOA,
            false,
        );
        m.flags = (4 << 11) | flag::AA; // opcode NOTIFY
        let answer = net::exchange(self.addr(), &m.encode().unwrap(), Duration::from_secs(5))
            .expect("the secondary acknowledges the NOTIFY");
        assert_eq!(Message::decode(&answer).unwrap().rcode(), rcode::NOERROR);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script(self.script))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// A `config provider` section with `opts`, each on its own line.
pub fn section(name: &str, kind: &str, opts: &[(&str, &str)]) -> PluginSection {
    let options = opts
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Opt {
            name: k.to_string(),
            values: vec![v.to_string()],
            is_list: false,
            line: i + 2,
        })
        .collect();
    PluginSection {
        file: "/etc/config/wancert".into(),
        name: name.into(),
        kind: kind.into(),
        section: Section {
            ty: "provider".into(),
            name: Some(name.into()),
            line: 1,
            options,
        },
    }
}

/// A UDP socket on 127.0.0.2 that never answers: a server that is down or
/// behind a firewall that drops. Its address stays taken while it lives.
pub struct Silent(UdpSocket);

impl Silent {
    pub fn start() -> Silent {
        Silent(UdpSocket::bind("127.0.0.2:0").unwrap())
    }
    pub fn host_port(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }
}

/// A TCP port that relays every connection to `target`, and counts them.
/// Nothing listens on UDP at its port: a client that tried UDP there would
/// get no answer.
pub struct TcpRelay {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl TcpRelay {
    pub fn start(target: SocketAddr) -> TcpRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = conn else { continue };
                count.fetch_add(1, Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        TcpRelay {
            port,
            connections,
            stop,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Copy `from` to `to` in a thread until `from` ends, then end `to`'s
/// writing side, so that the other end sees the connection close.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
    }
}

/// A DoH endpoint (RFC 8484) on a loopback port that forwards each DNS
/// message to `upstream` over UDP and returns the answer: `POST /dns-query`
/// with an `application/dns-message` body, or `GET /dns-query?dns=` with
/// the message in base64url. Plain HTTP: it stands in for a resolver, and
/// TLS is the HTTP client's business, tested elsewhere.
pub fn doh_server(upstream: SocketAddr) -> httpd::Server {
    const TYPE: &str = "application/dns-message";
    httpd::Server::start(move |req| {
        if req.path() != "/dns-query" {
            return httpd::Response::text(404, "not found");
        }
        let question = match req.method.as_str() {
            "POST" if req.header("content-type") == Some(TYPE) => Some(req.body.clone()),
            "GET" => req
                .query()
                .into_iter()
                .find(|(k, _)| k == "dns")
                .and_then(|(_, v)| wancert::b64::decode(&v)),
            _ => None,
        };
        let Some(question) = question else {
            return httpd::Response::text(400, "no DNS message");
        };
        match net::exchange(upstream, &question, Duration::from_secs(3)) {
            Ok(answer) => httpd::Response {
                status: 200,
                headers: vec![("content-type".into(), TYPE.into())],
                body: answer,
            },
            Err(e) => httpd::Response::text(502, &e.to_string()),
        }
    })
}
