//! `type 'ssh'`: copy the certificate to a host behind the router (a NAS, a
//! camera, a Home Assistant box) over SSH and reload its service there.
//!
//! The client is what the router has: dropbear's `dbclient` (OpenWrt's
//! default) or OpenSSH's `ssh`. Authentication is by key only; the host key is
//! checked strictly against a known_hosts file that wancert writes from the
//! section's `list host_key` (`state_dir/ssh/NAME/.ssh/known_hosts`; dbclient
//! reads `$HOME/.ssh/known_hosts`, so HOME points there).
//!
//! One connection does everything: the remote shell receives a small POSIX
//! script as its command and the files on its standard input, each file's
//! lines followed by a line holding a single `.` (PEM never has one). It
//! writes each file owner-only under a temporary name next to its target,
//! sets owner and mode, moves them all into place, then runs the reload
//! command. This command string is the one place where wancert hands text to
//! a shell. It is built only from values checked when the configuration is
//! read (absolute paths without control characters, an octal mode, an owner
//! of letters, digits, `_.-`, reload arguments without control characters),
//! and each of them is single-quoted (`'` written as `'\''`), so the remote
//! shell sees every one as one literal word. The key travels on standard
//! input, never on a command line. The remote login shell must be a POSIX
//! shell (sh, bash, ash, dash, zsh).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{DeployType, Deployer, Env, Files, Material};
use crate::config::{PluginSection, dns_name_error};
use crate::{Error, Result, b64, proc, store};

pub const TYPE: DeployType = DeployType {
    name: "ssh",
    about: "copy files to a host over SSH (dbclient or OpenSSH) and run its reload command",
    build,
};

/// Time for one whole connection: connect, copy, reload.
const TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    OpenSsh,
    Dropbear,
}

struct Ssh {
    name: String,
    host: String,
    port: u16,
    user: String,
    identity: PathBuf,
    host_keys: Vec<String>,
    client: Option<Client>,
    files: Files,
    reload: Vec<String>,
    /// `state_dir/ssh/NAME`: dbclient's HOME, holds `.ssh/known_hosts`.
    home: PathBuf,
}

fn build<'a>(s: &PluginSection, env: &Env<'a>) -> Result<Box<dyn Deployer + 'a>> {
    let host = match (s.optional("host").filter(|v| !v.is_empty()), env.forward) {
        (Some(h), _) => h.to_string(),
        (None, Some(f)) => f.host().to_string(),
        (None, None) => {
            return Err(s.error(
                "host",
                "no host to connect to: set option host, or option redirect naming the port forward in front of it",
            ));
        }
    };
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    if !is_ip && dns_name_error(&host).is_some() {
        return Err(s.error(
            "host",
            &format!("'{host}' is not an IP address or a host name"),
        ));
    }
    let port = match s.optional("port").filter(|v| !v.is_empty()) {
        None => 22,
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0 && v.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| s.error("port", &format!("option port '{v}' is not a port number")))?,
    };
    let user = s
        .optional("user")
        .filter(|v| !v.is_empty())
        .unwrap_or("root");
    let user_ok = user
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && !user.starts_with('-');
    if !user_ok {
        return Err(s.error("user", &format!("option user '{user}' is not a user name")));
    }
    let identity = s.required("identity")?;
    if !identity.starts_with('/') {
        return Err(s.error(
            "identity",
            &format!("option identity '{identity}' is not an absolute path: start it with /"),
        ));
    }
    let mut host_keys = Vec::new();
    for k in s.list("host_key") {
        host_keys.push(host_key(k).ok_or_else(|| {
            s.error(
                "host_key",
                &format!(
                    "list host_key '{k}' is not a public key line: copy one of the host's /etc/ssh/ssh_host_*_key.pub (or `dropbearkey -y -f` of its host key)"
                ),
            )
        })?);
    }
    if host_keys.is_empty() {
        return Err(s.error(
            "host_key",
            "list host_key is missing: add the host's public host key (the contents of its /etc/ssh/ssh_host_ed25519_key.pub) so that wancert can check it is talking to the right host",
        ));
    }
    let client = match s.optional("client").filter(|v| !v.is_empty()) {
        None => None,
        Some("ssh") => Some(Client::OpenSsh),
        Some("dbclient") => Some(Client::Dropbear),
        Some(v) => {
            return Err(s.error(
                "client",
                &format!("option client '{v}' is not ssh or dbclient"),
            ));
        }
    };
    let reload: Vec<String> = super::argv(&s.list("reload"));
    if let Some(bad) = reload.iter().find(|a| a.chars().any(char::is_control)) {
        return Err(s.error(
            "reload",
            &format!("reload argument {bad:?} has control characters"),
        ));
    }
    Ok(Box::new(Ssh {
        name: s.name.clone(),
        host,
        port,
        user: user.to_string(),
        identity: PathBuf::from(identity),
        host_keys,
        client,
        files: Files::from_section(s)?,
        reload,
        home: env.state_dir.join("ssh").join(&s.name),
    }))
}

/// `TYPE BASE64` from a public key line (a trailing comment dropped), if it
/// is one.
fn host_key(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let (kind, key) = (words.next()?, words.next()?);
    let kind_ok = kind
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'@' | b'.'));
    (kind_ok && b64::decode(key).is_some_and(|k| k.len() > 16)).then(|| format!("{kind} {key}"))
}

impl Ssh {
    fn destination(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}@{host}:{}", self.user, self.port)
    }

    /// Which client to run: the configured one, else the one that reads the
    /// identity's format (OpenSSH's text format, or dropbear's binary one).
    fn client(&self) -> Result<Client> {
        if let Some(c) = self.client {
            return Ok(c);
        }
        let mut head = [0u8; 11];
        let n = std::fs::File::open(&self.identity)
            .and_then(|mut f| f.read(&mut head))
            .map_err(|e| {
                Error::other(format!(
                    "cannot read the SSH key {} ({e}): create one with `dropbearkey -t ed25519 -f {}` and add its public half to the host's authorized_keys",
                    self.identity.display(),
                    self.identity.display()
                ))
            })?;
        let text = head[..n].starts_with(b"-----BEGIN");
        let (want, other) = if text {
            (Client::OpenSsh, Client::Dropbear)
        } else {
            (Client::Dropbear, Client::OpenSsh)
        };
        if proc::exists(program(want)) {
            return Ok(want);
        }
        if proc::exists(program(other)) {
            let (from, to) = if text {
                ("openssh", "dropbear")
            } else {
                ("dropbear", "openssh")
            };
            return Err(Error::other(format!(
                "the SSH key {} is in {from}'s format but only {} is installed: convert it with `dropbearconvert {from} {to} IN OUT`, or install {}",
                self.identity.display(),
                program(other),
                program(want)
            )));
        }
        Err(Error::other(
            "no SSH client: install dropbear (dbclient) or openssh-client",
        ))
    }
}

fn program(c: Client) -> &'static str {
    match c {
        Client::OpenSsh => "ssh",
        Client::Dropbear => "dbclient",
    }
}

impl Deployer for Ssh {
    fn deploy(&self, m: &Material<'_>) -> Result<String> {
        let client = self.client()?;
        store::ensure_dir(&self.home.join(".ssh"))?;
        let known_hosts = self.home.join(".ssh/known_hosts");
        let lines = known_hosts_lines(&self.host, self.port, &self.host_keys);
        store::write_if_changed(&known_hosts, lines.as_bytes(), store::SECRET)?;

        let script = script(&self.files, &self.reload);
        let mut input = String::new();
        for (part, _) in &self.files.paths {
            input.push_str(&part.text(m));
            input.push_str(".\n");
        }
        let argv = argv(
            client,
            &self.identity,
            &known_hosts,
            &self.user,
            &self.host,
            self.port,
            script,
        );
        let home = self.home.display().to_string();
        let label = format!("{} {}", program(client), self.destination());
        proc::run_cmd(&proc::Cmd {
            argv: &argv,
            stdin: input.as_bytes(),
            env: &[("HOME", &home)],
            timeout: Some(TIMEOUT),
            label: &label,
        })
        .map_err(|e| e.context(&format!("config deploy '{}'", self.name)))?;
        let mut summary = format!(
            "{} file(s) sent to {}",
            self.files.paths.len(),
            self.destination()
        );
        if !self.reload.is_empty() {
            summary.push_str(&format!(", ran {}", self.reload.join(" ")));
        }
        Ok(summary)
    }
}

/// The known_hosts lines for `host:port`. OpenSSH looks a non-standard port
/// up as `[host]:port`; dropbear (2022.83) looks up the bare host whatever
/// the port, so both are written.
fn known_hosts_lines(host: &str, port: u16, keys: &[String]) -> String {
    let mut out = String::new();
    for key in keys {
        if port != 22 {
            out.push_str(&format!("[{host}]:{port} {key}\n"));
        }
        out.push_str(&format!("{host} {key}\n"));
    }
    out
}

/// The client's argv. OpenSSH reads no user or system configuration (`-F
/// /dev/null`), never prompts (BatchMode), and accepts only the host keys in
/// our file. dbclient has no such options: it reads `$HOME/.ssh/known_hosts`
/// and, without `-y`, refuses a host whose key is not there.
fn argv(
    client: Client,
    identity: &Path,
    known_hosts: &Path,
    user: &str,
    host: &str,
    port: u16,
    script: String,
) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    match client {
        Client::OpenSsh => {
            a.push("ssh".into());
            for o in [
                "BatchMode=yes",
                "StrictHostKeyChecking=yes",
                "GlobalKnownHostsFile=/dev/null",
                "IdentitiesOnly=yes",
                "ConnectTimeout=15",
                "LogLevel=ERROR",
            ] {
                a.extend(["-o".into(), o.into()]);
            }
            // ssh splits this option's value on blanks unless quoted.
            a.push("-o".into());
            a.push(format!("UserKnownHostsFile=\"{}\"", known_hosts.display()));
            a.extend(["-F".into(), "/dev/null".into()]);
        }
        Client::Dropbear => a.push("dbclient".into()),
    }
    a.extend([
        "-i".into(),
        identity.display().to_string(),
        "-p".into(),
        port.to_string(),
        "-l".into(),
        user.into(),
    ]);
    if client == Client::OpenSsh {
        a.push("--".into());
    }
    a.push(host.into());
    a.push(script);
    a
}

/// A word the remote shell takes literally.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The remote script (see the module comment).
fn script(files: &Files, reload: &[String]) -> String {
    let mut s = String::from(
        "umask 077\n\
         r() { while IFS= read -r l; do [ \"$l\" = . ] && return 0; printf '%s\\n' \"$l\"; done; return 1; }\n\
         die() { echo \"wancert: cannot $1 $2\" >&2; exit 1; }\n",
    );
    let tmp = |path: &str| match path.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.wancert-new"),
        None => format!(".{path}.wancert-new"),
    };
    for (part, path) in &files.paths {
        let t = quote(&tmp(path));
        s.push_str(&format!("r > {t} || die write {t}\n"));
        if let Some(owner) = &files.owner {
            s.push_str(&format!("chown {} {t} || die chown {t}\n", quote(owner)));
        }
        s.push_str(&format!(
            "chmod {:o} {t} || die chmod {t}\n",
            files.mode(*part)
        ));
    }
    for (_, path) in &files.paths {
        let (t, p) = (quote(&tmp(path)), quote(path));
        s.push_str(&format!("mv -f {t} {p} || die replace {p}\n"));
    }
    if !reload.is_empty() {
        let words: Vec<String> = reload.iter().map(|w| quote(w)).collect();
        s.push_str(&format!(
            "{} 1>&2 || {{ c=$?; echo \"wancert: the reload command failed with exit code $c\" >&2; exit $c; }}\n",
            words.join(" ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::deploy::Part;

    fn files(owner: Option<&str>) -> Files {
        Files {
            paths: vec![
                (Part::Fullchain, "/volume1/certs/full chain.pem".into()),
                (Part::Key, "/volume1/certs/it's.key".into()),
            ],
            key_mode: 0o640,
            owner: owner.map(String::from),
        }
    }

    #[test]
    fn the_remote_script_quotes_every_value() {
        let reload: Vec<String> = ["/bin/systemctl", "reload", "nginx; rm -rf /"]
            .map(String::from)
            .to_vec();
        let s = script(&files(Some("www-data:www-data")), &reload);
        assert!(s.contains("r > '/volume1/certs/.full chain.pem.wancert-new' || die write"));
        assert!(s.contains("chmod 644 '/volume1/certs/.full chain.pem.wancert-new'"));
        assert!(s.contains(r"chmod 640 '/volume1/certs/.it'\''s.key.wancert-new'"));
        assert!(s.contains("chown 'www-data:www-data' '/volume1/certs/.full chain.pem"));
        assert!(s.contains(
            "mv -f '/volume1/certs/.full chain.pem.wancert-new' '/volume1/certs/full chain.pem'"
        ));
        assert!(s.contains("'/bin/systemctl' 'reload' 'nginx; rm -rf /' 1>&2 || {"));
        // Every file is in place before the reload runs.
        assert!(s.rfind("mv -f").unwrap() < s.find("systemctl").unwrap());
    }

    /// Run the script with a real POSIX shell, as the remote host would:
    /// files arrive whole with the right modes, a failing reload shows its
    /// exit code.
    #[test]
    fn the_remote_script_works_in_a_real_shell() {
        let dir = std::env::temp_dir().join(format!("wancert-ssh-script-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let f = Files {
            paths: vec![
                (Part::Fullchain, format!("{d}/it's full.pem")),
                (Part::Key, format!("{d}/key.pem")),
            ],
            key_mode: 0o600,
            owner: None,
        };
        let chain = "-----BEGIN CERTIFICATE-----\nAAAA\\n $x `id`\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n";
        let input = format!("{chain}.\n{key}.\n");
        let run = |reload: &[&str]| {
            let reload: Vec<String> = reload.iter().map(|s| s.to_string()).collect();
            let argv = vec!["sh".to_string(), "-c".into(), script(&f, &reload)];
            proc::run_cmd(&proc::Cmd {
                stdin: input.as_bytes(),
                ..proc::Cmd::new(&argv)
            })
        };
        run(&["touch", &format!("{d}/reloaded")]).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            std::fs::read_to_string(format!("{d}/it's full.pem")).unwrap(),
            chain
        );
        assert_eq!(
            std::fs::read_to_string(format!("{d}/key.pem")).unwrap(),
            key
        );
        assert_eq!(mode(&format!("{d}/it's full.pem")), 0o644);
        assert_eq!(mode(&format!("{d}/key.pem")), 0o600);
        assert!(dir.join("reloaded").exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            3,
            "no temporary left"
        );

        let e = run(&["sh", "-c", "echo nginx: bad config; exit 3"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("(exit code 3)") && e.contains("nginx: bad config"),
            "{e}"
        );
        assert!(
            e.contains("the reload command failed with exit code 3"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn known_hosts_for_both_clients() {
        let keys = vec!["ssh-ed25519 AAAAC3Nz".to_string()];
        assert_eq!(
            known_hosts_lines("192.168.1.10", 2222, &keys),
            "[192.168.1.10]:2222 ssh-ed25519 AAAAC3Nz\n192.168.1.10 ssh-ed25519 AAAAC3Nz\n"
        );
        assert_eq!(
            known_hosts_lines("nas.lan", 22, &keys),
            "nas.lan ssh-ed25519 AAAAC3Nz\n"
        );
        let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyibbDNnhTfFkLNKdeK7+1RIyfh1sOoU6IJZ2x52uPN root@nas";
        assert_eq!(
            host_key(line).as_deref(),
            Some(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyibbDNnhTfFkLNKdeK7+1RIyfh1sOoU6IJZ2x52uPN"
            )
        );
        for bad in [
            "",
            "ssh-ed25519",
            "ssh-ed25519 !!!!",
            "ssh ed25519 AAAA",
            "x;y AAAAC3NzaC1lZDI1NTE5AAAAICyibbDNnhTf",
        ] {
            assert_eq!(host_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn client_argv() {
        let a = argv(
            Client::OpenSsh,
            Path::new("/etc/wancert/id"),
            Path::new("/etc/wancert/ssh/nas/.ssh/known_hosts"),
            "root",
            "192.168.1.10",
            2222,
            "true".into(),
        );
        let joined = a.join(" ");
        assert!(joined.starts_with("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes"));
        assert!(joined.contains("-o UserKnownHostsFile=\"/etc/wancert/ssh/nas/.ssh/known_hosts\""));
        assert!(joined.ends_with("-i /etc/wancert/id -p 2222 -l root -- 192.168.1.10 true"));
        let a = argv(
            Client::Dropbear,
            Path::new("/etc/wancert/id"),
            Path::new("/x"),
            "admin",
            "nas.lan",
            22,
            "true".into(),
        );
        assert_eq!(
            a,
            [
                "dbclient",
                "-i",
                "/etc/wancert/id",
                "-p",
                "22",
                "-l",
                "admin",
                "nas.lan",
                "true"
            ]
        );
        // No option that accepts an unknown host key.
        assert!(!a.iter().any(|w| w == "-y"));
    }

    fn build_err(body: &str) -> String {
        let text = format!("config deploy 'nas'\n\toption type 'ssh'\n{body}");
        let c = config::parse("/etc/config/wancert", &text).unwrap();
        let env = Env {
            http: &crate::http::NoHttp,
            clock: &crate::clock::FakeClock::at(0),
            state_dir: Path::new("/tmp"),
            forward: None,
        };
        match build(&c.deploys[0], &env) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn options_are_checked() {
        let good = "\toption host '192.168.1.10'\n\toption identity '/etc/wancert/id'\n\tlist host_key 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICyibbDNnhTfFkLNKdeK7+1RIyfh1sOoU6IJZ2x52uPN'\n\toption fullchain_path '/c'\n\toption key_path '/k'\n";
        assert_eq!(build_err(good), "");
        let without = |opt: &str| {
            good.lines()
                .filter(|l| !l.contains(opt))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        assert!(build_err(&without("host '")).contains("no host to connect to"));
        assert!(build_err(&without("identity")).contains("option 'identity' is missing"));
        assert!(build_err(&without("host_key")).contains("list host_key is missing"));
        for (extra, want) in [
            (
                "\toption host '-oProxyCommand=x'\n",
                "is not an IP address or a host name",
            ),
            ("\toption port '22x'\n", "is not a port number"),
            ("\toption user 'a b'\n", "is not a user name"),
            ("\toption client 'putty'\n", "is not ssh or dbclient"),
            (
                "\tlist reload 'a\nb'\n\tlist reload 'c'\n",
                "control characters",
            ),
            ("\tlist host_key 'garbage'\n", "is not a public key line"),
        ] {
            let e = build_err(&format!("{good}{extra}"));
            assert!(e.contains(want), "{extra}: {e}");
        }
    }
}
