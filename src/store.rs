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

/// A certificate and its key, installed as a pair: whoever reads `key.pem`
/// and `fullchain.pem` sees the old pair or the new pair, never a mix, also
/// across a power cut. Each generation of the pair has a directory of its
/// own, `pair.N`, and the two names are symlinks through one more,
/// `key.pem -> live/key.pem`, `live -> pair.N`: one rename of `live`
/// switches both names at once.
pub struct Pair {
    pub key: PathBuf,
    pub chain: PathBuf,
}

/// The symlink to the generation the names show.
const LIVE: &str = "live";
/// `pair.N`: one generation of the pair.
const GENERATION: &str = "pair.";

impl Pair {
    pub fn in_dir(dir: &Path) -> Pair {
        Pair {
            key: dir.join("key.pem"),
            chain: dir.join("fullchain.pem"),
        }
    }

    /// Write the pair as a new generation, switch `live` to it, then remove
    /// the older ones. A cut before the switch leaves the old pair shown, a
    /// cut after it the new one; `recover` removes what is left over.
    ///
    /// A pair installed as two regular files (wancert before generations)
    /// first becomes a generation of its own, hard links to those files, and
    /// the names become symlinks showing it: each of those renames changes
    /// nothing a reader sees.
    pub fn install(&self, key_pem: &str, chain_pem: &str) -> Result<()> {
        let names = [&self.key, &self.chain];
        if names.iter().any(|n| is_file(n)) && names.iter().all(|n| n.exists()) {
            let old = self.generation(|dir| {
                for name in names {
                    let to = dir.join(file_name(name));
                    let from = fs::canonicalize(name).map_err(|e| Error::io("read", name, e))?;
                    fs::hard_link(&from, &to).map_err(|e| Error::io("link", &to, e))?;
                    crate::crashpoint::step("linked", &to.display());
                }
                Ok(())
            })?;
            self.switch(&old)?;
            self.link_names()?;
        }
        let new = self.generation(|dir| {
            let key = dir.join(file_name(&self.key));
            write_synced(&key, key_pem.as_bytes(), SECRET, None)?;
            let chain = dir.join(file_name(&self.chain));
            write_synced(&chain, chain_pem.as_bytes(), PUBLIC, None)
        })?;
        // Before the first switch the names lead nowhere: they appear
        // together when `live` does.
        self.link_names()?;
        self.switch(&new)?;
        for (_, old) in generations(self.dir()) {
            if old != new {
                remove_tree(&self.dir().join(old))?;
            }
        }
        Ok(())
    }

    /// Clear what a cut during `install` left: temporaries (`.*.tmp`, some
    /// perhaps half-written keys) and every `pair.N` that `live` does not
    /// point to, an incomplete generation or a superseded one. The names
    /// then show what they showed before: `live` is switched last, so an
    /// unswitched generation was never shown (the next run resumes the order
    /// and installs it again). Writes nothing when there is nothing to clear.
    /// Returns whether anything was done.
    pub fn recover(&self) -> Result<bool> {
        let dir = self.dir();
        let live = fs::read_link(dir.join(LIVE)).ok();
        let mut done = false;
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                done |= remove(&entry.path())?;
            } else if generation(&name).is_some() && live.as_deref() != Some(Path::new(&*name)) {
                remove_tree(&entry.path())?;
                done = true;
            }
        }
        Ok(done)
    }

    fn dir(&self) -> &Path {
        self.key.parent().unwrap_or(Path::new("."))
    }

    /// Make `pair.N`, N one above any there, 0755 so that services not
    /// running as root can reach the chain; `fill` writes it, then it is
    /// synced. On failure it is removed. Returns its name.
    fn generation(&self, fill: impl FnOnce(&Path) -> Result<()>) -> Result<String> {
        use std::os::unix::fs::PermissionsExt;
        let n = generations(self.dir()).last().map_or(0, |(n, _)| *n);
        let name = format!("{GENERATION}{}", n.wrapping_add(1));
        let path = self.dir().join(&name);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o755)))
            .map_err(|e| Error::io("create directory", &path, e))?;
        crate::crashpoint::step("created", &path.display());
        // Its files, then its entry in the certificate directory, are on
        // flash before `live` may point to it (`sync_dir` syncs the
        // directory of the path it is given).
        let filled = fill(&path)
            .and_then(|()| sync_dir(&path.join(file_name(&self.key))))
            .and_then(|()| sync_dir(&path));
        if let Err(e) = filled {
            let _ = remove_tree(&path);
            return Err(e);
        }
        Ok(name)
    }

    /// Point `live` at the generation `name`: the one atomic switch.
    fn switch(&self, name: &str) -> Result<()> {
        replace_symlink(Path::new(name), &self.dir().join(LIVE))
    }

    /// Make each name the symlink through `live`, unless it already is.
    fn link_names(&self) -> Result<()> {
        for name in [&self.key, &self.chain] {
            let target = Path::new(LIVE).join(file_name(name));
            if fs::read_link(name).ok().as_deref() != Some(&*target) {
                replace_symlink(&target, name)?;
            }
        }
        Ok(())
    }
}

/// Whether `path` is a regular file itself (not a symlink to one).
fn is_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

fn file_name(path: &Path) -> &std::ffi::OsStr {
    path.file_name().unwrap_or_default()
}

/// N of a generation's directory name `pair.N`.
fn generation(name: &str) -> Option<u32> {
    name.strip_prefix(GENERATION)?.parse().ok()
}

/// The generations in `dir` as (N, name), lowest N first.
fn generations(dir: &Path) -> Vec<(u32, String)> {
    let mut all: Vec<(u32, String)> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            Some((generation(&name)?, name))
        })
        .collect();
    all.sort();
    all
}

/// Make `link` a symlink to `target` atomically: a temporary symlink renamed
/// over it, durably.
fn replace_symlink(target: &Path, link: &Path) -> Result<()> {
    let tmp = sibling(link, ".tmp");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io("link", &tmp, e))?;
    crate::crashpoint::step("linked", &tmp.display());
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("replace", link, e));
    }
    sync_dir(link)?;
    crate::crashpoint::step("renamed into", &link.display());
    Ok(())
}

/// Remove the directory `dir` and the files in it, durably.
fn remove_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        crate::crashpoint::step("removed", &path.display());
    }
    fs::remove_dir(dir).map_err(|e| Error::io("remove", dir, e))?;
    sync_dir(dir)?;
    crate::crashpoint::step("removed", &dir.display());
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

    /// What a reader of the key and the chain sees (`None`: missing).
    type Shown = (Option<String>, Option<String>);

    fn shown(pair: &Pair) -> Shown {
        (read(&pair.key).unwrap(), read(&pair.chain).unwrap())
    }

    fn pair_of(k: &str, c: &str) -> Shown {
        (Some(k.into()), Some(c.into()))
    }

    /// The entries of `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_pair_is_switched_through_one_symlink() {
        let d = tempdir("pair");
        let pair = Pair::in_dir(&d);
        assert!(!pair.recover().unwrap(), "an empty directory needs nothing");
        pair.install("K1", "C1").unwrap();
        assert_eq!(shown(&pair), pair_of("K1", "C1"));
        assert_eq!(listing(&d), ["fullchain.pem", "key.pem", "live", "pair.1"]);
        assert_eq!(fs::read_link(&pair.key).unwrap(), Path::new("live/key.pem"));
        assert_eq!(
            fs::read_link(&pair.chain).unwrap(),
            Path::new("live/fullchain.pem")
        );
        assert_eq!(fs::read_link(d.join("live")).unwrap(), Path::new("pair.1"));
        assert_eq!(mode(&pair.key), 0o600);
        assert_eq!(mode(&pair.chain), 0o644);
        assert_eq!(mode(&d.join("pair.1")), 0o755);

        pair.install("K2", "C2").unwrap();
        assert_eq!(shown(&pair), pair_of("K2", "C2"));
        assert_eq!(
            listing(&d),
            ["fullchain.pem", "key.pem", "live", "pair.2"],
            "the old generation is gone"
        );

        // Nothing to recover: nothing is written, not even a directory.
        let stamp = |p: &Path| fs::symlink_metadata(p).unwrap().modified().unwrap();
        let before = (stamp(&d), stamp(&d.join("pair.2")), stamp(&d.join("live")));
        assert!(!pair.recover().unwrap());
        let after = (stamp(&d), stamp(&d.join("pair.2")), stamp(&d.join("live")));
        assert_eq!(before, after);
        fs::remove_dir_all(d).unwrap();
    }

    /// Each state a cut during `install` can leave, built by hand: the names
    /// show the old pair or the new one, and `recover` leaves them showing
    /// the same and clears the rest.
    #[test]
    fn a_cut_install_shows_one_pair_and_recovers_to_it() {
        let d = tempdir("cut");
        let pair = Pair::in_dir(&d);
        pair.install("K1", "C1").unwrap();
        let (old, new) = (pair_of("K1", "C1"), pair_of("K2", "C2"));
        let g2 = d.join("pair.2");
        let cases: [(&str, &dyn Fn(), &Shown); 6] = [
            (
                "generation created, empty",
                &|| fs::create_dir(&g2).unwrap(),
                &old,
            ),
            (
                "key half-written",
                &|| {
                    fs::create_dir(&g2).unwrap();
                    fs::write(g2.join("key.pem"), "K").unwrap();
                },
                &old,
            ),
            (
                "generation whole, live not switched",
                &|| {
                    fs::create_dir(&g2).unwrap();
                    fs::write(g2.join("key.pem"), "K2").unwrap();
                    fs::write(g2.join("fullchain.pem"), "C2").unwrap();
                    std::os::unix::fs::symlink("pair.2", d.join(".live.tmp")).unwrap();
                },
                &old,
            ),
            (
                "live switched, old generation still there",
                &|| {
                    fs::create_dir(&g2).unwrap();
                    fs::write(g2.join("key.pem"), "K2").unwrap();
                    fs::write(g2.join("fullchain.pem"), "C2").unwrap();
                    replace_symlink(Path::new("pair.2"), &d.join("live")).unwrap();
                },
                &new,
            ),
            (
                "old generation half removed",
                &|| {
                    fs::create_dir(&g2).unwrap();
                    fs::write(g2.join("key.pem"), "K2").unwrap();
                    fs::write(g2.join("fullchain.pem"), "C2").unwrap();
                    replace_symlink(Path::new("pair.2"), &d.join("live")).unwrap();
                    fs::remove_file(d.join("pair.1/key.pem")).unwrap();
                },
                &new,
            ),
            (
                "a half-written temporary",
                &|| fs::write(d.join(".order.json.tmp"), "{").unwrap(),
                &old,
            ),
        ];
        for (what, cut, expect) in cases {
            // Back to K1/C1 in pair.1.
            let _ = fs::remove_dir_all(&d);
            ensure_dir(&d).unwrap();
            pair.install("K1", "C1").unwrap();
            cut();
            assert_eq!(&shown(&pair), expect, "{what}: after the cut");
            assert!(pair.recover().unwrap(), "{what}: nothing recovered");
            assert_eq!(&shown(&pair), expect, "{what}: after recover");
            let generation = if expect == &old { "pair.1" } else { "pair.2" };
            assert_eq!(
                listing(&d),
                ["fullchain.pem", "key.pem", "live", generation],
                "{what}"
            );
            assert!(!pair.recover().unwrap(), "{what}: recovered twice");
            // And the next install goes on from there.
            pair.install("K3", "C3").unwrap();
            assert_eq!(shown(&pair), pair_of("K3", "C3"), "{what}");
            assert_eq!(listing(&d).len(), 4, "{what}: {:?}", listing(&d));
        }
        fs::remove_dir_all(d).unwrap();
    }

    /// A first install cut before `live` exists shows no pair, as before it.
    #[test]
    fn a_cut_first_install_shows_nothing() {
        let d = tempdir("first");
        let pair = Pair::in_dir(&d);
        fs::create_dir(d.join("pair.1")).unwrap();
        fs::write(d.join("pair.1/key.pem"), "K1").unwrap();
        fs::write(d.join("pair.1/fullchain.pem"), "C1").unwrap();
        pair.link_names().unwrap();
        assert_eq!(shown(&pair), (None, None));
        assert!(pair.recover().unwrap());
        assert_eq!(shown(&pair), (None, None));
        assert_eq!(listing(&d), ["fullchain.pem", "key.pem"]);
        pair.install("K1", "C1").unwrap();
        assert_eq!(shown(&pair), pair_of("K1", "C1"));
        fs::remove_dir_all(d).unwrap();
    }

    /// The layout before generations (two regular files) is migrated: every
    /// state a cut can leave on the way shows the old pair whole, and the
    /// next install goes on from it.
    #[test]
    fn regular_files_migrate_without_a_mixed_state() {
        let d = tempdir("migrate");
        let pair = Pair::in_dir(&d);
        let old = pair_of("K0", "C0");
        let regular = || {
            let _ = fs::remove_dir_all(&d);
            ensure_dir(&d).unwrap();
            write_if_changed(&pair.key, b"K0", SECRET).unwrap();
            write_if_changed(&pair.chain, b"C0", PUBLIC).unwrap();
        };
        let linked = |names: &[&Path]| {
            fs::create_dir(d.join("pair.1")).unwrap();
            for n in names {
                fs::hard_link(n, d.join("pair.1").join(n.file_name().unwrap())).unwrap();
            }
        };
        let cases: [(&str, &dyn Fn()); 5] = [
            ("key linked", &|| linked(&[&pair.key])),
            ("both linked", &|| linked(&[&pair.key, &pair.chain])),
            ("live switched", &|| {
                linked(&[&pair.key, &pair.chain]);
                pair.switch("pair.1").unwrap();
            }),
            ("key name switched", &|| {
                linked(&[&pair.key, &pair.chain]);
                pair.switch("pair.1").unwrap();
                replace_symlink(Path::new("live/key.pem"), &pair.key).unwrap();
            }),
            ("both names switched", &|| {
                linked(&[&pair.key, &pair.chain]);
                pair.switch("pair.1").unwrap();
                pair.link_names().unwrap();
            }),
        ];
        for (what, cut) in cases {
            regular();
            cut();
            assert_eq!(shown(&pair), old, "{what}: after the cut");
            pair.recover().unwrap();
            assert_eq!(shown(&pair), old, "{what}: after recover");
            assert_eq!(mode(&pair.key), 0o600, "{what}");
            pair.install("K1", "C1").unwrap();
            assert_eq!(shown(&pair), pair_of("K1", "C1"), "{what}");
            assert_eq!(listing(&d).len(), 4, "{what}: {:?}", listing(&d));
            assert!(fs::symlink_metadata(&pair.key).unwrap().is_symlink());
        }
        // Uninterrupted, from the regular files.
        regular();
        pair.install("K1", "C1").unwrap();
        assert_eq!(shown(&pair), pair_of("K1", "C1"));
        assert_eq!(listing(&d), ["fullchain.pem", "key.pem", "live", "pair.2"]);
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
