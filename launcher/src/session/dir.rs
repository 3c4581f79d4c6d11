//! The session directory: every file the session's processes share (the
//! ruletree, the generation counter and directory cache, the virtual
//! permission table, private temporary directories), and its removal
//! however the command ended.

use anyhow::{bail, Context, Result};
use sb2_ruletree::contract::{
    generation_stamp, GENERATION_FILE, GENERATION_LEN, GENERATION_MAGIC_AT, TMP_DIR, UNION_DIR,
};
use std::ffi::OsString;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Creates the session directory: `explicit` (`-W`, absolute, must not
/// exist) or a fresh one under `$XDG_RUNTIME_DIR` or `/tmp`.
pub fn create(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(d) => {
            if !d.is_absolute() {
                bail!(
                    "-W {}: the session directory must be an absolute path",
                    d.display()
                );
            }
            if d.exists() {
                bail!(
                    "-W {}: the session directory must not exist yet",
                    d.display()
                );
            }
            std::fs::create_dir(d)
                .with_context(|| format!("creating session directory {}", d.display()))?;
            d.to_path_buf()
        }
        None => fresh()?,
    };
    // tmp and var/tmp: the private /tmp and /var/tmp of modes that have
    // them (tmp is also $TMPDIR under --allow-write).
    for sub in [TMP_DIR, "var/tmp", UNION_DIR] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    // Target of set_path rules that neutralize calls (utimes on /dev nodes).
    std::fs::write(dir.join("dummy_file"), b"")?;
    // Zeroed: generation 0 and every directory cache slot empty. The
    // preload refuses a file of any other size.
    // A hole, not written zeros: the same bytes, without writing 64 KiB
    // at every start.
    // Only the header's stamp is written (the preload checks it).
    let gen = std::fs::File::create(dir.join(GENERATION_FILE))?;
    gen.write_all_at(&generation_stamp(), GENERATION_MAGIC_AT as u64)?;
    gen.set_len(GENERATION_LEN as u64)?;
    for sub in [TMP_DIR, "var/tmp"] {
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o1777))?;
    }
    Ok(dir)
}

/// A new directory `sb2-USER-XXXXXX`; mkdtemp, so that two sessions
/// starting at once never share one.
fn fresh() -> Result<PathBuf> {
    let base = base();
    // SAFETY: getuid cannot fail.
    let user = std::env::var("USER").unwrap_or_else(|_| unsafe { libc::getuid() }.to_string());
    let tmpl = base.join(format!("sb2-{user}-XXXXXX"));
    let mut bytes = tmpl.into_os_string().into_encoded_bytes();
    bytes.push(0);
    // SAFETY: mkdtemp edits our NUL-terminated buffer in place.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr() as *mut libc::c_char) };
    if p.is_null() {
        return Err(std::io::Error::last_os_error()).context("creating the session directory");
    }
    bytes.pop();
    // SAFETY: mkdtemp kept the bytes valid path bytes.
    Ok(PathBuf::from(unsafe {
        OsString::from_encoded_bytes_unchecked(bytes)
    }))
}

/// Where a session directory will be made: `-W`'s parent, else
/// `$XDG_RUNTIME_DIR` if usable, else `/tmp`.
pub fn parent(explicit: Option<&Path>) -> PathBuf {
    match explicit.and_then(Path::parent) {
        Some(p) => p.to_path_buf(),
        None => base(),
    }
}

fn base() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir() && writable(p))
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

fn writable(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Removes a session directory, even parts a program made unreadable.
pub fn remove(dir: &Path) {
    super::cow::make_removable(dir);
    if std::fs::remove_dir_all(dir).is_err() {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(dir)
            .status();
        let _ = std::fs::remove_dir_all(dir);
    }
}
