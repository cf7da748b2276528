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

/// Who owns a written file (uid, gid); `None` leaves it to the writer.
pub type Owner = Option<(u32, u32)>;

/// Write `data` to `path` atomically with `mode`, unless the file already
/// holds exactly `data` with that mode. Returns whether it wrote.
pub fn write_if_changed(path: &Path, data: &[u8], mode: u32) -> Result<bool> {
    replace_all(&[NewFile { path, data, mode }], None).map(|n| n > 0)
}

/// Whether `path` already holds `data` with `mode` (and `owner`, if given).
fn unchanged(path: &Path, data: &[u8], mode: u32, owner: Owner) -> bool {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    meta.permissions().mode() & 0o7777 == mode
        && meta.len() == data.len() as u64
        && owner.is_none_or(|(u, g)| (meta.uid(), meta.gid()) == (u, g))
        && fs::read(path).is_ok_and(|old| old == data)
}

/// One file of a `replace_all` batch.
pub struct NewFile<'a> {
    pub path: &'a Path,
    pub data: &'a [u8],
    pub mode: u32,
}

/// Replace each file whose content, mode or owner differs. Every changed file
/// is staged first (written and synced next to its target), and only then
/// are they renamed into place: a failure while writing (a full disk, a
/// missing directory) changes none of them. Returns how many were replaced.
pub fn replace_all(files: &[NewFile<'_>], owner: Owner) -> Result<usize> {
    let changed: Vec<&NewFile> = files
        .iter()
        .filter(|f| !unchanged(f.path, f.data, f.mode, owner))
        .collect();
    let mut staged = Vec::new();
    let clean = |staged: &[PathBuf]| {
        for t in staged {
            let _ = fs::remove_file(t);
        }
    };
    for f in &changed {
        let tmp = sibling(f.path, ".tmp");
        if let Err(e) = write_synced(&tmp, f.data, f.mode, owner) {
            clean(&staged);
            return Err(e);
        }
        staged.push(tmp);
    }
    for (i, (f, tmp)) in changed.iter().zip(&staged).enumerate() {
        if let Err(e) = fs::rename(tmp, f.path) {
            clean(&staged[i..]);
            return Err(write_error("replace", f.path, e));
        }
        sync_dir(f.path)?;
        crate::crashpoint::step("renamed into", &f.path.display());
    }
    Ok(changed.len())
}

/// Write `data` to `path` atomically: readers see the old file or the new one,
/// never a part, also across a power cut.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = sibling(path, ".tmp");
    write_synced(&tmp, data, mode, None)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(write_error("replace", path, e));
    }
    sync_dir(path)?;
    crate::crashpoint::step("renamed into", &path.display());
    Ok(())
}

/// Remove `path` (durably); `false` when it was not there, so that a run
/// with nothing to remove touches nothing.
pub fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            sync_dir(path)?;
            crate::crashpoint::step("removed", &path.display());
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Rename `from` to `to` atomically (same directory), durably.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io("rename", from, e))?;
    sync_dir(to)?;
    crate::crashpoint::step("renamed into", &to.display());
    Ok(())
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

/// Create `path` owner-only, write, hand it to `owner`, set `mode` and
/// fsync. The file is never readable by others before its final mode, and
/// the explicit chmod keeps the mode exact whatever the umask. A failure
/// removes the partial file.
fn write_synced(path: &Path, data: &[u8], mode: u32, owner: Owner) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::remove_file(path); // an old temporary may carry a wider mode
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(SECRET)
        .open(path)
        .and_then(|mut f| {
            // In two halves, with a kill point between: a cut can leave a
            // partial file, and the crash tests must meet one.
            let (first, rest) = data.split_at(data.len() / 2);
            f.write_all(first)?;
            crate::crashpoint::step("half-wrote", &path.display());
            f.write_all(rest)?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
            }
            f.set_permissions(fs::Permissions::from_mode(mode))?;
            f.sync_all()
        });
    result.map_err(|e| {
        let _ = fs::remove_file(path);
        write_error("write", path, e)
    })?;
    crate::crashpoint::step("wrote", &path.display());
    Ok(())
}

/// An I/O error from writing at `path`. When the file system is full, the
/// error carries its free and total bytes, so the message says how full:
/// the first question of whoever reads it.
fn write_error(op: &'static str, path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    let full = matches!(
        e.kind(),
        K::StorageFull | K::QuotaExceeded | K::FileTooLarge
    );
    let space = if full { space(path) } else { None };
    match Error::io(op, path, e) {
        Error::Io { op, path, err, .. } => Error::Io {
            op,
            path,
            err,
            space,
        },
        other => other,
    }
}

/// Bytes free (for an unprivileged writer) and in all on the file system
/// that holds `path`'s directory, from statvfs(3). `None` when it cannot
/// tell.
///
/// std has no statvfs, and a whole FFI crate for one call on an error path
/// costs more bytes than this declaration. The struct is declared up to the
/// fields we read; everything after them is covered by a generous tail.
/// Block counts are `fsblkcnt_t`: 64-bit everywhere except 32-bit glibc
/// (musl, OpenWrt's libc, always has 64-bit ones).
// `u64::from` is needed where `c_ulong` and `Blocks` are 32-bit.
#[allow(unsafe_code, clippy::useless_conversion)]
pub fn space(path: &Path) -> Option<(u64, u64)> {
    use std::ffi::{CString, c_char, c_int, c_ulong};
    use std::os::unix::ffi::OsStrExt;
    #[cfg(all(target_pointer_width = "32", target_env = "gnu"))]
    type Blocks = c_ulong;
    #[cfg(not(all(target_pointer_width = "32", target_env = "gnu")))]
    type Blocks = u64;
    #[repr(C)]
    struct StatVfs {
        bsize: c_ulong,
        frsize: c_ulong,
        blocks: Blocks,
        bfree: Blocks,
        bavail: Blocks,
        rest: [u64; 16],
    }
    unsafe extern "C" {
        fn statvfs(path: *const c_char, buf: *mut StatVfs) -> c_int;
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = StatVfs {
        bsize: 0,
        frsize: 0,
        blocks: 0,
        bfree: 0,
        bavail: 0,
        rest: [0; 16],
    };
    // SAFETY: `c` is a NUL-terminated path and `st` is writable and larger
    // than any libc's struct statvfs; the call only writes into it.
    if unsafe { statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let unit = u64::from(if st.frsize > 0 { st.frsize } else { st.bsize });
    Some((
        u64::from(st.bavail).saturating_mul(unit),
        u64::from(st.blocks).saturating_mul(unit),
    ))
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
/// `recover`).
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

    /// Stage the key, then the chain, as `.new` files, then rename the key,
    /// then the chain, into place. Each `.new` file is written as a `.tmp`
    /// and renamed once synced, so a `.new` file is always complete; the
    /// order makes each crash state mean one thing (see `recover`).
    pub fn install(&self, key_pem: &str, chain_pem: &str) -> Result<()> {
        let (key_new, chain_new) = (sibling(&self.key, ".new"), sibling(&self.chain, ".new"));
        stage(&key_new, key_pem.as_bytes(), SECRET)?;
        if let Err(e) = stage(&chain_new, chain_pem.as_bytes(), PUBLIC) {
            let _ = fs::remove_file(&key_new);
            return Err(e);
        }
        fs::rename(&key_new, &self.key).map_err(|e| Error::io("replace", &self.key, e))?;
        crate::crashpoint::step("renamed into", &self.key.display());
        fs::rename(&chain_new, &self.chain).map_err(|e| Error::io("replace", &self.chain, e))?;
        sync_dir(&self.key)?;
        crate::crashpoint::step("renamed into", &self.chain.display());
        Ok(())
    }

    /// Finish or undo an install that a crash interrupted. The key is staged
    /// before the chain and renamed before it, so: both `.new` files mean
    /// nothing was renamed yet (roll forward); a `.new` key alone means the
    /// chain was never staged (drop it: the old pair stays); a `.new` chain
    /// alone means the key was already renamed (roll forward). The
    /// temporaries a cut left in the directory (`.*.tmp`: half-written, and
    /// perhaps holding a key) are removed. Returns whether anything was done.
    pub fn recover(&self) -> Result<bool> {
        let (key_new, chain_new) = (sibling(&self.key, ".new"), sibling(&self.chain, ".new"));
        let mut done = false;
        let dir = self.key.parent().unwrap_or(Path::new("."));
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                done |= remove(&entry.path())?;
            }
        }
        let (has_key, has_chain) = (key_new.exists(), chain_new.exists());
        if has_key && has_chain {
            fs::rename(&key_new, &self.key).map_err(|e| Error::io("replace", &self.key, e))?;
        } else if has_key {
            return remove(&key_new);
        }
        if has_key || has_chain {
            fs::rename(&chain_new, &self.chain)
                .map_err(|e| Error::io("replace", &self.chain, e))?;
            sync_dir(&self.key)?;
            return Ok(true);
        }
        Ok(done)
    }
}

/// Write `data` to `path` complete or not at all: through a synced `.tmp`
/// renamed into place.
fn stage(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = sibling(path, ".tmp");
    write_synced(&tmp, data, mode, None)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("stage", path, e));
    }
    sync_dir(path)?;
    crate::crashpoint::step("renamed into", &path.display());
    Ok(())
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
    fn a_batch_is_staged_whole_before_any_rename() {
        let d = tempdir("batch");
        let (a, b) = (d.join("a.pem"), d.join("b.key"));
        fs::write(&a, "old").unwrap();
        let batch = |b_path: &Path| {
            replace_all(
                &[
                    NewFile {
                        path: &a,
                        data: b"new",
                        mode: PUBLIC,
                    },
                    NewFile {
                        path: b_path,
                        data: b"key",
                        mode: 0o640,
                    },
                ],
                None,
            )
        };
        // The second file cannot be written: the first keeps its old content.
        assert!(batch(&d.join("missing/b.key")).is_err());
        assert_eq!(fs::read(&a).unwrap(), b"old");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1, "no temporary left");

        // Whatever the umask, the modes are the ones asked for, and a second
        // identical batch writes nothing.
        assert_eq!(batch(&b).unwrap(), 2);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!((mode(&a), mode(&b)), (0o644, 0o640));
        assert_eq!(batch(&b).unwrap(), 0);
        // A changed mode alone is a change.
        fs::set_permissions(&b, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(batch(&b).unwrap(), 1);

        // Our own uid and gid as the owner: allowed without privileges.
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(&a).unwrap();
        let me = Some((meta.uid(), meta.gid()));
        let f = [NewFile {
            path: &a,
            data: b"new",
            mode: PUBLIC,
        }];
        assert_eq!(replace_all(&f, me).unwrap(), 0);
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
        write_synced(&sibling(&pair.key, ".new"), b"K2", SECRET, None).unwrap();
        write_synced(&sibling(&pair.chain, ".new"), b"C2", PUBLIC, None).unwrap();
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
        write_synced(&sibling(&pair.chain, ".new"), b"C3", PUBLIC, None).unwrap();
        assert!(pair.recover().unwrap());
        assert_eq!(fs::read_to_string(&pair.chain).unwrap(), "C3");

        // A staged key without its chain: the chain was never staged, drop
        // it; so is a chain cut while it was written.
        write_synced(&sibling(&pair.key, ".new"), b"K4", SECRET, None).unwrap();
        let chain_tmp = sibling(&sibling(&pair.chain, ".new"), ".tmp");
        write_synced(&chain_tmp, b"C", PUBLIC, None).unwrap();
        assert!(pair.recover().unwrap());
        assert_eq!(fs::read_to_string(&pair.key).unwrap(), "K3");
        assert_eq!(fs::read_to_string(&pair.chain).unwrap(), "C3");
        assert!(!pair.recover().unwrap());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 2);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn space_reads_the_file_system_of_the_directory() {
        let d = tempdir("space");
        let (free, total) = space(&d.join("x")).unwrap();
        assert!(total > 0 && free <= total, "{free} of {total}");
        assert_eq!(space(&d.join("missing/x")), None);
        fs::remove_dir_all(d).unwrap();
    }
}
