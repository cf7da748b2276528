//! The DNS transport seam: one query/answer exchange over UDP, or TCP when the
//! answer is truncated. Also where DNS gets its randomness (message IDs) and
//! finds the system resolver. Everything else in `dns` is pure.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::wire::{self, Message, Name};
use crate::{Error, Result};

/// Large enough for any UDP answer: we send no EDNS, so servers keep to 512
/// bytes, but some send more anyway.
const UDP_BUF: usize = 4096;

/// UDP datagrams get lost; sending twice within the timeout rides over one
/// loss without making a dead server slower to report.
const UDP_TRIES: u32 = 2;

/// A random 16-bit message ID (RFC 5452 §4.3: IDs must be unpredictable).
pub fn random_id() -> Result<u16> {
    let mut b = [0u8; 2];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Dns(format!("no random numbers for a DNS ID: {e}")))?;
    Ok(u16::from_be_bytes(b))
}

/// Send `msg` to `server` and return the answer's bytes: over UDP, then again
/// over TCP if the answer is truncated. Only an answer with the request's ID
/// and question is accepted; other datagrams are ignored.
pub fn exchange(server: SocketAddr, msg: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let request = Message::decode(msg)?;
    let answer = exchange_udp(server, &request, msg, timeout)?;
    crate::crashpoint::step("DNS exchange with", &server);
    match Message::decode(&answer) {
        Ok(m) if m.truncated() => exchange_tcp(server, msg, timeout),
        _ => Ok(answer),
    }
}

fn exchange_udp(
    server: SocketAddr,
    request: &Message,
    msg: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>> {
    let io = |what: &str, e: std::io::Error| Error::Dns(format!("{what} {server}: {e}"));
    let local: SocketAddr = if server.is_ipv4() {
        ([0u8; 4], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(|e| io("cannot open a UDP socket for", e))?;
    // `connect` makes the kernel drop datagrams from other addresses.
    sock.connect(server).map_err(|e| io("cannot reach", e))?;
    let mut buf = vec![0u8; UDP_BUF];
    for _ in 0..UDP_TRIES {
        sock.send(msg).map_err(|e| io("cannot send to", e))?;
        let deadline = Instant::now() + timeout / UDP_TRIES;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left))
                .map_err(|e| io("cannot set a timeout for", e))?;
            let n = match sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(io("no answer from", e)),
            };
            let data = &buf[..n];
            // A datagram that does not parse or does not match is not our
            // answer (late, stray or spoofed): keep waiting for the real one.
            if Message::decode(data).is_ok_and(|a| wire::is_answer_to(request, &a)) {
                return Ok(data.to_vec());
            }
        }
    }
    // Milliseconds, not `as_secs_f32()`: formatting a float would link
    // core's float printing (about 10 KB) for this one message.
    Err(Error::Dns(format!(
        "no answer from {server} within {} ms",
        timeout.as_millis()
    )))
}

/// Send `msg` to `server` over TCP (RFC 1035 §4.2.2: a two-byte length, then
/// the message) and return the answer's bytes.
pub fn exchange_tcp(server: SocketAddr, msg: &[u8], timeout: Duration) -> Result<Vec<u8>> {
    let io = |what: &str, e: std::io::Error| Error::Dns(format!("{what} {server} over TCP: {e}"));
    let request = Message::decode(msg)?;
    let len = u16::try_from(msg.len()).map_err(|_| Error::Dns("DNS message too long".into()))?;
    let mut s =
        TcpStream::connect_timeout(&server, timeout).map_err(|e| io("cannot connect to", e))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| io("cannot set a timeout for", e))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| io("cannot set a timeout for", e))?;
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(msg);
    s.write_all(&out).map_err(|e| io("cannot send to", e))?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)
        .map_err(|e| io("no answer from", e))?;
    let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut answer)
        .map_err(|e| io("incomplete answer from", e))?;
    let m = Message::decode(&answer)?;
    if !wire::is_answer_to(&request, &m) {
        return Err(Error::Dns(format!(
            "{server} answered another question over TCP"
        )));
    }
    crate::crashpoint::step("DNS exchange over TCP with", &server);
    Ok(answer)
}

/// `exchange`, or over TCP alone when `tcp` is set: for a server behind a
/// firewall that drops DNS over UDP.
pub fn exchange_via(
    server: SocketAddr,
    msg: &[u8],
    timeout: Duration,
    tcp: bool,
) -> Result<Vec<u8>> {
    if tcp {
        exchange_tcp(server, msg, timeout)
    } else {
        exchange(server, msg, timeout)
    }
}

/// Ask `server` one question and decode the answer. `recursion` sets RD.
pub fn query(
    server: SocketAddr,
    name: &Name,
    qtype: u16,
    recursion: bool,
    timeout: Duration,
) -> Result<Message> {
    query_via(server, name, qtype, recursion, timeout, false)
}

/// `query`, over TCP alone when `tcp` is set.
pub fn query_via(
    server: SocketAddr,
    name: &Name,
    qtype: u16,
    recursion: bool,
    timeout: Duration,
    tcp: bool,
) -> Result<Message> {
    let q = wire::query(random_id()?, name, qtype, recursion).encode()?;
    Message::decode(&exchange_via(server, &q, timeout, tcp)?)
}

/// Whether this host has a route to `addr`. Connecting a UDP socket sends
/// nothing, but the kernel looks the route up: an IPv4-only router learns at
/// once that an IPv6 name server is out of reach, instead of after a timeout.
pub fn routable(addr: SocketAddr) -> bool {
    let local: SocketAddr = if addr.is_ipv4() {
        ([0u8; 4], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    UdpSocket::bind(local).is_ok_and(|s| s.connect(addr).is_ok())
}

/// Split `host`, `host:port`, `[v6]:port` or a bare IPv6 address into host
/// and port.
fn split_host_port(s: &str, default_port: u16) -> Result<(&str, u16)> {
    let bad = || {
        Error::Dns(format!(
            "invalid server '{s}': use host, host:port or [IPv6]:port"
        ))
    };
    if s.parse::<IpAddr>().is_ok() {
        return Ok((s, default_port));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        return match tail {
            "" => Ok((host, default_port)),
            _ => {
                let port = tail
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(bad)?;
                Ok((host, port))
            }
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, port.parse().map_err(|_| bad())?)),
        Some(_) => Err(bad()),
        None if s.is_empty() => Err(bad()),
        None => Ok((s, default_port)),
    }
}

/// The addresses of `host[:port]` (IP literals as they are, names through the
/// system's resolver).
pub fn resolve(host_port: &str, default_port: u16) -> Result<Vec<SocketAddr>> {
    let (host, port) = split_host_port(host_port, default_port)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::Dns(format!("cannot resolve '{host}': {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(Error::Dns(format!("'{host}' has no address")));
    }
    Ok(addrs)
}

/// The first `nameserver` in resolv.conf text.
fn first_nameserver(text: &str) -> Option<IpAddr> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            // A scoped IPv6 address (fe80::1%eth0) cannot be used without
            // its interface index; skip it.
            (Some("nameserver"), Some(addr)) => addr.parse().ok(),
            _ => None,
        }
    })
}

/// The system's recursive resolver: the first `nameserver` in
/// /etc/resolv.conf, port 53.
pub fn system_resolver() -> Result<SocketAddr> {
    const PATH: &str = "/etc/resolv.conf";
    let text = std::fs::read_to_string(PATH).map_err(|e| Error::io("read", PATH, e))?;
    let ip = first_nameserver(&text).ok_or_else(|| {
        Error::Dns(format!(
            "no usable nameserver in {PATH}: add one, or set list propagation_server"
        ))
    })?;
    Ok(SocketAddr::new(ip, 53))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_host_and_port() {
        assert_eq!(
            split_host_port("ns1.example", 53).unwrap(),
            ("ns1.example", 53)
        );
        assert_eq!(
            split_host_port("ns1.example:5353", 53).unwrap(),
            ("ns1.example", 5353)
        );
        assert_eq!(
            split_host_port("192.0.2.1:54", 53).unwrap(),
            ("192.0.2.1", 54)
        );
        assert_eq!(
            split_host_port("2001:db8::1", 53).unwrap(),
            ("2001:db8::1", 53)
        );
        assert_eq!(
            split_host_port("[2001:db8::1]:54", 53).unwrap(),
            ("2001:db8::1", 54)
        );
        assert_eq!(
            split_host_port("[2001:db8::1]", 53).unwrap(),
            ("2001:db8::1", 53)
        );
        assert!(split_host_port("host:port", 53).is_err());
        assert!(split_host_port("[::1]x", 53).is_err());
        assert!(split_host_port("", 53).is_err());
    }

    #[test]
    fn resolves_literals_without_dns() {
        assert_eq!(
            resolve("127.0.0.1:5300", 53).unwrap(),
            ["127.0.0.1:5300".parse().unwrap()]
        );
        assert_eq!(resolve("::1", 53).unwrap(), ["[::1]:53".parse().unwrap()]);
    }

    #[test]
    fn reads_the_first_nameserver() {
        let conf = "# generated\nsearch lan\nnameserver fe80::1%eth0\nnameserver 127.0.0.1\nnameserver ::1\n";
        assert_eq!(first_nameserver(conf), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(first_nameserver("search lan\n"), None);
    }

    #[test]
    fn udp_exchange_skips_mismatched_answers() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let name = Name::parse("a.test").unwrap();
        let q = wire::query(0x1111, &name, wire::rtype::TXT, false);
        let bytes = q.encode().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, peer) = server.recv_from(&mut buf).unwrap();
            let mut a = Message::decode(&buf[..n]).unwrap();
            a.flags |= wire::flag::QR;
            let mut wrong = a.clone();
            wrong.id ^= 1;
            server.send_to(&wrong.encode().unwrap(), peer).unwrap();
            server.send_to(b"junk", peer).unwrap();
            a.answers.push(wire::Record {
                name: a.questions[0].name.clone(),
                rtype: wire::rtype::TXT,
                class: wire::class::IN,
                ttl: 5,
                data: wire::RData::txt("ok"),
            });
            server.send_to(&a.encode().unwrap(), peer).unwrap();
        });
        let answer = exchange(addr, &bytes, Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        assert_eq!(Message::decode(&answer).unwrap().txt_values(&name), ["ok"]);
    }

    #[test]
    fn falls_back_to_tcp_when_truncated() {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = std::net::TcpListener::bind(addr).unwrap();
        let name = Name::parse("big.test").unwrap();
        let bytes = wire::query(0x2222, &name, wire::rtype::TXT, false)
            .encode()
            .unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, peer) = udp.recv_from(&mut buf).unwrap();
            let mut a = Message::decode(&buf[..n]).unwrap();
            a.flags |= wire::flag::QR | wire::flag::TC;
            udp.send_to(&a.encode().unwrap(), peer).unwrap();
            let (mut s, _) = tcp.accept().unwrap();
            let mut len = [0u8; 2];
            s.read_exact(&mut len).unwrap();
            let mut req = vec![0u8; usize::from(u16::from_be_bytes(len))];
            s.read_exact(&mut req).unwrap();
            let mut a = Message::decode(&req).unwrap();
            a.flags |= wire::flag::QR;
            a.answers.push(wire::Record {
                name: a.questions[0].name.clone(),
                rtype: wire::rtype::TXT,
                class: wire::class::IN,
                ttl: 5,
                data: wire::RData::txt(&"v".repeat(1000)),
            });
            let out = a.encode().unwrap();
            s.write_all(&(out.len() as u16).to_be_bytes()).unwrap();
            s.write_all(&out).unwrap();
        });
        let answer = exchange(addr, &bytes, Duration::from_secs(5)).unwrap();
        t.join().unwrap();
        assert_eq!(
            Message::decode(&answer).unwrap().txt_values(&name),
            ["v".repeat(1000)]
        );
    }

    #[test]
    fn loopback_is_routable() {
        assert!(routable("127.0.0.1:53".parse().unwrap()));
    }

    #[test]
    fn tcp_only_when_asked() {
        // Nothing listens on TCP at a port only a UDP socket holds: over
        // TCP the exchange fails at once, while UDP gets the answer.
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        let name = Name::parse("t.test").unwrap();
        let bytes = wire::query(7, &name, wire::rtype::TXT, false)
            .encode()
            .unwrap();
        let e = exchange_via(addr, &bytes, Duration::from_secs(2), true).unwrap_err();
        assert!(e.to_string().contains("over TCP"), "{e}");
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, peer) = udp.recv_from(&mut buf).unwrap();
            let mut a = Message::decode(&buf[..n]).unwrap();
            a.flags |= wire::flag::QR;
            udp.send_to(&a.encode().unwrap(), peer).unwrap();
        });
        exchange_via(addr, &bytes, Duration::from_secs(2), false).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn silence_is_a_timeout_error() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let bytes = wire::query(1, &Name::root(), wire::rtype::SOA, false)
            .encode()
            .unwrap();
        let e = exchange(addr, &bytes, Duration::from_millis(200)).unwrap_err();
        assert!(e.to_string().contains("no answer from 127.0.0.1"), "{e}");
    }
}
