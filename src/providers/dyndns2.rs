//! The dyndns2 protocol of classic DDNS services (No-IP, Dynu, Dyn and the
//! many that copied it): `GET /nic/update?hostname=H&myip=A` with HTTP basic
//! authentication, answered by a code in plain text.
//!
//! Options: `server` (`noip`, `dynu`, `dyn`, or the update URL; a URL
//! without a path gets `/nic/update`), `username`, `password` (or
//! `password_file`), `ipv6_param` (`myipv6`, the default, as No-IP and Dynu
//! take it; or `myip` to send both families comma-separated in `myip`).
//!
//! Codes: `good` and `nochg` are success. `badauth`, `!donator`, `notfqdn`,
//! `nohost`, `numhost`, `abuse` and `badagent` mean the account or the
//! host is wrong: the service asks clients to stop until a person fixes it,
//! so these are refusals that end retries. `911` and `dnserr` are the
//! service's own trouble: wait at least 30 minutes.

use std::net::IpAddr;
use std::time::Duration;

use super::rest::{self, strip_query};
use super::{DnsProvider, Env, Family, ProviderType};
use crate::config::PluginSection;
use crate::http::Request;
use crate::{Error, Result, b64};

pub const TYPE: ProviderType = ProviderType {
    name: "dyndns2",
    about: "classic DDNS services over the dyndns2 /nic/update protocol (No-IP, Dynu, ...): A/AAAA only",
    build,
};

/// `server` shortcuts.
const SERVERS: &[(&str, &str)] = &[
    ("noip", "https://dynupdate.no-ip.com/nic/update"),
    ("dynu", "https://api.dynu.com/nic/update"),
    ("dyn", "https://members.dyndns.org/nic/update"),
];

/// How long to leave a service alone after `911` or `dnserr`.
const MAINTENANCE_PAUSE: Duration = Duration::from_secs(30 * 60);

fn build<'a>(section: &PluginSection, env: &Env<'a>) -> Result<Box<dyn DnsProvider + 'a>> {
    let server = section.required("server")?;
    let url = match SERVERS.iter().find(|(k, _)| *k == server) {
        Some((_, url)) => (*url).to_string(),
        None => update_url(server).ok_or_else(|| {
            let names: Vec<&str> = SERVERS.iter().map(|(k, _)| *k).collect();
            section.error(
                "server",
                &format!(
                    "option server '{server}' is not an http(s) URL or one of {}",
                    names.join(", ")
                ),
            )
        })?,
    };
    let username = section.required("username")?.to_string();
    let password = section.secret("password")?;
    let myip_both = match section.optional("ipv6_param") {
        None | Some("myipv6") => false,
        Some("myip") => true,
        Some(v) => {
            return Err(section.error(
                "ipv6_param",
                &format!("option ipv6_param '{v}' is not myipv6 or myip"),
            ));
        }
    };
    Ok(Box::new(Dyndns2 {
        section: section.name.clone(),
        url,
        auth: format!(
            "Basic {}",
            b64::std(format!("{username}:{password}").as_bytes())
        ),
        myip_both,
        env: Env {
            http: env.http,
            clock: env.clock,
        },
    }))
}

/// The update URL for a configured one: as given when it has a path, else
/// with the protocol's `/nic/update`.
fn update_url(v: &str) -> Option<String> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))?;
    if rest.is_empty() || rest.starts_with('/') || v.contains(['?', ' ']) {
        return None;
    }
    Some(match rest.find('/') {
        Some(_) => v.to_string(),
        None => format!("{v}/nic/update"),
    })
}

struct Dyndns2<'a> {
    /// The config section's name, for messages.
    section: String,
    url: String,
    /// The Authorization header value; never logged.
    auth: String,
    myip_both: bool,
    env: Env<'a>,
}

impl DnsProvider for Dyndns2<'_> {
    fn add_txt(&mut self, fqdn: &str, _value: &str) -> Result<()> {
        Err(self.no_txt(fqdn))
    }

    fn remove_txt(&mut self, fqdn: &str, _value: &str) -> Result<()> {
        Err(self.no_txt(fqdn))
    }

    fn set_address(
        &mut self,
        fqdn: &str,
        family: Family,
        addrs: &[IpAddr],
        ttl: u32,
    ) -> Result<()> {
        let [addr] = addrs else {
            return Err(Error::Dns(format!(
                "dyndns2 sets exactly one address per family at {fqdn}, not {}",
                addrs.len()
            )));
        };
        self.set_addresses(fqdn, &[(family, *addr)], ttl)
    }

    fn set_addresses(&mut self, fqdn: &str, addrs: &[(Family, IpAddr)], _ttl: u32) -> Result<()> {
        let query = query(fqdn, addrs, self.myip_both);
        let url = format!("{}?{query}", self.url);
        let headers = [("authorization", self.auth.as_str())];
        let req = Request {
            method: "GET",
            url: &url,
            headers: &headers,
            body: None,
        };
        let resp = rest::send(self.env.http, self.env.clock, &req, "dyndns2").map_err(|e| {
            e.context(&format!(
                "config provider '{}' (check option server)",
                self.section
            ))
        })?;
        let body = String::from_utf8_lossy(&resp.body);
        judge(resp.status, &body, fqdn, addrs)
            .map_err(|e| prefix(e, &format!("{} ({})", strip_query(&self.url), self.section)))?;
        log::debug!("dyndns2: {fqdn} updated: {}", body.trim());
        Ok(())
    }

    fn wants_refresh(&self) -> bool {
        true
    }
}

impl Dyndns2<'_> {
    fn no_txt(&self, fqdn: &str) -> Error {
        Error::other(format!(
            "config provider '{}': dyndns2 services cannot set TXT records (at {fqdn}): use a DNS provider with an API for certificates",
            self.section
        ))
    }
}

/// `hostname=...&myip=...`: IPv4 in `myip`; IPv6 in `myipv6`, or appended to
/// `myip` after a comma.
fn query(fqdn: &str, addrs: &[(Family, IpAddr)], myip_both: bool) -> String {
    let pick = |f: Family| {
        addrs
            .iter()
            .find(|(g, _)| *g == f)
            .map(|(_, a)| a.to_string())
    };
    let mut q = format!("hostname={}", rest::percent_encode(fqdn));
    match (pick(Family::V4), pick(Family::V6), myip_both) {
        (Some(v4), Some(v6), true) => {
            q.push_str(&format!("&myip={v4},{}", rest::percent_encode(&v6)))
        }
        (v4, v6, _) => {
            if let Some(v4) = v4 {
                q.push_str(&format!("&myip={v4}"));
            }
            if let Some(v6) = v6 {
                let key = if myip_both { "myip" } else { "myipv6" };
                q.push_str(&format!("&{key}={}", rest::percent_encode(&v6)));
            }
        }
    }
    q
}

fn prefix(e: Error, what: &str) -> Error {
    match e {
        Error::Refused { msg, retry_after } => Error::Refused {
            msg: format!("{what}: {msg}"),
            retry_after,
        },
        Error::Dns(m) => Error::Dns(format!("{what}: {m}")),
        e => e,
    }
}

/// The service's answer: `Ok` for `good`/`nochg`, else a one-line error
/// saying what to do.
fn judge(status: u16, body: &str, fqdn: &str, sent: &[(Family, IpAddr)]) -> Result<()> {
    let refuse = |msg: String| Error::Refused {
        msg,
        retry_after: None,
    };
    if status == 401 || status == 403 {
        return Err(refuse(format!(
            "the service refused the credentials (HTTP {status}): check option username and password; updates stop until the configuration changes"
        )));
    }
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut words = line.split_whitespace();
    let code = words.next().unwrap_or("");
    let stop = "; updates stop until the configuration changes or `wancert ddns --force`";
    match code {
        "good" | "nochg" if status < 300 => {
            // `good 127.0.0.1` when we sent another address: the service
            // ignored us (its way of refusing an unknown client).
            let loopback: IpAddr = [127, 0, 0, 1].into();
            let echoed = words.next().and_then(|w| w.parse::<IpAddr>().ok());
            if echoed == Some(loopback) && !sent.iter().any(|(_, a)| *a == loopback) {
                return Err(refuse(format!(
                    "the service ignored the update of {fqdn} (good 127.0.0.1: it does not accept this client){stop}"
                )));
            }
            Ok(())
        }
        "badauth" => Err(refuse(format!(
            "wrong username or password (badauth): check option username and password{stop}"
        ))),
        "!donator" => Err(refuse(format!(
            "the account cannot use this feature (!donator): upgrade it or turn the family off{stop}"
        ))),
        "notfqdn" => Err(refuse(format!(
            "{fqdn} is not a full host name to the service (notfqdn): fix option domain{stop}"
        ))),
        "nohost" => Err(refuse(format!(
            "the account has no host {fqdn} (nohost): create it at the service or fix option domain{stop}"
        ))),
        "numhost" => Err(refuse(format!(
            "the service refused the host list for {fqdn} (numhost): check the host at the service{stop}"
        ))),
        "abuse" => Err(refuse(format!(
            "the service blocked {fqdn} for abuse (abuse): unblock it in the account{stop}"
        ))),
        "badagent" => Err(refuse(format!(
            "the service does not accept this client (badagent){stop}"
        ))),
        "911" | "dnserr" => Err(Error::Refused {
            msg: format!(
                "the service reports a problem on its side ({code}): retrying in {} minutes",
                MAINTENANCE_PAUSE.as_secs() / 60
            ),
            retry_after: Some(MAINTENANCE_PAUSE),
        }),
        _ => {
            let mut shown: String = line.chars().take(80).collect();
            if shown.is_empty() {
                shown = "an empty body".into();
            }
            Err(Error::Dns(format!(
                "unexpected answer (HTTP {status}): {shown}: check option server"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn query_strings() {
        let both = [
            (Family::V4, ip("203.0.113.7")),
            (Family::V6, ip("2001:db8::7")),
        ];
        assert_eq!(
            query("home.example.com", &both, false),
            "hostname=home.example.com&myip=203.0.113.7&myipv6=2001%3Adb8%3A%3A7"
        );
        assert_eq!(
            query("home.example.com", &both, true),
            "hostname=home.example.com&myip=203.0.113.7,2001%3Adb8%3A%3A7"
        );
        assert_eq!(
            query("h.example.com", &both[1..], true),
            "hostname=h.example.com&myip=2001%3Adb8%3A%3A7"
        );
        assert_eq!(
            query("h.example.com", &both[..1], false),
            "hostname=h.example.com&myip=203.0.113.7"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            update_url("https://ddns.example").as_deref(),
            Some("https://ddns.example/nic/update")
        );
        assert_eq!(
            update_url("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/nic/update")
        );
        assert_eq!(
            update_url("https://x.example/v3/update").as_deref(),
            Some("https://x.example/v3/update")
        );
        for bad in ["ftp://x", "https://", "x.example", "https://x/?a=b"] {
            assert_eq!(update_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn answer_codes() {
        let sent = [(Family::V4, ip("203.0.113.7"))];
        let j = |status: u16, body: &str| judge(status, body, "h.example.com", &sent);
        assert!(j(200, "good 203.0.113.7\n").is_ok());
        assert!(j(200, "nochg 203.0.113.7").is_ok());
        assert!(j(200, "\r\ngood").is_ok());
        let refused = |r: Result<()>| match r {
            Err(Error::Refused { msg, retry_after }) => (msg, retry_after),
            other => panic!("{other:?}"),
        };
        for (body, word) in [
            ("badauth", "username"),
            ("!donator", "!donator"),
            ("notfqdn", "option domain"),
            ("nohost", "nohost"),
            ("numhost", "numhost"),
            ("abuse", "unblock"),
            ("badagent", "badagent"),
            ("good 127.0.0.1", "127.0.0.1"),
        ] {
            let (msg, after) = refused(j(200, body));
            assert!(msg.contains(word) && after.is_none(), "{body}: {msg}");
        }
        let (msg, after) = refused(j(401, "Unauthorized"));
        assert!(msg.contains("HTTP 401") && after.is_none(), "{msg}");
        for body in ["911", "dnserr"] {
            let (msg, after) = refused(j(200, body));
            assert_eq!(after, Some(MAINTENANCE_PAUSE), "{msg}");
        }
        let e = j(200, "<html>oops</html>").unwrap_err().to_string();
        assert!(
            e.contains("unexpected answer") && e.contains("option server"),
            "{e}"
        );
        assert!(j(200, "").unwrap_err().to_string().contains("empty body"));
        // good is not success on an error status.
        assert!(j(404, "good").is_err());
    }
}
