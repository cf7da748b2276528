//! Where the addresses come from, read into `Seen` values: netifd over ubus,
//! the kernel (`/proc/net/if_inet6`; getifaddrs(3) or `ip addr show` for IPv4), web echo services, the
//! routing table, or a user's script. Every parser here is pure and tested
//! with real-shaped fixtures; the fetching goes through `Edges`, which the
//! runner implements with `proc`, file reads, `Http` and a UDP socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use super::selection::Seen;
use crate::providers::Family;
use crate::{Error, Result};

/// The outside world the sources read, one call per fact. A run asks each
/// question at most once (see `ddns::Cache`).
pub trait Edges {
    /// The output of `ubus call network.interface dump`.
    fn ubus_dump(&mut self) -> Result<String>;
    /// A file under `/proc/net`: `if_inet6`, `route`, `ipv6_route`.
    fn proc_net(&mut self, name: &str) -> Result<String>;
    /// The output of `ip addr show dev DEV`.
    fn ip_addr(&mut self, dev: &str) -> Result<String>;
    /// The body of a GET of `url`, connecting over `family` only.
    fn web(&mut self, url: &str, family: Family) -> Result<String>;
    /// The source address the kernel would use toward the Internet.
    fn route(&mut self, family: Family) -> Result<IpAddr>;
    /// What the command prints.
    fn script(&mut self, argv: &[String]) -> Result<String>;
}

/// Web echo services tried in order when no `web_url` is configured. Each
/// answers with the caller's address in its body; a mix of global
/// (Cloudflare-fronted) and mainland-China services, so that one of them
/// works from either side of the Great Firewall.
pub const WEB_V4: &[&str] = &[
    "https://api-ipv4.ip.sb/ip",
    "https://4.ipw.cn",
    "https://ipv4.icanhazip.com",
    "https://ip.3322.net",
];
pub const WEB_V6: &[&str] = &[
    "https://api-ipv6.ip.sb/ip",
    "https://6.ipw.cn",
    "https://ipv6.icanhazip.com",
    "https://speed.neu6.edu.cn/getIP.php",
];

// ---- ubus: netifd's interface dump -------------------------------------

/// `ubus call network.interface dump`: `{"interface": [status, ...]}`, each
/// status as `ubus call network.interface.NAME status` prints it plus its
/// name (netifd `ubus.c`, `netifd_dump_status`). Read through
/// `serde_json::Value`, whose parser the binary has anyway, rather than
/// derived types: each derived type costs code on the router's flash.
/// Fields we do not use are ignored; an interface that is down has no
/// address arrays at all.
#[derive(Debug, Default)]
pub struct Iface {
    pub name: String,
    pub up: bool,
    /// The Linux device carrying its addresses (`pppoe-wan`, `eth1`).
    pub l3_device: Option<String>,
    pub metric: u64,
    /// `ipv4-address`.
    pub ipv4: Vec<Item>,
    /// `ipv6-address`.
    pub ipv6: Vec<Item>,
    /// `ipv6-prefix`: prefixes delegated to this (upstream) interface.
    pub prefixes: Vec<Item>,
    /// `ipv6-prefix-assignment`: parts of delegated prefixes assigned to
    /// this (downstream) interface.
    pub assignments: Vec<Item>,
    pub route: Vec<Item>,
}

/// An address, a prefix, a prefix assignment or a route: one type for all.
/// `preferred` and `valid` are seconds left; netifd leaves them out for
/// addresses without a lifetime (static ones).
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// Addresses, prefixes and assignments.
    pub address: Option<String>,
    /// Routes.
    pub target: Option<String>,
    pub mask: u8,
    pub preferred: Option<u64>,
    pub valid: Option<u64>,
    /// `local-address`: an assignment's address of the router itself in
    /// the prefix.
    pub local: Option<String>,
}

impl Item {
    fn from_json(v: &Value) -> Item {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
        Item {
            address: text("address"),
            target: text("target"),
            mask: v
                .get("mask")
                .and_then(Value::as_u64)
                .and_then(|m| u8::try_from(m).ok())
                .unwrap_or(0),
            preferred: v.get("preferred").and_then(Value::as_u64),
            valid: v.get("valid").and_then(Value::as_u64),
            local: v
                .get("local-address")
                .and_then(|l| l.get("address"))
                .and_then(Value::as_str)
                .map(String::from),
        }
    }
}

impl Iface {
    fn from_json(v: &Value) -> Iface {
        let items = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Item::from_json).collect())
                .unwrap_or_default()
        };
        Iface {
            name: v
                .get("interface")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .into(),
            up: v.get("up").and_then(Value::as_bool).unwrap_or(false),
            l3_device: v.get("l3_device").and_then(Value::as_str).map(String::from),
            metric: v.get("metric").and_then(Value::as_u64).unwrap_or(0),
            ipv4: items("ipv4-address"),
            ipv6: items("ipv6-address"),
            prefixes: items("ipv6-prefix"),
            assignments: items("ipv6-prefix-assignment"),
            route: items("route"),
        }
    }
}

/// Parse the dump.
pub fn parse_ubus_dump(text: &str) -> Result<Vec<Iface>> {
    let v: Value = serde_json::from_slice(text.as_bytes()).map_err(|e| {
        Error::other(format!(
            "ubus printed no interface dump ({e}): check that netifd runs (`ubus call network.interface dump`)"
        ))
    })?;
    Ok(v.get("interface")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Iface::from_json).collect())
        .unwrap_or_default())
}

fn seen(address: &str, mask: u8, preferred: Option<u64>, fixed: bool) -> Option<Seen> {
    let ip: IpAddr = address.parse().ok()?;
    Some(Seen {
        ip,
        len: mask,
        deprecated: preferred == Some(0),
        temporary: false,
        tentative: false,
        fixed,
    })
}

impl Item {
    fn to_seen(&self) -> Option<Seen> {
        // No lifetime: configured by hand (or by a static proto).
        let fixed = self.preferred.is_none() && self.valid.is_none();
        seen(self.address.as_deref()?, self.mask, self.preferred, fixed)
    }
}

impl Iface {
    /// Whether it carries the default route of `family`.
    pub fn has_default_route(&self, family: Family) -> bool {
        let any = match family {
            Family::V4 => "0.0.0.0",
            Family::V6 => "::",
        };
        self.up
            && self
                .route
                .iter()
                .any(|r| r.mask == 0 && r.target.as_deref() == Some(any))
    }

    /// Its own addresses of `family`.
    pub fn addresses(&self, family: Family) -> Vec<Seen> {
        let list = match family {
            Family::V4 => &self.ipv4,
            Family::V6 => &self.ipv6,
        };
        list.iter().filter_map(Item::to_seen).collect()
    }

    /// The prefixes assigned to it (a LAN), each as a prefix `Seen`.
    pub fn assigned_prefixes(&self) -> Vec<Seen> {
        self.assignments
            .iter()
            .filter_map(|a| seen(a.address.as_deref()?, a.mask, a.preferred, false))
            .collect()
    }
}

/// The WAN interface for `family`: the one named `configured`, or else the
/// one carrying that family's default route (the lowest metric first), as
/// OpenWrt's own `network_find_wan` does. `Ok(None)`: no default route.
pub fn ubus_wan<'a>(
    ifaces: &'a [Iface],
    family: Family,
    configured: Option<&str>,
) -> Result<Option<&'a Iface>> {
    if let Some(name) = configured {
        return match ifaces.iter().find(|i| i.name == name) {
            Some(i) => Ok(Some(i)),
            None => Err(Error::other(format!(
                "netifd has no interface '{name}': fix option interface (`ubus list network.interface.*` lists them)"
            ))),
        };
    }
    Ok(ifaces
        .iter()
        .filter(|i| i.has_default_route(family))
        .min_by_key(|i| i.metric))
}

/// The WAN addresses of `family` on `wan`. A WAN with only a delegated
/// prefix and no address of its own (common with prefix delegation) is
/// reached at the router's address in that prefix on a LAN: those are the
/// IPv6 candidates then.
pub fn ubus_addresses(ifaces: &[Iface], wan: &Iface, family: Family) -> Vec<Seen> {
    let own = wan.addresses(family);
    if family == Family::V4 || own.iter().any(super::selection::usable_v6) {
        return own;
    }
    let delegated: Vec<Seen> = wan.prefixes.iter().filter_map(Item::to_seen).collect();
    let mut out = own;
    for i in ifaces {
        for a in &i.assignments {
            let Some(local) = a.local.as_deref() else {
                continue;
            };
            let Some(s) = seen(local, a.mask, a.preferred, false) else {
                continue;
            };
            if delegated.iter().any(|p| within(s.ip, p.ip, p.len)) {
                out.push(s);
            }
        }
    }
    out
}

/// Whether `ip` is in `net`/`len` (both IPv6).
fn within(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V6(a), IpAddr::V6(n)) => super::selection::compose(n, len, a) == a && len <= 128,
        _ => false,
    }
}

/// The LAN's prefixes, from netifd's assignments to `lan`.
pub fn ubus_lan_prefixes(ifaces: &[Iface], lan: &str) -> Result<Vec<Seen>> {
    match ifaces.iter().find(|i| i.name == lan) {
        Some(i) => Ok(i.assigned_prefixes()),
        None => Err(Error::other(format!(
            "netifd has no interface '{lan}': set option lan_interface to the host's LAN (`ubus list network.interface.*`)"
        ))),
    }
}

// ---- the kernel ----------------------------------------------------------

/// IFA_F_* flags as `/proc/net/if_inet6` prints them (linux/if_addr.h).
mod ifa {
    pub const TEMPORARY: u32 = 0x01;
    pub const DADFAILED: u32 = 0x08;
    pub const DEPRECATED: u32 = 0x20;
    pub const TENTATIVE: u32 = 0x40;
    pub const PERMANENT: u32 = 0x80;
}

/// `/proc/net/if_inet6`: one address per line — 32 hex digits, interface
/// index, prefix length, scope, flags (all hex), device name. Lines that
/// do not parse are skipped.
pub fn parse_if_inet6(text: &str) -> Vec<(String, Seen)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [hex, _index, len, _scope, flags, dev] = f.as_slice() else {
                return None;
            };
            if hex.len() != 32 {
                return None;
            }
            let ip = Ipv6Addr::from(u128::from_str_radix(hex, 16).ok()?);
            let len = u8::from_str_radix(len, 16).ok()?;
            let flags = u32::from_str_radix(flags, 16).ok()?;
            Some((
                dev.to_string(),
                Seen {
                    ip: ip.into(),
                    len,
                    deprecated: flags & ifa::DEPRECATED != 0,
                    temporary: flags & ifa::TEMPORARY != 0,
                    tentative: flags & (ifa::TENTATIVE | ifa::DADFAILED) != 0,
                    fixed: flags & ifa::PERMANENT != 0,
                },
            ))
        })
        .collect()
}

/// The device of the IPv4 default route in `/proc/net/route` (header line,
/// then `Iface Destination Gateway Flags ... Mask ...`, addresses in hex).
/// A zero destination and mask read the same in either byte order.
pub fn default_dev_v4(text: &str) -> Option<String> {
    const RTF_UP: u32 = 0x1;
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (dev, dest, flags, mask) = (f.first()?, f.get(1)?, f.get(3)?, f.get(7)?);
        let up = u32::from_str_radix(flags, 16).ok()? & RTF_UP != 0;
        (up && u32::from_str_radix(dest, 16).ok()? == 0 && u32::from_str_radix(mask, 16).ok()? == 0)
            .then(|| dev.to_string())
    })
}

/// The device of the IPv6 default route in `/proc/net/ipv6_route`
/// (destination, its length, source, its length, next hop, metric, refs,
/// use, flags, device). The `lo` unreachable default is not one.
pub fn default_dev_v6(text: &str) -> Option<String> {
    const RTF_UP: u32 = 0x1;
    const RTF_REJECT: u32 = 0x200;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [dest, len, .., flags, dev] = f.as_slice() else {
            return None;
        };
        let flags = u32::from_str_radix(flags, 16).ok()?;
        let default = dest.bytes().all(|c| c == b'0') && *len == "00";
        (default && flags & RTF_UP != 0 && flags & RTF_REJECT == 0 && *dev != "lo")
            .then(|| dev.to_string())
    })
}

/// The IPv4 addresses in `ip addr show` output (iproute2 or BusyBox), or in
/// the same text made from the kernel's getifaddrs(3) list (`netif`), which
/// is what a run reads unless getifaddrs fails. Forms:
/// `inet 203.0.113.45/24 brd ... scope global eth1`, or on a PPP link
/// `inet 100.72.13.5 peer 100.64.0.1/32 scope global pppoe-wan`.
pub fn parse_ip_addr(text: &str) -> Vec<Seen> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "inet" {
                return None;
            }
            let addr = words.next()?;
            let (ip, len) = match addr.split_once('/') {
                Some((ip, len)) => (ip, len.parse().ok()?),
                None => (addr, 32),
            };
            let ip: Ipv4Addr = ip.parse().ok()?;
            let rest: Vec<&str> = words.collect();
            let scope = rest
                .iter()
                .position(|w| *w == "scope")
                .and_then(|i| rest.get(i + 1));
            if matches!(scope, Some(&("host" | "link"))) {
                return None;
            }
            Some(Seen {
                len,
                ..Seen::plain(ip.into())
            })
        })
        .collect()
}

// ---- web echo and scripts ---------------------------------------------------

/// The addresses of `family` in free text: the whole body of a plain echo
/// service (`203.0.113.45\n`), `ip=...` in Cloudflare's trace, or an address
/// inside a sentence or HTML. Words are split at anything that cannot be part
/// of an address; only words that parse whole count.
pub fn find_ips(text: &str, family: Family) -> Vec<IpAddr> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter(|w| w.len() >= 2)
        .filter_map(|w| w.parse::<IpAddr>().ok())
        .filter(|ip| match (ip, family) {
            (IpAddr::V4(_), Family::V4) => true,
            // `::` alone or `1::` in prose are not answers.
            (IpAddr::V6(v6), Family::V6) => super::selection::is_global_v6(*v6),
            _ => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddns::selection::{self, V4Kind};

    fn fixture(name: &str) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ddns/");
        std::fs::read_to_string(format!("{path}{name}")).unwrap()
    }

    fn dump(name: &str) -> Vec<Iface> {
        parse_ubus_dump(&fixture(name)).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// What the ubus source publishes for a dump: (A, AAAA).
    fn wan_choice(ifaces: &[Iface]) -> (Option<(Ipv4Addr, V4Kind)>, Option<Ipv6Addr>) {
        let v4 = ubus_wan(ifaces, Family::V4, None)
            .unwrap()
            .and_then(|w| selection::pick_v4(&ubus_addresses(ifaces, w, Family::V4), None));
        let v6 = ubus_wan(ifaces, Family::V6, None)
            .unwrap()
            .and_then(|w| selection::pick_v6(&ubus_addresses(ifaces, w, Family::V6), None));
        (v4, v6)
    }

    #[test]
    fn ubus_dual_stack() {
        let ifaces = dump("ubus_dual_stack.json");
        assert_eq!(ifaces.len(), 4);
        assert_eq!(
            ubus_wan(&ifaces, Family::V4, None).unwrap().unwrap().name,
            "wan"
        );
        assert_eq!(
            ubus_wan(&ifaces, Family::V6, None).unwrap().unwrap().name,
            "wan6"
        );
        let (v4, v6) = wan_choice(&ifaces);
        assert_eq!(v4, Some(("203.0.113.45".parse().unwrap(), V4Kind::Public)));
        assert_eq!(v6, Some("2001:db8:0:1::1234".parse().unwrap()));
        let lan = ubus_lan_prefixes(&ifaces, "lan").unwrap();
        let id = crate::config::HostId::Suffix("::1:2".parse().unwrap());
        assert_eq!(
            selection::lan_host(&lan, id, None),
            Some("2001:db8:aa00:10::1:2".parse().unwrap())
        );
        let e = ubus_lan_prefixes(&ifaces, "guest").unwrap_err().to_string();
        assert!(e.contains("'guest'") && e.contains("lan_interface"), "{e}");
        let e = ubus_wan(&ifaces, Family::V4, Some("wwan"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'wwan'") && e.contains("option interface"),
            "{e}"
        );
    }

    #[test]
    fn ubus_ipv6_only_with_prefix_delegation() {
        let ifaces = dump("ubus_ipv6_only_pd.json");
        let wan = ifaces.iter().find(|i| i.name == "wan").unwrap();
        assert!(!wan.up && wan.ipv4.is_empty());
        // No IPv4 default route: nothing to publish, and no error.
        assert!(ubus_wan(&ifaces, Family::V4, None).unwrap().is_none());
        let (v4, v6) = wan_choice(&ifaces);
        assert_eq!(v4, None);
        // wan6 has no address of its own: the router's LAN address in the
        // delegated prefix stands in, not the ULA one.
        assert_eq!(v6, Some("2001:db8:cc00:ab00::1".parse().unwrap()));
    }

    #[test]
    fn ubus_never_a_ula_or_deprecated_address() {
        // The dump lists the upstream router's ULA address first: OpenWrt's
        // ddns-scripts published it in 25.12.
        let ifaces = dump("ubus_ula_deprecated.json");
        let wan6 = ubus_wan(&ifaces, Family::V6, None).unwrap().unwrap();
        assert_eq!(
            wan6.addresses(Family::V6)[0].ip,
            ip("fd00:cafe:1:0:2a0:c9ff:fe12:3456")
        );
        let (v4, v6) = wan_choice(&ifaces);
        assert_eq!(v6, Some("2001:db8:6:1:2a0:c9ff:fe12:3456".parse().unwrap()));
        assert_eq!(v4.unwrap().1, V4Kind::Private);
        let lan = ubus_lan_prefixes(&ifaces, "lan").unwrap();
        let id = crate::config::HostId::Suffix("::1:2".parse().unwrap());
        assert_eq!(
            selection::lan_host(&lan, id, None),
            Some("2001:db8:6:110::1:2".parse().unwrap())
        );
    }

    #[test]
    fn ubus_pppoe_behind_cgnat() {
        let ifaces = dump("ubus_pppoe_cgnat.json");
        let wan = ubus_wan(&ifaces, Family::V4, None).unwrap().unwrap();
        assert_eq!(
            (wan.name.as_str(), wan.l3_device.as_deref()),
            ("wan", Some("pppoe-wan"))
        );
        assert_eq!(
            ubus_wan(&ifaces, Family::V6, None).unwrap().unwrap().name,
            "wan_6"
        );
        let (v4, v6) = wan_choice(&ifaces);
        assert_eq!(v4, Some(("100.72.13.5".parse().unwrap(), V4Kind::Shared)));
        assert_eq!(v6, Some("2001:db8:dd:1::5".parse().unwrap()));
    }

    #[test]
    fn ubus_renumbering_moves_to_the_new_prefix() {
        let before = dump("ubus_dual_stack.json");
        let after = dump("ubus_renumbered.json");
        let id = crate::config::HostId::Suffix("::1:2".parse().unwrap());
        let old = selection::lan_host(&ubus_lan_prefixes(&before, "lan").unwrap(), id, None);
        let new = selection::lan_host(
            &ubus_lan_prefixes(&after, "lan").unwrap(),
            id,
            old.map(Into::into),
        );
        assert_eq!(old, Some("2001:db8:aa00:10::1:2".parse().unwrap()));
        assert_eq!(new, Some("2001:db8:bb00:10::1:2".parse().unwrap()));
        // The router's own address moves off the deprecated one too, even
        // though it was published before.
        let wan6 = ubus_wan(&after, Family::V6, None).unwrap().unwrap();
        assert_eq!(
            selection::pick_v6(
                &ubus_addresses(&after, wan6, Family::V6),
                Some(ip("2001:db8:0:1::1234"))
            ),
            Some("2001:db8:0:2::77".parse().unwrap())
        );
    }

    #[test]
    fn ubus_garbage_is_a_clear_error() {
        let e = parse_ubus_dump("Command failed: Not found")
            .unwrap_err()
            .to_string();
        assert!(e.contains("netifd"), "{e}");
        assert!(parse_ubus_dump("{}").unwrap().is_empty());
    }

    #[test]
    fn if_inet6_flags_and_choice() {
        let all = parse_if_inet6(&fixture("if_inet6_router"));
        assert_eq!(all.len(), 11);
        let (dev, lo) = &all[3];
        assert_eq!(
            (dev.as_str(), lo.ip, lo.len, lo.fixed),
            ("lo", ip("::1"), 128, true)
        );
        let find = |a: &str| all.iter().find(|(_, s)| s.ip == ip(a)).unwrap().1.clone();
        assert!(find("2001:db8:6:1:9c3e:51d0:8e7a:2f44").temporary);
        assert!(find("2001:db8:5:1:2a0:c9ff:fe12:3456").deprecated);
        assert!(find("2001:db8:6:1::bad").tentative);
        let eth1: Vec<Seen> = all
            .iter()
            .filter(|(d, _)| d == "eth1")
            .map(|(_, s)| s.clone())
            .collect();
        assert_eq!(eth1.len(), 6);
        assert_eq!(
            selection::pick_v6(&eth1, None),
            Some("2001:db8:6:1:2a0:c9ff:fe12:3456".parse().unwrap())
        );
        let lan: Vec<Seen> = all
            .iter()
            .filter(|(d, _)| d == "br-lan")
            .map(|(_, s)| s.clone())
            .collect();
        let mac = crate::config::HostId::Mac([0x00, 0x11, 0x32, 0x12, 0x34, 0x56]);
        assert_eq!(
            selection::lan_host(&lan, mac, None),
            Some("2001:db8:6:110:211:32ff:fe12:3456".parse().unwrap())
        );
        // A static address wins over a lower dynamic one; the privacy
        // address is never taken.
        let host: Vec<Seen> = parse_if_inet6(&fixture("if_inet6_static"))
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(
            selection::pick_v6(&host, None),
            Some("2001:db8:77:1::10".parse().unwrap())
        );
        assert!(parse_if_inet6("garbage\n0011 02 40 00 00 eth0\n").is_empty());
    }

    #[test]
    fn default_route_devices() {
        assert_eq!(
            default_dev_v4(&fixture("route_pppoe")).as_deref(),
            Some("pppoe-wan")
        );
        assert_eq!(
            default_dev_v6(&fixture("ipv6_route_router")).as_deref(),
            Some("eth1")
        );
        let only_lo = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        assert_eq!(default_dev_v6(only_lo), None);
        assert_eq!(default_dev_v4("Iface\tDestination\n"), None);
    }

    #[test]
    fn ip_addr_output() {
        let iproute2 = "7: pppoe-wan: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP> mtu 1492 qdisc fq_codel state UNKNOWN group default qlen 3
    link/ppp 
    inet 100.72.13.5 peer 100.64.0.1/32 scope global pppoe-wan
       valid_lft forever preferred_lft forever
";
        let got = parse_ip_addr(iproute2);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].ip, got[0].len), (ip("100.72.13.5"), 32));
        let busybox = "3: eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq qlen 1000
    link/ether 00:a0:c9:12:34:56 brd ff:ff:ff:ff:ff:ff
    inet 203.0.113.45/24 brd 203.0.113.255 scope global eth1
    inet 169.254.7.7/16 scope link eth1
    inet6 2001:db8::1/64 scope global
";
        let got = parse_ip_addr(busybox);
        assert_eq!(
            got.iter().map(|s| (s.ip, s.len)).collect::<Vec<_>>(),
            [(ip("203.0.113.45"), 24)]
        );
    }

    #[test]
    fn echo_bodies() {
        assert_eq!(find_ips("203.0.113.45\n", Family::V4), [ip("203.0.113.45")]);
        assert_eq!(find_ips("2001:db8::45\n", Family::V6), [ip("2001:db8::45")]);
        assert!(find_ips("2001:db8::45\n", Family::V4).is_empty());
        let trace = "fl=28f123\nh=www.cloudflare.com\nip=198.51.100.7\nts=1700000000.123\nvisit_scheme=https\nuag=wancert/0.1.0\ncolo=HKG\n";
        assert_eq!(find_ips(trace, Family::V4), [ip("198.51.100.7")]);
        let sentence = "当前 IP：198.51.100.7  来自于：中国 广东 深圳  电信";
        assert_eq!(find_ips(sentence, Family::V4), [ip("198.51.100.7")]);
        let html = "<html><body>Current IP Address: 198.51.100.7</body></html>";
        assert_eq!(find_ips(html, Family::V4), [ip("198.51.100.7")]);
        assert!(find_ips("<html>blocked</html> 1::", Family::V6).is_empty());
        assert!(find_ips("::", Family::V6).is_empty());
    }
}
