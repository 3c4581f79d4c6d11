//! The ruletree cache: a session whose rules, target, options and sb2
//! build are those of an earlier one reuses that session's compiled rules
//! instead of running the Lua compiler again.
//!
//! What is cached is the compiler's output (the model, with placeholders
//! where the session directory and log file go) and its record (see
//! `sb2_ruletree::compile::record`): every file the rules read, every
//! path they asked about, every environment variable and policy root
//! they looked at, and what they printed. A hit substitutes this
//! session's values for the placeholders and writes the ruletree as a
//! fresh compile would (trie indexes and checksum included).
//!
//! An entry is `DIR/HASH`, HASH being the SHA-256 of the key material
//! (everything the compile was given: sb2's version, the binary's
//! identity, the ruletree format version, the rules directory, the modes'
//! and network rule files, every constant and argv rewrite, the
//! placeholders). The entry holds the key material in full, compared on
//! a hit, so a hash collision cannot give a wrong tree; then each
//! recorded probe is asked again, and one whose answer changed makes it a
//! miss. Layout:
//!
//! ```text
//! magic "SB2RTCCH" | version u32 | payload length u32 | SHA-256 of payload
//! payload: codec of (key material, (record, model))
//! ```
//!
//! A damaged entry (short, wrong magic or version, checksum mismatch,
//! undecodable) is a miss and is replaced. Entries are written to a
//! temporary file and renamed; when one is stored, entries beyond the
//! newest [`KEEP`] or unused for [`MAX_AGE`] are removed.

use anyhow::{Context, Result};
use sb2_ruletree::compile::codec::{Codec, Reader};
use sb2_ruletree::compile::record::{Probe, Record};
use sb2_ruletree::compile::Input;
use sb2_ruletree::model::Session;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const MAGIC: &[u8; 8] = b"SB2RTCCH";
/// Bumped when the entry layout or the key material changes.
const VERSION: u32 = 1;
const HDR: usize = 8 + 4 + 4 + 32;
/// Entries kept (the newest by use).
pub const KEEP: usize = 64;
/// Entries unused for this long are removed.
pub const MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// `SB2_NO_CACHE=1`: compile every session's rules afresh.
pub const NO_CACHE_VAR: &str = "SB2_NO_CACHE";

/// The cache directory: `$XDG_CACHE_HOME/sb2/ruletree`, else
/// `~/.cache/sb2/ruletree`; None without either.
pub fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".cache"))
        })?;
    Some(base.join("sb2").join("ruletree"))
}

/// Whether the environment turns the cache off (`SB2_NO_CACHE` set to
/// anything but empty or `0`).
pub fn disabled_by_env() -> bool {
    std::env::var_os(NO_CACHE_VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Everything a compile is given, as bytes: what an entry must match.
pub fn key_material(input: &Input) -> Vec<u8> {
    use std::fmt::Write;
    let mut k = String::new();
    let _ = writeln!(k, "sb2 ruletree cache {VERSION}");
    let _ = writeln!(k, "sb2 {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(k, "format {}", sb2_ruletree::format::VERSION);
    let _ = writeln!(k, "exe {}", exe_identity());
    let _ = writeln!(k, "rules {:?}", input.rules_dir);
    for (m, f) in &input.modes {
        let _ = writeln!(k, "mode {m:?} {f:?}");
    }
    if let Some((n, f)) = &input.net {
        let _ = writeln!(k, "net {n:?} {f:?}");
    }
    for (p, _) in &input.placeholders {
        let _ = writeln!(k, "placeholder {p:?}");
    }
    for (n, v) in &input.constants {
        let _ = writeln!(k, "const {n:?} {v:?}");
    }
    for a in &input.argvmods {
        let _ = writeln!(k, "argvmod {a:?}");
    }
    k.into_bytes()
}

/// This sb2 binary: path, size, change time and inode. A rebuilt or
/// reinstalled sb2 (whose compiler or model may differ) has new ones.
fn exe_identity() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(exe) = std::env::current_exe() else {
        return "unknown".into();
    };
    match std::fs::metadata(&exe) {
        Ok(m) => format!(
            "{exe:?} {} {}.{} {}.{}",
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.dev(),
            m.ino()
        ),
        Err(_) => format!("{exe:?}"),
    }
}

/// The entry file for `key`.
pub fn entry_path(dir: &Path, key: &[u8]) -> PathBuf {
    let h = Sha256::digest(key);
    let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(hex)
}

/// Why an entry was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// No entry for this key.
    Absent,
    /// Unreadable, damaged, of another version or another key.
    Damaged(&'static str),
    /// A file, path or variable the rules looked at changed.
    Changed(String),
}

/// A usable entry: the compile's record and result.
pub struct Hit {
    pub record: Record,
    pub session: Session,
}

/// Looks `key` up in the entry at `path`; re-checks every probe.
pub fn lookup(path: &Path, key: &[u8]) -> Result<Hit, Miss> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(_) => return Err(Miss::Damaged("unreadable")),
    };
    let payload = open_entry(&bytes)?;
    let mut r = Reader::new(payload);
    let stored_key = Vec::<u8>::dec(&mut r).ok_or(Miss::Damaged("undecodable"))?;
    if stored_key != key {
        return Err(Miss::Damaged("another key"));
    }
    let (mut record, session) =
        <(Record, Session)>::dec(&mut r).ok_or(Miss::Damaged("undecodable"))?;
    if !r.at_end() || record.uncacheable.is_some() {
        return Err(Miss::Damaged("undecodable"));
    }
    let mut refreshed = false;
    for p in &mut record.probes {
        match p.recheck() {
            Some(now) => {
                refreshed |= now != *p;
                *p = now;
            }
            None => return Err(Miss::Changed(describe(p))),
        }
    }
    if refreshed {
        // A file was read again to tell it had not changed: store its new
        // signature so that the next session needs a stat only.
        let _ = store(path, key, &record, &session);
    } else {
        touch(path);
    }
    Ok(Hit { record, session })
}

fn describe(p: &Probe) -> String {
    match p {
        Probe::File(f, _) => format!("{f} changed"),
        Probe::Exists(f, _) => format!("{f} appeared or went away"),
        Probe::RootLoader(r, _, _) => format!("the loader of {r} changed"),
        Probe::Env(n, _) => format!("${n} changed"),
    }
}

/// The payload of an entry whose header and checksum are right.
fn open_entry(b: &[u8]) -> Result<&[u8], Miss> {
    if b.len() < HDR || &b[..8] != MAGIC {
        return Err(Miss::Damaged("not a cache entry"));
    }
    let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    if word(8) != VERSION {
        return Err(Miss::Damaged("another version"));
    }
    let payload = &b[HDR..];
    if word(12) as usize != payload.len() {
        return Err(Miss::Damaged("truncated"));
    }
    if Sha256::digest(payload).as_slice() != &b[16..48] {
        return Err(Miss::Damaged("checksum mismatch"));
    }
    Ok(payload)
}

/// Writes the entry at `path` (temporary file, then rename).
pub fn store(path: &Path, key: &[u8], record: &Record, session: &Session) -> Result<()> {
    let mut payload = Vec::new();
    key.to_vec().enc(&mut payload);
    (record.clone(), session.clone()).enc(&mut payload);
    let mut b = Vec::with_capacity(HDR + payload.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    b.extend_from_slice(&Sha256::digest(&payload));
    b.extend_from_slice(&payload);
    let dir = path.parent().context("cache entry path")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &b).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Marks an entry used (its mtime orders pruning), at most once an hour.
fn touch(path: &Path) {
    let Ok(f) = std::fs::File::options().append(true).open(path) else {
        return;
    };
    let old = f
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > Duration::from_secs(3600));
    if old {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Removes entries beyond the newest [`KEEP`], entries unused for
/// [`MAX_AGE`], and temporary files left by a crash.
pub fn prune(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut entries: Vec<(SystemTime, PathBuf)> = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        let Some(m) = e.metadata().ok().and_then(|m| m.modified().ok()) else {
            continue;
        };
        let age = now.duration_since(m).unwrap_or_default();
        let tmp = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"));
        if tmp {
            if age > Duration::from_secs(3600) {
                let _ = std::fs::remove_file(&p);
            }
        } else if age > MAX_AGE {
            let _ = std::fs::remove_file(&p);
        } else {
            entries.push((m, p));
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, p) in entries.iter().skip(KEEP) {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sb2_ruletree::compile::record::{Output, ProbeResult};

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sb2-cache-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn sample() -> (Record, Session) {
        let record = Record {
            probes: vec![Probe::Exists("/".into(), true)],
            outputs: vec![Output {
                fd: 2,
                text: b"hi\n".to_vec(),
            }],
            uncacheable: None,
        };
        let session = Session {
            constants: vec![("session_dir".into(), "/@s@".into())],
            ..Session::default()
        };
        (record, session)
    }

    #[test]
    fn a_stored_entry_is_found_and_a_damaged_one_is_not() {
        let d = tmpdir("entry");
        let p = entry_path(&d, b"key");
        assert_eq!(lookup(&p, b"key").err(), Some(Miss::Absent));
        let (rec, s) = sample();
        store(&p, b"key", &rec, &s).unwrap();
        let hit = lookup(&p, b"key").expect("hit");
        assert_eq!((hit.record, hit.session), (rec.clone(), s.clone()));
        assert!(matches!(lookup(&p, b"other"), Err(Miss::Damaged(_))));
        let good = std::fs::read(&p).unwrap();
        for (what, bytes) in [
            ("truncated", good[..good.len() - 3].to_vec()),
            ("empty", Vec::new()),
            (
                "garbage",
                b"garbage that is long enough to have a header......".to_vec(),
            ),
            ("flipped", {
                let mut b = good.clone();
                let i = b.len() - 5;
                b[i] ^= 0x20;
                b
            }),
            ("version", {
                let mut b = good.clone();
                b[8] ^= 1;
                b
            }),
        ] {
            std::fs::write(&p, bytes).unwrap();
            assert!(
                matches!(lookup(&p, b"key"), Err(Miss::Damaged(_))),
                "{what}"
            );
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_changed_probe_is_a_miss() {
        let d = tmpdir("probe");
        let f = d.join("status");
        std::fs::write(&f, "one").unwrap();
        let h: [u8; 32] = Sha256::digest(b"one").into();
        let (mut rec, s) = sample();
        rec.probes = vec![Probe::File(
            f.display().to_string(),
            ProbeResult::Content(h, None),
        )];
        let p = entry_path(&d, b"k");
        store(&p, b"k", &rec, &s).unwrap();
        assert!(lookup(&p, b"k").is_ok());
        std::fs::write(&f, "two").unwrap();
        assert!(matches!(lookup(&p, b"k"), Err(Miss::Changed(_))));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn prune_keeps_the_newest() {
        let d = tmpdir("prune");
        for i in 0..KEEP + 3 {
            let p = d.join(format!("e{i:03}"));
            std::fs::write(&p, "x").unwrap();
            let t = SystemTime::now() - Duration::from_secs(1000 - i as u64);
            std::fs::File::options()
                .append(true)
                .open(&p)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        prune(&d);
        let n = std::fs::read_dir(&d).unwrap().count();
        assert_eq!(n, KEEP);
        assert!(!d.join("e000").exists() && d.join(format!("e{:03}", KEEP + 2)).exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
