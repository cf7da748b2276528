//! Which address to publish: pure rules over what the sources saw.
//!
//! IPv6: global unicast only (2000::/3), so never a ULA (fc00::/7), a
//! link-local or a multicast address; never a deprecated (preferred lifetime
//! 0), temporary (privacy) or tentative address. Among the rest the choice is
//! stable: the address published before while it still qualifies, else a
//! static one, else the lowest. IPv4: the WAN address, classified so that a
//! private or carrier-grade NAT address is recognised before it is published.
//! A LAN host's AAAA is the LAN's current delegated prefix + its identifier.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::HostId;

/// One address as a source saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub ip: IpAddr,
    /// Prefix length (the on-link prefix, or the delegated prefix).
    pub len: u8,
    /// Its preferred lifetime ran out (IFA_F_DEPRECATED, ubus `preferred`
    /// 0): new connections should not use it, and it is about to go.
    pub deprecated: bool,
    /// A privacy address (RFC 8981, IFA_F_TEMPORARY): it changes daily.
    pub temporary: bool,
    /// Still in duplicate address detection, or it failed.
    pub tentative: bool,
    /// Configured by hand, with no lifetime: preferred over dynamic ones.
    pub fixed: bool,
}

impl Seen {
    /// A plain address with no flags, as web, route and script sources see.
    pub fn plain(ip: IpAddr) -> Seen {
        let len = if ip.is_ipv4() { 32 } else { 128 };
        Seen {
            ip,
            len,
            deprecated: false,
            temporary: false,
            tentative: false,
            fixed: false,
        }
    }
}

/// What kind of IPv4 address the WAN has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V4Kind {
    /// Reachable from the Internet (as far as the address tells).
    Public,
    /// RFC 1918: the router sits behind another NAT router.
    Private,
    /// RFC 6598 100.64.0.0/10: carrier-grade NAT.
    Shared,
}

impl V4Kind {
    /// How a warning names it.
    pub fn describe(self) -> &'static str {
        match self {
            V4Kind::Public => "public",
            V4Kind::Private => "a private (RFC 1918) address: the router is behind another NAT",
            V4Kind::Shared => {
                "a carrier-grade NAT address (100.64.0.0/10): the provider shares a public address"
            }
        }
    }
}

/// The kind of `ip`, or `None` when it can never be a WAN address
/// (loopback, link-local, multicast, unspecified, broadcast, 0/8, 240/4).
pub fn classify_v4(ip: Ipv4Addr) -> Option<V4Kind> {
    let o = ip.octets();
    if ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || o[0] == 0
        || o[0] >= 240
    {
        return None;
    }
    if ip.is_private() {
        return Some(V4Kind::Private);
    }
    if o[0] == 100 && (o[1] & 0xc0) == 64 {
        return Some(V4Kind::Shared);
    }
    Some(V4Kind::Public)
}

/// Unique local addresses, fc00::/7 (RFC 4193): never reachable from the
/// Internet.
pub fn is_ula(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xfe00 == 0xfc00
}

/// Global unicast, 2000::/3 (RFC 4291 §2.4): excludes ULA, link-local,
/// multicast, loopback, unspecified and IPv4-mapped addresses.
pub fn is_global_v6(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xe000 == 0x2000
}

/// Whether `s` may be published as a WAN IPv6 address.
pub fn usable_v6(s: &Seen) -> bool {
    match s.ip {
        IpAddr::V6(ip) => is_global_v6(ip) && !s.deprecated && !s.temporary && !s.tentative,
        IpAddr::V4(_) => false,
    }
}

/// The IPv6 address to publish from `seen`, or `None`. `previous` (what was
/// published last) wins while it still qualifies, so the record does not flap
/// between two good addresses.
pub fn pick_v6(seen: &[Seen], previous: Option<IpAddr>) -> Option<Ipv6Addr> {
    let good = || {
        seen.iter()
            .filter(|s| usable_v6(s))
            .filter_map(|s| match s.ip {
                IpAddr::V6(ip) => Some((!s.fixed, ip)),
                IpAddr::V4(_) => None,
            })
    };
    if let Some(IpAddr::V6(p)) = previous
        && good().any(|(_, ip)| ip == p)
    {
        return Some(p);
    }
    // Sources list addresses in no reliable order (the kernel's is a hash
    // order): the least, so that the same set always gives the same answer.
    good().min().map(|(_, ip)| ip)
}

/// The IPv4 address to publish from `seen` and its kind: a public address
/// when there is one, else the first private or shared one (which the caller
/// then treats as being behind NAT). `previous` wins while it is still there
/// and no better kind has appeared.
pub fn pick_v4(seen: &[Seen], previous: Option<IpAddr>) -> Option<(Ipv4Addr, V4Kind)> {
    let candidates: Vec<(Ipv4Addr, V4Kind)> = seen
        .iter()
        .filter(|s| !s.tentative)
        .filter_map(|s| match s.ip {
            IpAddr::V4(ip) => classify_v4(ip).map(|k| (ip, k)),
            IpAddr::V6(_) => None,
        })
        .collect();
    let best_public = candidates.iter().any(|(_, k)| *k == V4Kind::Public);
    if let Some(IpAddr::V4(p)) = previous
        && let Some(c) = candidates
            .iter()
            .find(|(ip, k)| *ip == p && (*k == V4Kind::Public || !best_public))
    {
        return Some(*c);
    }
    candidates
        .iter()
        .find(|(_, k)| *k == V4Kind::Public)
        .or(candidates.first())
        .copied()
}

/// The modified EUI-64 interface identifier of a MAC address (RFC 4291
/// appendix A): ff:fe in the middle, the universal/local bit inverted.
pub fn eui64(mac: [u8; 6]) -> [u8; 8] {
    [
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ]
}

/// The host's identifier as the low 64 bits of an address.
pub fn host_bits(id: HostId) -> Ipv6Addr {
    match id {
        HostId::Suffix(a) => a,
        HostId::Mac(mac) => {
            let mut b = [0u8; 16];
            b[8..].copy_from_slice(&eui64(mac));
            Ipv6Addr::from(b)
        }
    }
}

/// `prefix`'s first `len` bits followed by the rest of `suffix`.
pub fn compose(prefix: Ipv6Addr, len: u8, suffix: Ipv6Addr) -> Ipv6Addr {
    let mask = match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    };
    Ipv6Addr::from((u128::from(prefix) & mask) | (u128::from(suffix) & !mask))
}

/// The LAN host's address: the current global prefix of the LAN (from
/// `prefixes`, the LAN's delegated prefixes or addresses) + `id`. Deprecated
/// prefixes (a renumbering in progress) and ULA prefixes are passed over;
/// `previous` wins while its prefix is still current.
pub fn lan_host(prefixes: &[Seen], id: HostId, previous: Option<IpAddr>) -> Option<Ipv6Addr> {
    let suffix = host_bits(id);
    let addrs: Vec<(bool, Ipv6Addr)> = prefixes
        .iter()
        .filter(|s| !s.deprecated && !s.tentative && !s.temporary)
        .filter_map(|s| match s.ip {
            IpAddr::V6(p) if is_global_v6(p) => Some((!s.fixed, compose(p, s.len, suffix))),
            _ => None,
        })
        .collect();
    if let Some(IpAddr::V6(p)) = previous
        && addrs.iter().any(|(_, a)| *a == p)
    {
        return Some(p);
    }
    addrs.iter().min().map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &str) -> Seen {
        let ip: Ipv6Addr = s.parse().unwrap();
        Seen {
            len: 64,
            ..Seen::plain(ip.into())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_kinds() {
        let kind = |s: &str| classify_v4(s.parse().unwrap());
        assert_eq!(kind("203.0.113.45"), Some(V4Kind::Public));
        assert_eq!(kind("8.8.8.8"), Some(V4Kind::Public));
        for private in ["10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.178.23"] {
            assert_eq!(kind(private), Some(V4Kind::Private), "{private}");
        }
        assert_eq!(kind("172.32.0.1"), Some(V4Kind::Public));
        assert_eq!(kind("100.64.0.1"), Some(V4Kind::Shared));
        assert_eq!(kind("100.127.255.254"), Some(V4Kind::Shared));
        assert_eq!(kind("100.128.0.1"), Some(V4Kind::Public));
        assert_eq!(kind("100.63.255.255"), Some(V4Kind::Public));
        for never in [
            "127.0.0.1",
            "169.254.1.1",
            "224.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
        ] {
            assert_eq!(kind(never), None, "{never}");
        }
    }

    #[test]
    fn ipv6_scopes() {
        let g = |s: &str| is_global_v6(s.parse().unwrap());
        assert!(g("2001:db8::1") && g("2a00:1450::1") && g("3fff::1"));
        for not in [
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::1",
            "::",
            "::ffff:1.2.3.4",
        ] {
            assert!(!g(not), "{not}");
        }
        assert!(is_ula("fd12:3456::1".parse().unwrap()) && is_ula("fc00::".parse().unwrap()));
        assert!(!is_ula("fe80::1".parse().unwrap()));
    }

    #[test]
    fn never_picks_ula_link_local_deprecated_temporary_or_tentative() {
        let mut deprecated = v6("2001:db8:5::1");
        deprecated.deprecated = true;
        let mut temporary = v6("2001:db8:6::1");
        temporary.temporary = true;
        let mut tentative = v6("2001:db8:6::2");
        tentative.tentative = true;
        let bad = vec![
            v6("fd00:cafe::1"),
            v6("fe80::1"),
            deprecated,
            temporary,
            tentative,
        ];
        assert_eq!(pick_v6(&bad, None), None);
        let mut all = bad.clone();
        all.push(v6("2001:db8:6::99"));
        assert_eq!(pick_v6(&all, None), Some("2001:db8:6::99".parse().unwrap()));
        // Even when it was published before, a deprecated address is dropped.
        assert_eq!(
            pick_v6(&all, Some(ip("2001:db8:5::1"))),
            Some("2001:db8:6::99".parse().unwrap())
        );
    }

    #[test]
    fn the_choice_is_stable() {
        let a = v6("2001:db8::b");
        let b = v6("2001:db8::a");
        let mut fixed = v6("2001:db8::c");
        fixed.fixed = true;
        // Order does not matter; a fixed address beats a lower dynamic one.
        assert_eq!(
            pick_v6(&[a.clone(), b.clone()], None),
            pick_v6(&[b.clone(), a.clone()], None)
        );
        assert_eq!(
            pick_v6(&[a.clone(), b.clone()], None),
            Some("2001:db8::a".parse().unwrap())
        );
        assert_eq!(
            pick_v6(&[a.clone(), b.clone(), fixed.clone()], None),
            Some("2001:db8::c".parse().unwrap())
        );
        // What was published stays while it is still good.
        assert_eq!(
            pick_v6(&[a.clone(), b.clone()], Some(ip("2001:db8::b"))),
            Some("2001:db8::b".parse().unwrap())
        );
    }

    #[test]
    fn ipv4_prefers_public_then_keeps_its_choice() {
        let seen = |v: &[&str]| v.iter().map(|s| Seen::plain(ip(s))).collect::<Vec<_>>();
        assert_eq!(
            pick_v4(&seen(&["127.0.0.1", "100.72.13.5", "203.0.113.45"]), None),
            Some(("203.0.113.45".parse().unwrap(), V4Kind::Public))
        );
        assert_eq!(
            pick_v4(&seen(&["100.72.13.5"]), None),
            Some(("100.72.13.5".parse().unwrap(), V4Kind::Shared))
        );
        assert_eq!(pick_v4(&seen(&["169.254.3.3", "2001:db8::1"]), None), None);
        let two = seen(&["203.0.113.45", "198.51.100.7"]);
        assert_eq!(
            pick_v4(&two, Some(ip("198.51.100.7"))).unwrap().0,
            ip_v4("198.51.100.7")
        );
        // A previous NAT address does not hold out against a public one.
        let mixed = seen(&["192.168.1.2", "198.51.100.7"]);
        assert_eq!(
            pick_v4(&mixed, Some(ip("192.168.1.2"))).unwrap().0,
            ip_v4("198.51.100.7")
        );
    }

    fn ip_v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn eui64_from_a_mac() {
        // RFC 4291 appendix A's example pattern: 00:11:32:12:34:56 (a
        // universal MAC) gives 0211:32ff:fe12:3456.
        assert_eq!(
            eui64([0x00, 0x11, 0x32, 0x12, 0x34, 0x56]),
            [0x02, 0x11, 0x32, 0xff, 0xfe, 0x12, 0x34, 0x56]
        );
        assert_eq!(
            host_bits(HostId::Mac([0x02, 0, 0, 0, 0, 1])),
            "::ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn prefix_and_suffix() {
        let p: Ipv6Addr = "2001:db8:aa00:10::".parse().unwrap();
        let s: Ipv6Addr = "::1:2".parse().unwrap();
        assert_eq!(
            compose(p, 64, s),
            "2001:db8:aa00:10::1:2".parse::<Ipv6Addr>().unwrap()
        );
        // Bits of the suffix inside the prefix are ignored, and the prefix's
        // host bits (a LAN address given as the prefix) are replaced.
        let noisy: Ipv6Addr = "ffff:ffff::1:2".parse().unwrap();
        let lan_addr: Ipv6Addr = "2001:db8:aa00:10::1".parse().unwrap();
        assert_eq!(
            compose(lan_addr, 64, noisy),
            "2001:db8:aa00:10::1:2".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(compose(p, 0, s), s);
        assert_eq!(compose(p, 128, s), p);
        assert_eq!(
            compose(
                "2001:db8:1:2:3::".parse().unwrap(),
                80,
                "::ffff:abcd:1:2".parse().unwrap()
            ),
            "2001:db8:1:2:3:abcd:1:2".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn lan_host_follows_the_current_prefix() {
        let id = HostId::Suffix("::1:2".parse().unwrap());
        let mut old = v6("2001:db8:aa00:10::");
        old.deprecated = true;
        let new = v6("2001:db8:bb00:10::");
        let ula = Seen {
            len: 60,
            ..Seen::plain(ip("fd4c:9d1e:7a3b::"))
        };
        assert_eq!(
            lan_host(
                &[old.clone(), ula.clone(), new.clone()],
                id,
                Some(ip("2001:db8:aa00:10::1:2"))
            ),
            Some("2001:db8:bb00:10::1:2".parse().unwrap())
        );
        assert_eq!(lan_host(&[old, ula], id, None), None);
        let mac = HostId::Mac([0x00, 0x11, 0x32, 0x12, 0x34, 0x56]);
        assert_eq!(
            lan_host(&[new], mac, None),
            Some("2001:db8:bb00:10:211:32ff:fe12:3456".parse().unwrap())
        );
    }
}
