//! Union directories (`union_dir` rules: `/usr/share/aclocal` listing the
//! entries of the tools' and the target's): opendir of such a directory
//! opens a synthesized directory in the session that holds a placeholder
//! for every entry of every component directory.
//!
//! opendir is the one call that asks the pipeline for a union directory,
//! so its gate lives here, with the synthesis. The synthesis uses raw
//! system calls only: hooks have no re-entrancy guard, and the
//! placeholders are host paths.

use crate::ffi::sys::{self, Fd};
use crate::path::{resolve, READ};
use crate::process::state;
use libc::{c_char, c_void};
use sb2_ruletree::format::ACT_UNION_DIR;
use sb2_ruletree::mapping::{MapKind, Mapped, PathBuf};
use sb2_ruletree::Errno;

/// opendir: the directory is mapped; a union directory is brought up to
/// date first.
pub fn opendir(
    p: *const c_char,
    f: impl FnOnce(*const c_char) -> *mut c_void,
) -> Result<*mut c_void, Errno> {
    let ctx = state::ctx()?;
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    let m = resolve(&ctx, None, p, READ, true, &mut v, &mut h)?;
    if m.kind == MapKind::Union {
        populate(m, &mut h)?;
    }
    Ok(f(h.as_ptr()))
}

/// Makes the synthesized union directory `host` list the entries of every
/// component directory of the rule (first one wins on duplicates, which is
/// the same name anyway). Rebuilt only when a component changed since.
fn populate(m: Mapped, host: &mut PathBuf) -> Result<(), Errno> {
    let Some(rule) = m.rule else { return Ok(()) };
    if rule.action_kind() != ACT_UNION_DIR {
        // The union rule sits inside an actions list: find it.
        return Ok(());
    }
    let created = mkdir_p(host)?;
    let union_mtime = if created {
        (0, 0)
    } else {
        mtime(host.as_ptr()).unwrap_or((0, 0))
    };
    let mut newest = (0, 0);
    let mut comp = PathBuf::new();
    for d in rule.union_dirs() {
        comp.set(d)?;
        if let Ok(t) = mtime(comp.as_ptr()) {
            newest = newest.max(t);
        }
    }
    if union_mtime > newest {
        return Ok(());
    }
    // Add every component entry.
    let ufd = open_dir(host.as_ptr())?;
    for d in rule.union_dirs() {
        comp.set(d)?;
        let Ok(cfd) = open_dir(comp.as_ptr()) else {
            continue;
        };
        each_entry(&cfd, |name, is_dir| {
            let name = name.as_ptr() as *const c_char;
            if is_dir {
                let _ = sys::mkdirat(ufd.raw(), name, 0o755);
            } else {
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC;
                let _ = sys::openat(ufd.raw(), name, flags, 0o644);
            }
        });
    }
    // Drop entries that no component has any more.
    let mut cfds: [Option<Fd>; 16] = Default::default();
    for (slot, d) in cfds.iter_mut().zip(rule.union_dirs()) {
        comp.set(d)?;
        *slot = open_dir(comp.as_ptr()).ok();
    }
    each_entry(&ufd, |name, is_dir| {
        let name = name.as_ptr() as *const c_char;
        let present = cfds
            .iter()
            .flatten()
            .any(|fd| sys::fstatat(fd.raw(), name, libc::AT_SYMLINK_NOFOLLOW).is_ok());
        if !present {
            let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
            let _ = sys::unlinkat(ufd.raw(), name, flags);
        }
    });
    // Touched, so that the next opendir can skip all this.
    sys::touch(ufd.raw());
    Ok(())
}

fn mtime(p: sys::CPath) -> Result<(i64, i64), Errno> {
    let st = sys::fstatat(libc::AT_FDCWD, p, 0)?;
    Ok((st.st_mtime, st.st_mtime_nsec))
}

fn open_dir(p: sys::CPath) -> Result<Fd, Errno> {
    sys::open(p, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)
}

/// Creates `p` and its parents; true if `p` itself was created now.
fn mkdir_p(p: &mut PathBuf) -> Result<bool, Errno> {
    let len = p.len();
    let mut tmp = PathBuf::new();
    let bytes = p.as_bytes();
    for (i, c) in bytes.iter().enumerate().skip(1) {
        if *c == b'/' {
            tmp.set(bytes.get(..i).unwrap_or(&[]))?;
            let _ = sys::mkdirat(libc::AT_FDCWD, tmp.as_ptr(), 0o755);
        }
    }
    tmp.set(bytes.get(..len).unwrap_or(&[]))?;
    Ok(sys::mkdirat(libc::AT_FDCWD, tmp.as_ptr(), 0o755).is_ok())
}

/// Calls `f(name_with_nul, is_dir)` for each entry but `.` and `..`.
fn each_entry(fd: &Fd, mut f: impl FnMut(&[u8], bool)) {
    let mut buf = [0u8; 4096];
    sys::rewind(fd.raw());
    loop {
        let n = sys::getdents(fd.raw(), &mut buf);
        if n <= 0 {
            return;
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let dtype = buf[off + 18];
            let name_area = buf.get(off + 19..off + reclen).unwrap_or(&[]);
            let nl = name_area
                .iter()
                .position(|c| *c == 0)
                .unwrap_or(name_area.len());
            let name = name_area.get(..=nl).unwrap_or(&[]);
            if name != b".\0" && name != b"..\0" && !name.is_empty() {
                f(name, dtype == libc::DT_DIR);
            }
            if reclen == 0 {
                return;
            }
            off += reclen;
        }
    }
}
