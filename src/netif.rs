//! The IPv4 addresses of a network device, asked of the kernel through
//! getifaddrs(3).
//!
//! Why libc: the kernel tells a device's IPv4 addresses nowhere in /proc
//! (`/proc/net/fib_trie` lists local addresses without their devices), and
//! running `ip addr` instead costs a process on every cron run, about as much
//! as the rest of a run with nothing to do. std has no getifaddrs, and an FFI
//! crate for one call costs more bytes than this declaration. The layouts of
//! `struct ifaddrs` and `struct sockaddr_in` are the same in glibc and musl,
//! on 32- and 64-bit, big- and little-endian Linux.

use std::net::Ipv4Addr;

/// `AF_INET`: 2 on every Linux architecture.
const AF_INET: u16 = 2;

/// The IPv4 addresses of `dev` (and of its alias labels, `dev:1`), each with
/// its prefix length; `None` when getifaddrs fails (the caller falls back to
/// `ip addr`). A device without IPv4 addresses, or none by that name, gives
/// an empty list.
#[allow(unsafe_code)]
pub fn ipv4_addresses(dev: &str) -> Option<Vec<(Ipv4Addr, u8)>> {
    use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
    #[repr(C)]
    struct IfAddrs {
        next: *mut IfAddrs,
        name: *const c_char,
        flags: c_uint,
        addr: *const SockAddrIn,
        netmask: *const SockAddrIn,
        broadcast_or_peer: *const c_void,
        data: *const c_void,
    }
    /// The start of `struct sockaddr_in`: every sockaddr is at least this
    /// long (16 bytes), and only an `AF_INET` one is read past its family.
    #[repr(C)]
    struct SockAddrIn {
        family: u16,
        port: u16,
        addr: [u8; 4],
    }
    unsafe extern "C" {
        fn getifaddrs(list: *mut *mut IfAddrs) -> c_int;
        fn freeifaddrs(list: *mut IfAddrs);
    }
    let mut list: *mut IfAddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head (or fails and writes nothing).
    if unsafe { getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut p = list;
    while !p.is_null() {
        // SAFETY: `p` is a node of the list getifaddrs made, alive until
        // freeifaddrs below; its name is a C string, its addresses (when not
        // null) point at sockaddrs of at least `SockAddrIn`'s size.
        let ifa = unsafe { &*p };
        let name = (!ifa.name.is_null()).then(|| unsafe { CStr::from_ptr(ifa.name) }.to_bytes());
        let ours = name.is_some_and(|n| {
            n == dev.as_bytes()
                || n.strip_prefix(dev.as_bytes())
                    .is_some_and(|rest| rest.first() == Some(&b':'))
        });
        if ours && !ifa.addr.is_null() {
            let addr = unsafe { &*ifa.addr };
            if addr.family == AF_INET {
                let len = if ifa.netmask.is_null() {
                    32
                } else {
                    u32::from_be_bytes(unsafe { &*ifa.netmask }.addr).count_ones() as u8
                };
                out.push((Ipv4Addr::from(addr.addr), len));
            }
        }
        p = ifa.next;
    }
    // SAFETY: the list getifaddrs made, freed once; nothing of it is kept
    // (names were compared, addresses copied).
    unsafe { freeifaddrs(list) };
    Some(out)
}

/// `addresses` as `ip addr show` prints them (`inet A/LEN scope S`), the
/// text `ddns::sources::parse_ip_addr` reads, so the kernel's answer and a
/// fallback `ip` run take one path.
pub fn as_ip_addr_text(addresses: &[(Ipv4Addr, u8)]) -> String {
    let mut text = String::new();
    for (ip, len) in addresses {
        let scope = if ip.is_loopback() {
            "host"
        } else if ip.is_link_local() {
            "link"
        } else {
            "global"
        };
        text.push_str(&format!("    inet {ip}/{len} scope {scope}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_its_address() {
        let lo = ipv4_addresses("lo").expect("getifaddrs works");
        assert!(lo.contains(&(Ipv4Addr::LOCALHOST, 8)), "{lo:?}");
        // A prefix of a name is not the device: "l" is not "lo".
        assert!(ipv4_addresses("l").unwrap().is_empty());
        assert!(ipv4_addresses("no-such-device0").unwrap().is_empty());
    }

    #[test]
    fn the_text_is_what_parse_ip_addr_reads() {
        let list = [
            (Ipv4Addr::new(203, 0, 113, 45), 24),
            (Ipv4Addr::LOCALHOST, 8),
            (Ipv4Addr::new(169, 254, 1, 2), 16),
        ];
        let seen = crate::ddns::sources::parse_ip_addr(&as_ip_addr_text(&list));
        let ips: Vec<_> = seen.iter().map(|s| (s.ip, s.len)).collect();
        // Loopback and link-local are never a WAN address.
        assert_eq!(ips, vec![(Ipv4Addr::new(203, 0, 113, 45).into(), 24)]);
    }
}
