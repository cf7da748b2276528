//! Port forwards from OpenWrt's `/etc/config/firewall`: the `config redirect`
//! sections with target DNAT (the default). A deploy section names one with
//! `option redirect 'NAME'` and takes its host and port from it, so that it
//! follows the forward when the user moves it. Pure: text in, forwards out.
//!
//! ```text
//! config redirect
//!     option name 'NAS'
//!     option src 'wan'
//!     option src_dport '8443'
//!     option dest_ip '192.168.1.10'
//!     option dest_port '443'        # the same as src_dport when absent
//!     list proto 'tcp'              # 'tcp udp' when absent
//!     option target 'DNAT'          # the default; SNAT sections are not forwards
//!     option enabled '0'            # disabled; enabled when absent
//! ```

use crate::uci::{self, Section};

/// Where OpenWrt keeps it.
pub const DEFAULT_PATH: &str = "/etc/config/firewall";

/// One port forward (a DNAT `config redirect` section).
#[derive(Debug, Clone, PartialEq)]
pub struct Forward {
    /// `option name`, else the section's name, else `redirect@LINE`.
    pub name: String,
    /// Line of the `config redirect` statement.
    pub line: usize,
    pub proto: Vec<String>,
    /// The external port or range, as written (`8443`, `8000-8010`).
    pub src_dport: Option<String>,
    /// The internal host; `None` forwards to the router itself.
    pub dest_ip: Option<String>,
    /// The internal port or range: `dest_port`, else `src_dport`.
    pub dest_port: Option<String>,
    pub enabled: bool,
}

impl Forward {
    /// The internal host a deploy reaches: `dest_ip`, or the router itself.
    pub fn host(&self) -> &str {
        self.dest_ip.as_deref().unwrap_or("127.0.0.1")
    }

    /// The internal TCP port of the service behind the forward, or why there
    /// is not exactly one.
    pub fn port(&self) -> Result<u16, String> {
        let tcp = self
            .proto
            .iter()
            .any(|p| matches!(p.as_str(), "tcp" | "tcpudp" | "all" | "any"));
        if !tcp {
            return Err(format!(
                "port forward '{}' does not forward TCP (proto {})",
                self.name,
                self.proto.join(" ")
            ));
        }
        let Some(port) = &self.dest_port else {
            return Err(format!("port forward '{}' has no port", self.name));
        };
        port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            format!(
                "port forward '{}' forwards '{port}', not one port: set option verify 'HOST:PORT' in the deploy section",
                self.name
            )
        })
    }

    /// One line for `wancert targets`.
    pub fn describe(&self) -> String {
        let dash = || "-".to_string();
        format!(
            "{}\t{}\t{} -> {}:{}\t{}",
            self.name,
            self.proto.join(" "),
            self.src_dport.clone().unwrap_or_else(dash),
            self.dest_ip.as_deref().unwrap_or("router"),
            self.dest_port.clone().unwrap_or_else(dash),
            if self.enabled { "enabled" } else { "disabled" }
        )
    }
}

/// The port forwards in a firewall configuration, in file order.
pub fn parse(text: &str) -> Result<Vec<Forward>, uci::ParseError> {
    Ok(uci::parse(text)?
        .iter()
        .filter(|s| s.ty == "redirect")
        .filter(|s| {
            s.value("target")
                .is_none_or(|t| t.eq_ignore_ascii_case("DNAT"))
        })
        .map(forward)
        .collect())
}

fn forward(s: &Section) -> Forward {
    let value = |k: &str| s.value(k).filter(|v| !v.is_empty()).map(String::from);
    let name = value("name")
        .or_else(|| s.name.clone())
        .unwrap_or_else(|| format!("redirect@{}", s.line));
    // `list proto 'tcp'` or `option proto 'tcp udp'`, both as libuci reads them.
    let mut proto: Vec<String> = s
        .list("proto")
        .iter()
        .flat_map(|p| p.split_whitespace())
        .map(str::to_ascii_lowercase)
        .collect();
    if proto.is_empty() {
        proto = vec!["tcp".into(), "udp".into()];
    }
    let src_dport = value("src_dport");
    Forward {
        name,
        line: s.line,
        proto,
        dest_port: value("dest_port").or_else(|| src_dport.clone()),
        src_dport,
        dest_ip: value("dest_ip"),
        // UCI booleans: 0, no, off, false disable.
        enabled: !s
            .value("enabled")
            .is_some_and(|v| matches!(v, "0" | "no" | "off" | "false")),
    }
}

/// The forward called `name`: by `option name` (what LuCI shows), else by
/// section name. Two forwards of that name are an error: guessing could
/// deploy a key to the wrong host.
pub fn find<'a>(forwards: &'a [Forward], name: &str) -> Result<&'a Forward, String> {
    let hits: Vec<&Forward> = forwards.iter().filter(|f| f.name == name).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<&str> = forwards.iter().map(|f| f.name.as_str()).collect();
            Err(if known.is_empty() {
                format!("there is no port forward '{name}': the firewall has none")
            } else {
                format!(
                    "there is no port forward '{name}': the firewall has {}",
                    known.join(", ")
                )
            })
        }
        many => {
            let lines: Vec<String> = many.iter().map(|f| f.line.to_string()).collect();
            Err(format!(
                "several port forwards are called '{name}' (lines {}): rename all but one",
                lines.join(", ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OpenWrt 23.05 firewall as LuCI leaves it, with a few forwards
    /// added: one per shape that matters.
    const OPENWRT: &str = r#"
config defaults
	option syn_flood '1'
	option input 'REJECT'
	option output 'ACCEPT'
	option forward 'REJECT'

config zone
	option name 'lan'
	list network 'lan'
	option input 'ACCEPT'
	option output 'ACCEPT'
	option forward 'ACCEPT'

config zone
	option name 'wan'
	list network 'wan'
	list network 'wan6'
	option input 'REJECT'
	option output 'ACCEPT'
	option forward 'REJECT'
	option masq '1'
	option mtu_fix '1'

config forwarding
	option src 'lan'
	option dest 'wan'

config rule
	option name 'Allow-DHCP-Renew'
	option src 'wan'
	option proto 'udp'
	option dest_port '68'
	option target 'ACCEPT'
	option family 'ipv4'

# The NAS's web UI, from LuCI (fw4 writes proto as a list).
config redirect
	option dest 'lan'
	option target 'DNAT'
	option name 'NAS'
	list proto 'tcp'
	option src 'wan'
	option src_dport '8443'
	option dest_ip '192.168.1.10'
	option dest_port '443'

config redirect
	option target 'DNAT'
	option name 'Home Assistant'
	option src 'wan'
	option src_dport '8123'
	option dest 'lan'
	option dest_ip '192.168.1.20'
	option enabled '0'

config redirect 'camera'
	option src 'wan'
	option proto 'tcp udp'
	option src_dport '9443'
	option dest_ip '192.168.1.30'
	option dest_port '443'

config redirect
	option name 'games'
	option src 'wan'
	option proto 'udp'
	option src_dport '27015-27030'
	option dest_ip '192.168.1.40'

config redirect
	option name 'router admin'
	option src 'wan'
	option proto 'tcp'
	option src_dport '8444'
	option dest_port '443'

config redirect
	option name 'masquerade dmz'
	option target 'SNAT'
	option src 'lan'
	option dest 'wan'
	option src_dip '203.0.113.7'

config include
	option path '/etc/firewall.user'
"#;

    #[test]
    fn reads_the_forwards_of_a_real_file() {
        let f = parse(OPENWRT).unwrap();
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        // The SNAT section is not a port forward.
        assert_eq!(
            names,
            ["NAS", "Home Assistant", "camera", "games", "router admin"]
        );

        let nas = find(&f, "NAS").unwrap();
        // The `config redirect` line after the comment (1-based).
        let comment = OPENWRT.lines().position(|l| l.starts_with("# The NAS"));
        assert_eq!(Some(nas.line), comment.map(|i| i + 2));
        assert_eq!(nas.proto, ["tcp"]);
        assert_eq!(nas.src_dport.as_deref(), Some("8443"));
        assert_eq!((nas.host(), nas.port()), ("192.168.1.10", Ok(443)));
        assert!(nas.enabled);
        assert_eq!(
            nas.describe(),
            "NAS\ttcp\t8443 -> 192.168.1.10:443\tenabled"
        );

        // No dest_port: the same port inside; no proto: tcp and udp.
        let ha = find(&f, "Home Assistant").unwrap();
        assert!(!ha.enabled);
        assert_eq!(ha.proto, ["tcp", "udp"]);
        assert_eq!((ha.host(), ha.port()), ("192.168.1.20", Ok(8123)));
        assert!(
            ha.describe()
                .ends_with("8123 -> 192.168.1.20:8123\tdisabled")
        );

        // Found by section name when it has no `option name`.
        let cam = find(&f, "camera").unwrap();
        assert_eq!(
            (cam.proto.clone(), cam.port()),
            (vec!["tcp".to_string(), "udp".into()], Ok(443))
        );

        // UDP only, and a range: no TLS endpoint.
        let games = find(&f, "games").unwrap();
        assert_eq!(games.dest_port.as_deref(), Some("27015-27030"));
        assert!(games.port().unwrap_err().contains("does not forward TCP"));

        // No dest_ip: the router itself.
        let admin = find(&f, "router admin").unwrap();
        assert_eq!((admin.host(), admin.port()), ("127.0.0.1", Ok(443)));
        assert!(admin.describe().contains("8444 -> router:443"));
    }

    #[test]
    fn ranges_missing_ports_and_names() {
        let f = parse(
            "config redirect\n\toption proto 'tcp'\n\toption src_dport '8000-8010'\n\toption dest_ip '10.0.0.2'\n\
             config redirect 'x'\n\toption proto 'tcp'\n\toption dest_ip '10.0.0.3'\n\
             config redirect\n\toption name ''\n\toption src_dport '443'\n\toption enabled 'off'\n",
        )
        .unwrap();
        assert_eq!(f[0].name, "redirect@1");
        assert!(
            f[0].port()
                .unwrap_err()
                .contains("'8000-8010', not one port")
        );
        assert!(f[1].port().unwrap_err().contains("'x' has no port"));
        assert_eq!((f[2].name.as_str(), f[2].enabled), ("redirect@8", false));
    }

    #[test]
    fn lookups_that_fail_say_why() {
        let f = parse(OPENWRT).unwrap();
        let e = find(&f, "nas").unwrap_err();
        assert_eq!(
            e,
            "there is no port forward 'nas': the firewall has NAS, Home Assistant, camera, games, router admin"
        );
        let twice =
            format!("{OPENWRT}\nconfig redirect\n\toption name 'NAS'\n\toption src_dport '1'\n");
        let f = parse(&twice).unwrap();
        assert!(find(&f, "NAS").unwrap_err().contains(&format!(
            "several port forwards are called 'NAS' (lines {}, {}): rename",
            find(&parse(OPENWRT).unwrap(), "NAS").unwrap().line,
            twice.lines().count() - 2
        )));
        assert!(
            find(&[], "x")
                .unwrap_err()
                .ends_with("the firewall has none")
        );
        assert!(parse("config redirect\n\toption name 'a\n").is_err());
    }
}
