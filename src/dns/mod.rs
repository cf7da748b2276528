//! DNS: wire format and TSIG (pure), the UDP/TCP transport (edge), and DNS
//! over HTTPS through the `Http` seam.

pub mod doh;
pub mod net;
pub mod tsig;
pub mod wire;

use wire::{Message, Name, RData, rcode};

use crate::{Error, Result};

/// Find the zone that holds `name`: ask for the SOA of `name`, then of each
/// parent in turn, and take the owner of the first SOA in an answer or
/// authority section (a server that holds the zone puts it in one of them,
/// whether or not `name` exists). `ask_soa` does the asking, so this is pure.
pub fn find_zone(name: &Name, mut ask_soa: impl FnMut(&Name) -> Result<Message>) -> Result<Name> {
    let mut last = None;
    let mut at = name.clone();
    while !at.is_root() {
        let m = ask_soa(&at)?;
        if matches!(m.rcode(), rcode::NOERROR | rcode::NXDOMAIN) {
            let mut records = m.answers.iter().chain(&m.authority);
            let soa =
                records.find(|rr| matches!(rr.data, RData::Soa(_)) && name.is_within(&rr.name));
            if let Some(rr) = soa {
                return Ok(rr.name.clone());
            }
        }
        // A REFUSED here may still be a NOERROR higher up, from a server
        // that holds the parent zone.
        last = Some(m.rcode());
        at = at.parent().unwrap_or_else(Name::root);
    }
    let last = last.map_or("none".to_string(), rcode::name);
    Err(Error::Dns(format!(
        "found no zone (SOA) holding {name}; last answer {last}"
    )))
}

#[cfg(test)]
mod tests {
    use super::wire::{Record, Soa, class, flag, rtype};
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn soa(owner: &str) -> Record {
        Record {
            name: name(owner),
            rtype: rtype::SOA,
            class: class::IN,
            ttl: 60,
            data: RData::Soa(Soa {
                mname: name("ns1"),
                rname: name("admin"),
                serial: 1,
                refresh: 1,
                retry: 1,
                expire: 1,
                minimum: 1,
            }),
        }
    }

    fn answer(code: u16) -> Message {
        Message {
            flags: flag::QR | code,
            ..Message::default()
        }
    }

    #[test]
    fn zone_from_the_authority_section_of_nxdomain() {
        let mut asked = Vec::new();
        let zone = find_zone(&name("_acme-challenge.www.example.com"), |n| {
            asked.push(n.to_string());
            let mut m = answer(rcode::NXDOMAIN);
            m.authority.push(soa("example.com"));
            Ok(m)
        });
        assert_eq!(zone.unwrap(), name("example.com"));
        assert_eq!(asked, ["_acme-challenge.www.example.com"]);
    }

    #[test]
    fn walks_up_past_refusals_and_empty_answers() {
        let mut asked = Vec::new();
        let zone = find_zone(&name("a.b.example.com"), |n| {
            asked.push(n.to_string());
            Ok(match n.to_string().as_str() {
                "a.b.example.com" => answer(rcode::REFUSED),
                "b.example.com" => answer(rcode::NOERROR),
                _ => {
                    let mut m = answer(rcode::NOERROR);
                    m.answers.push(soa("example.com"));
                    m
                }
            })
        });
        assert_eq!(zone.unwrap(), name("example.com"));
        assert_eq!(asked, ["a.b.example.com", "b.example.com", "example.com"]);
    }

    #[test]
    fn an_unrelated_soa_is_not_the_zone() {
        let e = find_zone(&name("x.example.org"), |_| {
            let mut m = answer(rcode::NOERROR);
            m.authority.push(soa("example.com"));
            Ok(m)
        })
        .unwrap_err();
        assert!(e.to_string().contains("found no zone"), "{e}");
    }

    #[test]
    fn no_zone_anywhere_names_the_last_answer() {
        let e = find_zone(&name("x.example.org"), |_| Ok(answer(rcode::REFUSED))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "DNS: found no zone (SOA) holding x.example.org; last answer REFUSED"
        );
    }
}
