//! The address sources of DDNS (src/ddns/sources.rs): netifd's JSON dump read
//! from `ubus call network.interface dump`, and the text of
//! /proc/net/if_inet6, `ip addr` and web echo services.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wancert::ddns::sources;
use wancert::providers::Family;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ifaces) = sources::parse_ubus_dump(text) {
        for family in [Family::V4, Family::V6] {
            if let Ok(Some(wan)) = sources::ubus_wan(&ifaces, family, None) {
                let _ = sources::ubus_addresses(&ifaces, wan, family);
            }
        }
        for i in &ifaces {
            let _ = sources::ubus_lan_prefixes(&ifaces, &i.name);
        }
    }
    let _ = sources::parse_if_inet6(text);
    let _ = sources::parse_ip_addr(text);
    let _ = sources::default_dev_v4(text);
    let _ = sources::default_dev_v6(text);
    let _ = sources::find_ips(text, Family::V4);
    let _ = sources::find_ips(text, Family::V6);
});
