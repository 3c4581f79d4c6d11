//! The launcher's side of virtual permissions (`-R`, `-U`, `-s`, `-i`):
//! the session's table file, the first command's virtual ids, and
//! fakeroot's save/load of the table as text.

use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::vperm::{self, Db};
use std::path::Path;

/// Who the session's processes are and whose unknown files are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// Parses `-U`'s `UID.GID` (or `UID:GID`).
pub fn parse_ids(s: &str) -> Result<Ids> {
    let (u, g) = s
        .split_once(['.', ':'])
        .ok_or_else(|| anyhow!("-U {s}: expected UID.GID (numbers), e.g. -U 0.0"))?;
    let num = |x: &str| {
        x.parse::<u32>()
            .ok()
            .filter(|n| *n != u32::MAX)
            .ok_or_else(|| anyhow!("-U {s}: '{x}' is not a user or group number"))
    };
    Ok(Ids {
        uid: num(u)?,
        gid: num(g)?,
    })
}

/// The `SB2_VPERM` value of a process whose every id is `ids`.
pub fn ids_env(ids: Ids) -> String {
    let (u, g) = (ids.uid, ids.gid);
    format!("{u}:{u}:{u}:{u}:{g}:{g}:{g}:{g}:{g}")
}

/// Creates the session's (sparse) table; files the user owns and nobody
/// chowned show as `unknown`.
pub fn create(dir: &Path, unknown: Ids) -> Result<()> {
    let slots = vperm::DEFAULT_SLOTS;
    let mut head = vec![0u8; vperm::HEADER];
    Db::init(&mut head, slots, (unknown.uid, unknown.gid));
    let p = dir.join(vperm::FILE);
    let f = std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?;
    use std::os::unix::fs::FileExt;
    f.write_all_at(&head, 0)?;
    f.set_len(Db::size(slots) as u64)?;
    Ok(())
}

/// Runs `f` over the session's table, mapped shared.
fn with_db<R>(dir: &Path, f: impl FnOnce(&Db) -> R) -> Result<R> {
    let p = dir.join(vperm::FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .with_context(|| format!("{}", p.display()))?;
    // SAFETY: the table is only ever written through atomics (ours and the
    // session's processes'); the map lives for this call.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }
        .with_context(|| format!("mapping {}", p.display()))?;
    // SAFETY: the mapping outlives the Db used inside f.
    let db = unsafe { Db::from_raw(map.as_mut_ptr(), map.len()) }
        .ok_or_else(|| anyhow!("{}: not a virtual permission table", p.display()))?;
    Ok(f(&db))
}

/// `-i FILE`: the whole file is checked before anything is stored.
pub fn load(dir: &Path, file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("-i {}: cannot read the saved state", file.display()))?;
    let recs = vperm::parse(&text).map_err(|e| anyhow!("-i {}: {e}", file.display()))?;
    with_db(dir, |db| vperm::load(db, &recs))?.map_err(|_| {
        anyhow!(
            "-i {}: {} records do not fit the session's table",
            file.display(),
            recs.len()
        )
    })
}

/// `-s FILE`: written to a temporary name, then renamed over FILE, so a
/// crash never leaves half a file.
pub fn save(dir: &Path, file: &Path) -> Result<()> {
    let text = with_db(dir, vperm::save)?;
    let tmp = {
        let mut t = file.as_os_str().to_owned();
        t.push(format!(".tmp{}", std::process::id()));
        std::path::PathBuf::from(t)
    };
    std::fs::write(&tmp, text).with_context(|| format!("-s {}", file.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("-s {}", file.display()))?;
    Ok(())
}

/// Checks `-i` before a session is made for it.
pub fn check_load_file(file: &Path) -> Result<()> {
    if !file.exists() {
        bail!("-i {}: no such file", file.display());
    }
    Ok(())
}
