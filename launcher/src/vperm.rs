//! The launcher's side of virtual permissions (`-R`, `-U`, `-s`, `-i`):
//! the session's table file, the first command's virtual ids, and
//! fakeroot's save/load of the table as text.

use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::contract::VPERM_FILE;
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
/// chowned show as `unknown`. `-i FILE`'s records are stored first, in
/// memory, and only the pages they touch are written: storing them
/// through a shared mapping would fault in every page one at a time.
pub fn create(dir: &Path, unknown: Ids, load_from: Option<&Path>) -> Result<()> {
    let slots = vperm::DEFAULT_SLOTS;
    let size = Db::size(slots);
    let p = dir.join(VPERM_FILE);
    let f = std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?;
    use std::os::unix::fs::FileExt;
    let Some(file) = load_from else {
        // A fresh table is its header and zeros: write the header page and
        // leave the rest a hole. Building the whole 10 MB table in memory
        // and scanning it for written pages cost 2 ms per session start.
        let mut page = vec![0u64; 4096 / 8];
        // SAFETY: a u64 buffer viewed as its bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(page.as_mut_ptr() as *mut u8, 4096) };
        Db::init(bytes, slots, (unknown.uid, unknown.gid));
        f.write_all_at(bytes, 0)
            .with_context(|| format!("writing {}", p.display()))?;
        f.set_len(size as u64)?;
        return Ok(());
    };
    // u64s: the table's words must be aligned.
    let mut mem = vec![0u64; size / 8];
    // SAFETY: a u64 buffer viewed as its bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(mem.as_mut_ptr() as *mut u8, size) };
    Db::init(bytes, slots, (unknown.uid, unknown.gid));
    let recs = read_saved(file)?;
    // SAFETY: the buffer outlives the Db.
    let db = unsafe { Db::from_raw(bytes.as_mut_ptr(), size) }
        .map_err(|e| anyhow!("virtual permission table: {}", e.reason()))?;
    vperm::load(&db, &recs).map_err(|_| too_many(file, recs.len()))?;
    for (i, page) in mem.chunks(4096 / 8).enumerate() {
        if i == 0 || page.iter().any(|w| *w != 0) {
            // SAFETY: the page's words viewed as bytes.
            let b =
                unsafe { std::slice::from_raw_parts(page.as_ptr() as *const u8, page.len() * 8) };
            f.write_all_at(b, (i * 4096) as u64)
                .with_context(|| format!("writing {}", p.display()))?;
        }
    }
    f.set_len(size as u64)?;
    Ok(())
}

fn read_saved(file: &Path) -> Result<Vec<vperm::Saved>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("-i {}: cannot read the saved state", file.display()))?;
    vperm::parse(&text).map_err(|e| anyhow!("-i {}: {e}", file.display()))
}

fn too_many(file: &Path, n: usize) -> anyhow::Error {
    anyhow!(
        "-i {}: {n} records do not fit the session's table",
        file.display()
    )
}

/// Runs `f` over the session's table, mapped shared.
fn with_db<R>(dir: &Path, f: impl FnOnce(&Db) -> R) -> Result<R> {
    let p = dir.join(VPERM_FILE);
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
    let db = unsafe { Db::from_raw(map.as_mut_ptr(), map.len()) }.map_err(|e| {
        anyhow!(
            "{}: unusable virtual permission table ({})",
            p.display(),
            e.reason()
        )
    })?;
    Ok(f(&db))
}

/// `-i FILE` into a running session's table: the whole file is checked
/// before anything is stored.
pub fn load(dir: &Path, file: &Path) -> Result<()> {
    let recs = read_saved(file)?;
    with_db(dir, |db| vperm::load(db, &recs))?.map_err(|_| too_many(file, recs.len()))
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
