//! The file seam. Everything wancert writes goes through here: atomic writes
//! (temporary file, fsync, rename, fsync of the directory), owner-only modes
//! for secrets, and no write at all when the content is already there — flash
//! wears out, and a run with nothing to do must write nothing.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// File modes: keys are readable by their owner only.
pub const SECRET: u32 = 0o600;
pub const PUBLIC: u32 = 0o644;

/// Create `dir` (and parents) with mode 0700 if it does not exist.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create directory", dir, e))
}

/// Read a file as text; `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Write `data` to `path` atomically with `mode`, unless the file already
/// holds exactly `data` with that mode. Returns whether it wrote.
pub fn write_if_changed(path: &Path, data: &[u8], mode: u32) -> Result<bool> {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o777 == mode
        && meta.len() == data.len() as u64
        && fs::read(path).is_ok_and(|old| old == data)
    {
        return Ok(false);
    }
    write_atomic(path, data, mode)?;
    Ok(true)
}

/// Write `data` to `path` atomically: readers see the old file or the new one,
/// never a part, also across a power cut.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = sibling(path, ".tmp");
    write_synced(&tmp, data, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("replace", path, e));
    }
    sync_dir(path)
}

/// Remove `path` (durably); `false` when it was not there, so that a run
/// with nothing to remove touches nothing.
pub fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Rename `from` to `to` atomically (same directory), durably.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io("rename", from, e))?;
    sync_dir(to)
}

/// `dir/.name.suffix`: a hidden temporary next to `path`, on the same file
/// system so the rename is atomic, and hidden from globs such as `*.pem`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{suffix}"))
}

/// Create (or truncate) `path` with `mode` from the start, write and fsync.
/// A failed write removes the partial file.
fn write_synced(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let _ = fs::remove_file(path); // an old temporary may carry a wider mode
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| {
            f.write_all(data)?;
            f.sync_all()
        });
    result.map_err(|e| {
        let _ = fs::remove_file(path);
        Error::io("write", path, e)
    })
}

fn sync_dir(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync directory", dir, e))
}

/// A certificate and its key, installed as a pair: after a crash at any point
/// the directory holds the old pair or the new pair, never a mix (see
/// `recover_pair`).
pub struct Pair {
    pub key: PathBuf,
    pub chain: PathBuf,
}

impl Pair {
    pub fn in_dir(dir: &Path) -> Pair {
        Pair {
            key: dir.join("key.pem"),
            chain: dir.join("fullchain.pem"),
        }
    }

    /// Both `.new` files are written and synced before either is renamed;
    /// the key is renamed first.
    pub fn install(&self, key_pem: &str, chain_pem: &str) -> Result<()> {
        let (key_new, chain_new) = (sibling(&self.key, ".new"), sibling(&self.chain, ".new"));
        write_synced(&chain_new, chain_pem.as_bytes(), PUBLIC)?;
        if let Err(e) = write_synced(&key_new, key_pem.as_bytes(), SECRET) {
            let _ = fs::remove_file(&chain_new);
            return Err(e);
        }
        sync_dir(&self.key)?;
        fs::rename(&key_new, &self.key).map_err(|e| Error::io("replace", &self.key, e))?;
        fs::rename(&chain_new, &self.chain).map_err(|e| Error::io("replace", &self.chain, e))?;
        sync_dir(&self.key)
    }

    /// Finish or undo an install that a crash interrupted. A `.new` key means
    /// no rename happened yet: the staged pair is complete only if the chain
    /// was staged too (it is written first), so roll forward when both exist,
    /// else drop them. A lone `.new` chain means the key was already renamed:
    /// roll forward. Returns whether anything was done.
    pub fn recover(&self) -> Result<bool> {
        let (key_new, chain_new) = (sibling(&self.key, ".new"), sibling(&self.chain, ".new"));
        let (has_key, has_chain) = (key_new.exists(), chain_new.exists());
        if has_key && has_chain {
            fs::rename(&key_new, &self.key).map_err(|e| Error::io("replace", &self.key, e))?;
        } else if has_key {
            let _ = fs::remove_file(&key_new);
            return Ok(true);
        }
        if has_key || has_chain {
            fs::rename(&chain_new, &self.chain)
                .map_err(|e| Error::io("replace", &self.chain, e))?;
            sync_dir(&self.key)?;
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("wancert-store-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        ensure_dir(&d).unwrap();
        d
    }

    #[test]
    fn writes_once_then_not_again() {
        let d = tempdir("once");
        let p = d.join("k.pem");
        assert!(write_if_changed(&p, b"secret", SECRET).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let before = fs::metadata(&p).unwrap().modified().unwrap();
        assert!(!write_if_changed(&p, b"secret", SECRET).unwrap());
        assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), before);
        assert!(write_if_changed(&p, b"other!", SECRET).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"other!");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "no temporary left");
        let q = d.join("moved");
        rename(&p, &q).unwrap();
        assert_eq!(fs::read(&q).unwrap(), b"other!");
        assert!(remove(&q).unwrap());
        assert!(!remove(&q).unwrap(), "removing what is gone is no error");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 0);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn pair_recovery_rolls_forward_or_back() {
        let d = tempdir("pair");
        let pair = Pair::in_dir(&d);
        pair.install("K1", "C1").unwrap();
        assert_eq!(
            fs::metadata(&pair.key).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // Crash after staging both, before any rename: roll forward.
        write_synced(&sibling(&pair.chain, ".new"), b"C2", PUBLIC).unwrap();
        write_synced(&sibling(&pair.key, ".new"), b"K2", SECRET).unwrap();
        assert!(pair.recover().unwrap());
        assert_eq!(
            (
                fs::read_to_string(&pair.key).unwrap(),
                fs::read_to_string(&pair.chain).unwrap()
            ),
            ("K2".into(), "C2".into())
        );

        // Crash after the key rename: the chain follows.
        fs::write(&pair.key, "K3").unwrap();
        write_synced(&sibling(&pair.chain, ".new"), b"C3", PUBLIC).unwrap();
        assert!(pair.recover().unwrap());
        assert_eq!(fs::read_to_string(&pair.chain).unwrap(), "C3");

        // A staged key without its chain cannot be complete: drop it.
        write_synced(&sibling(&pair.key, ".new"), b"K4", SECRET).unwrap();
        assert!(pair.recover().unwrap());
        assert_eq!(fs::read_to_string(&pair.key).unwrap(), "K3");
        assert!(!pair.recover().unwrap());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 2);
        fs::remove_dir_all(d).unwrap();
    }
}
