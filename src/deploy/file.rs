//! `type 'file'`: write the certificate to paths a service on this machine (or
//! a mounted share) reads, in the formats it wants, then run its reload
//! command (an argv, never a shell).
//!
//! All files are staged before any is replaced, each atomically; files with
//! the key are created owner-only and get their final owner and mode before
//! they appear under their name, so the key is never readable by others.

use std::path::Path;

use super::{DeployType, Deployer, Env, Files, Material};
use crate::config::PluginSection;
use crate::store::{self, NewFile};
use crate::{Error, Result, proc};

pub const TYPE: DeployType = DeployType {
    name: "file",
    about: "write cert/key/chain/combined files and run a reload command",
    build,
};

struct FileDeploy {
    files: Files,
    reload: Vec<String>,
}

fn build<'a>(s: &PluginSection, _env: &Env<'a>) -> Result<Box<dyn Deployer + 'a>> {
    Ok(Box::new(FileDeploy {
        files: Files::from_section(s)?,
        reload: super::argv(&s.list("reload")),
    }))
}

impl Deployer for FileDeploy {
    fn deploy(&self, m: &Material<'_>) -> Result<String> {
        let owner = match &self.files.owner {
            Some(spec) => Some(resolve_owner(spec)?),
            None => None,
        };
        let texts: Vec<(&str, String, u32)> = self
            .files
            .paths
            .iter()
            .map(|(part, path)| (path.as_str(), part.text(m), self.files.mode(*part)))
            .collect();
        for (path, _, _) in &texts {
            let dir = Path::new(path).parent().unwrap_or(Path::new("/"));
            if !dir.is_dir() {
                return Err(Error::other(format!(
                    "directory {} does not exist: create it (or mount the share) before deploying to {path}",
                    dir.display()
                )));
            }
        }
        let batch: Vec<NewFile> = texts
            .iter()
            .map(|(path, text, mode)| NewFile {
                path: Path::new(path),
                data: text.as_bytes(),
                mode: *mode,
            })
            .collect();
        let written = store::replace_all(&batch, owner)?;
        if self.reload.is_empty() {
            return Ok(format!("{written} file(s) written"));
        }
        proc::run(&self.reload)?;
        Ok(format!(
            "{written} file(s) written, ran {}",
            self.reload.join(" ")
        ))
    }
}

/// `user` or `user:group` (names or numbers) as uid and gid, from
/// `/etc/passwd` and `/etc/group`. A user alone means its primary group.
fn resolve_owner(spec: &str) -> Result<(u32, u32)> {
    let read = |p: &str| store::read(Path::new(p)).map(Option::unwrap_or_default);
    let passwd = read("/etc/passwd")?;
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let unknown = |what: &str, name: &str, file: &str| {
        Error::other(format!(
            "option owner '{spec}': no {what} '{name}' in {file}: create it or fix the option"
        ))
    };
    let entry = lookup(&passwd, user);
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => entry.ok_or_else(|| unknown("user", user, "/etc/passwd"))?.0,
    };
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let groups = read("/etc/group")?;
                lookup(&groups, g)
                    .ok_or_else(|| unknown("group", g, "/etc/group"))?
                    .0
            }
        },
        None => entry
            .or_else(|| by_id(&passwd, uid))
            .and_then(|(_, gid)| gid)
            .ok_or_else(|| unknown("user", user, "/etc/passwd"))?,
    };
    Ok((uid, gid))
}

/// `name`'s id in a passwd or group file (`name:x:ID:...`), and for passwd
/// its primary group.
fn lookup(text: &str, name: &str) -> Option<(u32, Option<u32>)> {
    entries(text)
        .find(|(n, _, _)| *n == name)
        .map(|(_, id, gid)| (id, gid))
}

/// The passwd entry with uid `id`.
fn by_id(passwd: &str, id: u32) -> Option<(u32, Option<u32>)> {
    entries(passwd)
        .find(|e| e.1 == id)
        .map(|(_, id, gid)| (id, gid))
}

/// `(name, id, next field as a number)` of each well-formed line.
fn entries(text: &str) -> impl Iterator<Item = (&str, u32, Option<u32>)> {
    text.lines().filter_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?.parse().ok()?;
        Some((name, id, f.next().and_then(|g| g.parse().ok())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/ash\n\
        daemon:*:1:1:daemon:/var:/bin/false\n\
        network:x:101:101:network:/var:/bin/false\n\
        haproxy:x:105:107:haproxy:/var/run/haproxy:/bin/false\n";
    const GROUP: &str = "root:x:0:\ndaemon:x:1:\nnetwork:x:101:\nwww-data:x:33:\nhaproxy:x:107:\n";

    #[test]
    fn passwd_and_group_lookups() {
        assert_eq!(lookup(PASSWD, "haproxy"), Some((105, Some(107))));
        assert_eq!(lookup(PASSWD, "root"), Some((0, Some(0))));
        assert_eq!(lookup(PASSWD, "nobody"), None);
        assert_eq!(lookup(PASSWD, "hap"), None);
        assert_eq!(lookup(GROUP, "www-data").map(|e| e.0), Some(33));
        assert_eq!(by_id(PASSWD, 101), Some((101, Some(101))));
        assert_eq!(by_id(PASSWD, 999), None);
        assert_eq!(lookup("broken\n::\nx:y:z:w\n", "x"), None);
    }

    #[test]
    fn owners_on_this_machine() {
        // root exists everywhere, group 0 too.
        assert_eq!(resolve_owner("root").unwrap(), (0, 0));
        assert_eq!(resolve_owner("0:0").unwrap(), (0, 0));
        assert_eq!(resolve_owner("root:12345").unwrap(), (0, 12345));
        let e = resolve_owner("no-such-user-wancert")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "option owner 'no-such-user-wancert': no user 'no-such-user-wancert' in /etc/passwd: create it or fix the option"
        );
        assert!(resolve_owner("root:no-such-group-wancert").is_err());
    }
}
