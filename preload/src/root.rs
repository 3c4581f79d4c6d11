//! The root family: chroot(2) simulated, never passed to the kernel (a
//! real chroot would strand this library outside the root, and needs a
//! privilege users do not have).
//!
//! The argument is resolved like any path, in the caller's current root,
//! following links in that view, and must be a directory (the kernel's
//! ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, EFAULT). The new root is kept as
//! an outer virtual path in [`crate::process::chroot`]; every later path
//! call resolves through it (see `sb2_ruletree::mapping::Chroot`). As in
//! the kernel there is no implicit chdir. A root that resolves to the
//! session's own `/` ends the simulation. The root's loader facts (its
//! ld.so and library path, for running its programs) are computed here,
//! once per chroot().
//!
//! Who may chroot: anyone by default, as under Scratchbox2 and fakechroot
//! (chroot(8) itself checks no uid); with the session's chroot policy
//! `root` (`sb2 --chroot=root`), only a process whose virtual euid is 0,
//! others get EPERM as the kernel would say.

use crate::ffi::sys;
use crate::path::{self, resolve, Sys};
use crate::process::{cache, chroot, state, vperm};
use sb2_ruletree::contract::key;
use sb2_ruletree::exec::chroot_facts;
use sb2_ruletree::mapping::{Host, Kind, PathBuf};
use sb2_ruletree::Errno;

pub fn chroot(p: *const libc::c_char) -> Result<libc::c_int, Errno> {
    let ctx = state::ctx()?;
    if ctx.tree.constant(key::CHROOT_POLICY.as_bytes()) == Some(b"root") && !vperm::is_root() {
        return Err(Errno(libc::EPERM));
    }
    let (mut v, mut h) = (PathBuf::new(), PathBuf::new());
    resolve(&ctx, None, p, path::STAT, false, &mut v, &mut h)?;
    if v.is_empty() {
        return Err(Errno::ENOENT); // chroot("")
    }
    match Sys.lstat_kind(h.with_nul())? {
        Kind::Dir => {}
        Kind::Symlink => {
            // /proc's magic links (the kernel follows them): ask it.
            let st = sys::fstatat(libc::AT_FDCWD, h.as_ptr(), 0)?;
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Err(Errno::ENOTDIR);
            }
        }
        Kind::Other => return Err(Errno::ENOTDIR),
    }
    let vfork = cache::is_vfork_child();
    if v.as_bytes() == b"/" {
        chroot::set(None, vfork);
    } else {
        let (mut mounts, mut ld) = (PathBuf::new(), PathBuf::new());
        chroot_facts(&ctx, &path::Cached, v.as_bytes(), &mut mounts, &mut ld);
        chroot::set(
            Some((v.as_bytes(), mounts.as_bytes(), ld.as_bytes())),
            vfork,
        );
    }
    Ok(0)
}
