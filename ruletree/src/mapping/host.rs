//! [`Host`]: the system operations the pipeline needs, and optional
//! caches (cwd, known directories, per-directory rule choice) a host may
//! keep; every cache hook has a do-nothing default, so a host that caches
//! nothing implements only the six system calls. The preload implements it
//! with raw syscalls ([`crate::sys::Sys`]), the tests with a fake file
//! system.

use super::PathBuf;
use crate::Errno;
use core::cell::Cell;

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

/// Longest host path [`Memo`] remembers.
const MEMO_PATH: usize = 256;

/// A host that remembers its last `lstat`, for one resolution: the walk,
/// a rule's `if_exists` condition and the final mapping ask it of the
/// same host path up to three times, and one answer serves them all (the
/// same as the kernel's walk, which also looks once).
pub struct Memo<'h, H: Host> {
    host: &'h H,
    len: Cell<usize>,
    path: Cell<[u8; MEMO_PATH]>,
    kind: Cell<Option<Result<Kind, Errno>>>,
}

impl<'h, H: Host> Memo<'h, H> {
    pub fn new(host: &'h H) -> Self {
        Memo {
            host,
            len: Cell::new(0),
            path: Cell::new([0; MEMO_PATH]),
            kind: Cell::new(None),
        }
    }
}

impl<H: Host> Host for Memo<'_, H> {
    #[link_section = ".text.hot.sb2"]
    fn lstat_kind(&self, hpath: &[u8]) -> Result<Kind, Errno> {
        // Compared and written in place (a Cell's get and set would copy
        // the whole array).
        let cells: &Cell<[u8]> = &self.path;
        let cells = cells.as_slice_of_cells();
        if let Some(k) = self.kind.get() {
            if self.len.get() == hpath.len() && cells.iter().zip(hpath).all(|(c, b)| c.get() == *b)
            {
                return k;
            }
        }
        let k = self.host.lstat_kind(hpath);
        if let Some(dst) = cells.get(..hpath.len()) {
            dst.iter().zip(hpath).for_each(|(c, b)| c.set(*b));
            self.len.set(hpath.len());
            self.kind.set(Some(k));
        }
        k
    }
    #[link_section = ".text.hot.sb2"]
    fn readlink(&self, hpath: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
        self.host.readlink(hpath, out)
    }
    fn getenv(&self, name: &[u8], out: &mut PathBuf) -> bool {
        self.host.getenv(name, out)
    }
    fn host_cwd(&self, out: &mut PathBuf) -> Result<(), Errno> {
        self.host.host_cwd(out)
    }
    fn fd_path(&self, fd: i32, out: &mut PathBuf) -> Result<(), Errno> {
        self.host.fd_path(fd, out)
    }
    fn fd_vpath(
        &self,
        fd: i32,
        out: &mut PathBuf,
        scratch: &mut PathBuf,
        virt: impl FnOnce(&[u8], &mut PathBuf) -> Result<(), Errno>,
    ) -> Result<bool, Errno> {
        self.host.fd_vpath(fd, out, scratch, virt)
    }
    #[link_section = ".text.hot.sb2"]
    fn cached_cwd(&self, out: &mut PathBuf) -> Option<bool> {
        self.host.cached_cwd(out)
    }
    fn cache_cwd(&self, vcwd: &[u8], token: u64, is_host: bool) {
        self.host.cache_cwd(vcwd, token, is_host)
    }
    #[link_section = ".text.hot.sb2"]
    fn dir_known(&self, key: u64) -> bool {
        self.host.dir_known(key)
    }
    #[link_section = ".text.hot.sb2"]
    fn dir_token(&self) -> u64 {
        self.host.dir_token()
    }
    #[link_section = ".text.hot.sb2"]
    fn dir_remember(&self, key: u64, token: u64) {
        self.host.dir_remember(key, token)
    }
    #[link_section = ".text.hot.sb2"]
    fn rule_cached(&self, key: u64) -> Option<u32> {
        self.host.rule_cached(key)
    }
    #[link_section = ".text.hot.sb2"]
    fn rule_remember(&self, key: u64, rule: u32) {
        self.host.rule_remember(key, rule)
    }
    fn own_pid(&self) -> i32 {
        self.host.own_pid()
    }
    #[link_section = ".text.hot.sb2"]
    fn exec_probe(&self, hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
        self.host.exec_probe(hpath, head)
    }
}
