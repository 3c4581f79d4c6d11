//! [`Host`]: the system operations the pipeline needs, and optional
//! caches (cwd, known directories, per-directory rule choice) a host may
//! keep; every cache hook has a do-nothing default, so a host that caches
//! nothing implements only the six system calls. The preload implements it
//! with raw syscalls ([`crate::sys::Sys`]), the tests with a fake file
//! system.

use super::PathBuf;
use crate::Errno;

/// What `lstat` says about a host path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Symlink,
    Dir,
    Other,
}

/// The operations the pipeline needs from the system.
pub trait Host {
    /// `lstat` of a NUL-terminated host path.
    fn lstat_kind(&self, hpath: &[u8]) -> Result<Kind, Errno>;
    /// `readlink` of a NUL-terminated host path.
    fn readlink(&self, hpath: &[u8], out: &mut PathBuf) -> Result<(), Errno>;
    /// Whether a NUL-terminated host path exists (`lstat` succeeds).
    fn exists(&self, hpath: &[u8]) -> bool {
        self.lstat_kind(hpath).is_ok()
    }
    /// The value of an environment variable of the calling process.
    fn getenv(&self, name: &[u8], out: &mut PathBuf) -> bool;
    /// The real (host) current directory.
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno>;
    /// The host path of an open directory fd.
    fn fd_path(&self, fd: i32, out: &mut PathBuf) -> Result<(), Errno>;
    /// The virtual path of an open directory fd, into `out`: its host path
    /// (in `scratch`) turned virtual by `virt`; true if both are the same.
    /// A host may cache the result while the fd names the same directory.
    fn fd_vpath(
        &self,
        fd: i32,
        out: &mut PathBuf,
        scratch: &mut PathBuf,
        virt: impl FnOnce(&[u8], &mut PathBuf) -> Result<(), Errno>,
    ) -> Result<bool, Errno> {
        self.fd_path(fd, scratch)?;
        virt(scratch.as_bytes(), out)?;
        Ok(out.as_bytes() == scratch.as_bytes())
    }
    /// The virtual current directory, if the host keeps it cached (then the
    /// pipeline needs no getcwd and no reverse mapping for relative paths).
    /// `Some(true)` when it is also the host cwd.
    fn cached_cwd(&self, _out: &mut PathBuf) -> Option<bool> {
        None
    }
    /// Remembers the virtual cwd computed by the pipeline, as of `token`
    /// (from [`Host::dir_token`], read before the cwd was asked for).
    fn cache_cwd(&self, _vcwd: &[u8], _token: u64, _is_host: bool) {}
    /// Is the virtual directory with this key known to resolve to itself
    /// (every component a real directory, no symlink)? A host may cache
    /// this to spare the per-component `lstat`s of the walk.
    fn dir_known(&self, _key: u64) -> bool {
        false
    }
    /// The cache's validity token, read before a directory is looked at.
    fn dir_token(&self) -> u64 {
        0
    }
    /// Records that the virtual directory with this key resolved to itself,
    /// as of `token`.
    fn dir_remember(&self, _key: u64, _token: u64) {}
    /// The rule (its id; 0 = no rule) that decides every entry of the
    /// directory with this key, if the host cached it. The ruletree never
    /// changes during a process, so entries stay valid.
    fn rule_cached(&self, _key: u64) -> Option<u32> {
        None
    }
    /// Records the rule deciding every entry of a directory.
    fn rule_remember(&self, _key: u64, _rule: u32) {}
    /// This process's id (for `/proc/PID/...` inside a chroot).
    fn own_pid(&self) -> i32 {
        // SAFETY: getpid has no preconditions.
        unsafe { libc::getpid() }
    }
    /// For exec: checks that a NUL-terminated host path is an executable
    /// regular file (ENOENT, EACCES as the kernel would say) and reads up to
    /// `head.len()` bytes of it (0 if it cannot be read: execute-only).
    fn exec_probe(&self, hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
        crate::sys::exec_probe(hpath, head)
    }
}
