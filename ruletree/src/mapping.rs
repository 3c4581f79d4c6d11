//! THE path pipeline. Every path-taking hook of the preload and every
//! `sb2-show` command go through [`resolve`] (virtual → host) or
//! [`reverse`] (host → virtual); nobody else splices paths.
//!
//! Stages of [`resolve`]:
//! 1. absolutize against the virtual cwd, or the dirfd's virtual path;
//! 2. walk the components, dropping `.`, applying `..` to the resolved prefix
//!    (so `..` never skips a symlink), and resolving each symlink *in the
//!    virtual view*: the prefix is mapped, `lstat`ed on the host and, if it is
//!    a link, its target is spliced in (absolute targets restart at the
//!    virtual root) — ELOOP after 40 links, ENAMETOOLONG past PATH_MAX;
//! 3. look up the deciding rule ([`crate::lookup`]) for the resolved path;
//! 4. apply its action into the caller's buffer.
//!
//! Generic over [`Host`] so the preload (raw syscalls) and `sb2-show` (std)
//! run the same code. Hot path: stack buffers only, no allocation, no panic.

use crate::format::*;
use crate::lookup::{self, Caller};
use crate::model::flags;
use crate::{Errno, PATH_MAX};
use core::mem::MaybeUninit;

/// A path in a fixed stack buffer, always with room for a terminating NUL.
pub struct PathBuf {
    len: usize,
    buf: [MaybeUninit<u8>; PATH_MAX + 1],
}

impl Default for PathBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl PathBuf {
    /// An empty buffer. Not zeroed: only written bytes are ever read.
    #[inline]
    pub fn new() -> PathBuf {
        PathBuf {
            len: 0,
            buf: [MaybeUninit::uninit(); PATH_MAX + 1],
        }
    }
    /// The bytes written so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: bytes 0..len were written by push/set (invariant of every
        // mutator), and len <= PATH_MAX < buf.len().
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len) }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn clear(&mut self) {
        self.len = 0;
    }
    /// Appends bytes; ENAMETOOLONG if the result would not fit PATH_MAX
    /// (with its NUL).
    #[inline]
    pub fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        if self.len + s.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        // SAFETY: the destination range len..len+s.len() is inside buf (checked
        // above) and does not overlap `s`, which is borrowed immutably.
        unsafe {
            core::ptr::copy_nonoverlapping(
                s.as_ptr(),
                (self.buf.as_mut_ptr() as *mut u8).add(self.len),
                s.len(),
            );
        }
        self.len += s.len();
        Ok(())
    }
    pub fn set(&mut self, s: &[u8]) -> Result<(), Errno> {
        self.len = 0;
        self.push(s)
    }
    /// A buffer holding a copy of `s`.
    pub fn from_bytes(s: &[u8]) -> Result<PathBuf, Errno> {
        let mut p = PathBuf::new();
        p.set(s)?;
        Ok(p)
    }
    /// Truncates to `n` bytes (no-op if longer).
    pub fn truncate(&mut self, n: usize) {
        if n < self.len {
            self.len = n;
        }
    }
    /// Removes the last component (`/a/b` → `/a`, `/a` → ``, meaning root).
    fn pop_component(&mut self) {
        let b = self.as_bytes();
        let cut = b.iter().rposition(|c| *c == b'/').unwrap_or(0);
        self.len = cut;
    }
    /// Lets `f` write up to PATH_MAX bytes into the buffer (a system call
    /// filling it directly: no second buffer on the stack) and keeps the
    /// `n` it reports written; a negative `n` is an error (errno is set).
    pub fn fill(&mut self, f: impl FnOnce(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let n = f(self.buf.as_mut_ptr() as *mut u8, PATH_MAX);
        if n < 0 {
            // SAFETY: this thread's errno slot.
            return Err(Errno(unsafe { *libc::__errno_location() }));
        }
        self.len = (n as usize).min(PATH_MAX - 1);
        Ok(self.len)
    }
    /// Lets `f` append up to the room left (PATH_MAX minus the NUL) directly
    /// into the buffer; returns how many bytes it reported, or the errno of
    /// a negative report.
    pub fn append_with(&mut self, f: impl FnOnce(*mut u8, usize) -> isize) -> Result<usize, Errno> {
        let room = PATH_MAX - 1 - self.len;
        // SAFETY: len < PATH_MAX, so the pointer is inside buf with `room`
        // writable bytes after it.
        let n = f(
            unsafe { (self.buf.as_mut_ptr() as *mut u8).add(self.len) },
            room,
        );
        if n < 0 {
            // SAFETY: this thread's errno slot.
            return Err(Errno(unsafe { *libc::__errno_location() }));
        }
        let n = (n as usize).min(room);
        self.len += n;
        Ok(n)
    }
    /// NUL-terminates and returns the bytes including the NUL, for C.
    #[inline]
    pub fn with_nul(&mut self) -> &[u8] {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = MaybeUninit::new(0);
        }
        // SAFETY: bytes 0..=len are initialized now; len < buf.len().
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const u8, self.len + 1) }
    }
    /// Pointer to the NUL-terminated path, for C calls.
    #[inline]
    pub fn as_ptr(&mut self) -> *const libc::c_char {
        self.with_nul().as_ptr() as *const libc::c_char
    }
}

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
    /// For exec: checks that a NUL-terminated host path is an executable
    /// regular file (ENOENT, EACCES as the kernel would say) and reads up to
    /// `head.len()` bytes of it (0 if it cannot be read: execute-only).
    fn exec_probe(&self, hpath: &[u8], head: &mut [u8]) -> Result<usize, Errno> {
        crate::sys::exec_probe(hpath, head)
    }
}

/// Key of a resolved virtual directory for [`Host::dir_known`]: a fast
/// word-at-a-time hash (FxHash's mixing) of the call class and the path.
#[inline]
pub fn dir_key(class: u32, path: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h = mix(path.len() as u64, class as u64);
    let mut chunks = path.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let mut w = [0u8; 8];
    let rest = chunks.remainder();
    if let Some(dst) = w.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    mix(h, u64::from_le_bytes(w))
}

/// The process-level facts rules may depend on.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub tree: Tree<'a>,
    pub mode: ModeRef<'a>,
    pub binary_name: &'a [u8],
    pub exec_policy: &'a [u8],
    /// Simulated euid is 0 (`-R`): `readonly_fs_if_not_root` is writable.
    pub is_root: bool,
}

/// One mapping request.
#[derive(Clone, Copy, Debug)]
pub struct Req<'p> {
    /// `None` = relative to the cwd; `Some(fd)` = relative to that dirfd.
    pub dirfd: Option<i32>,
    pub path: &'p [u8],
    pub class: u32,
    /// Resolve a symlink in the final component (false for lstat, unlink...).
    pub follow: bool,
    /// The caller lists the directory (opendir): union dirs are synthesized.
    pub want_union: bool,
}

/// How the host path was produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Normal,
    /// A union directory: the host path is the synthesized directory.
    Union,
    /// `/proc`: results (readlink) must be reverse-mapped.
    ProcFs,
}

/// The outcome of a mapping.
#[derive(Clone, Copy)]
pub struct Mapped<'a> {
    /// The deciding rule (None: no rule matched; the path is unmapped).
    pub rule: Option<RuleRef<'a>>,
    pub readonly: bool,
    /// The errno a refused write gets (EROFS unless the rule says).
    pub deny_errno: Errno,
    pub kind: MapKind,
    pub exec_policy: Option<&'a [u8]>,
    /// Non-zero: the request's path, relative to its dirfd (or the cwd),
    /// names the host file as well, and is `out[rel..]` (the mapping left
    /// it as given under a directory that maps to itself). The kernel then walks one
    /// relative name instead of the whole absolute host path.
    pub rel: usize,
}

const MAX_LINKS: u32 = 40;

/// Maps `req` to a host path in `out`; the resolved virtual path is left in
/// `vout`.
pub fn resolve<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    req: &Req,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    if req.path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if req.path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut a = PathBuf::new();
    let mut b = PathBuf::new();
    let (mut rem, mut spare) = (&mut a, &mut b);
    // Stage 1: absolutize.
    let mut fd_is_host = false;
    if req.path.first() != Some(&b'/') {
        match req.dirfd {
            Some(fd) => {
                fd_is_host = host.fd_vpath(fd, rem, out, |h, v| {
                    reverse(ctx, host, h, crate::class::GETCWD, v)
                })?
            }
            None => {
                fd_is_host = match host.cached_cwd(rem) {
                    Some(same) => same,
                    None => {
                        let token = host.dir_token();
                        host.host_cwd(out)?;
                        reverse(ctx, host, out.as_bytes(), crate::class::GETCWD, rem)?;
                        let same = rem.as_bytes() == out.as_bytes();
                        host.cache_cwd(rem.as_bytes(), token, same);
                        same
                    }
                };
            }
        }
        rem.push(b"/")?;
    }
    rem.push(req.path)?;
    let trailing_slash = req.path.len() > 1 && req.path.last() == Some(&b'/');
    // A trailing slash makes lookups follow a final symlink ("dl/" is the
    // directory), but calls that create, remove or rename the name itself
    // must see the name: the kernel then fails with ENOTDIR or EEXIST.
    use crate::class as c;
    let names_itself = req.class & (c::REMOVE | c::RENAME | c::CREAT | c::SYMLINK | c::MKNOD) != 0;
    let follow_final = req.follow || (trailing_slash && !names_itself);
    // A final "." or ".." stays in the host path, so the kernel answers as
    // it would ("file/." is ENOTDIR, rmdir("d/.") EINVAL).
    let mut dot_tail = false;
    // The error the last looked-up component gave (missing, not a dir).
    let mut bad: Option<Errno> = None;

    // Stage 2: walk components, resolving symlinks in the virtual view.
    let res = vout;
    res.clear();
    let mut links = 0u32;
    let mut checking = true;
    let mut pos = 0usize;
    // Fast path: a clean absolute path whose parent directory is known to
    // resolve to itself needs no walk; only its last component may still
    // be a symlink to resolve.
    if let Some(cut) = clean_parent(rem.as_bytes()) {
        let parent = rem.as_bytes().get(..cut).unwrap_or(&[]);
        if parent.is_empty() || host.dir_known(dir_key(req.class, parent)) {
            res.set(parent)?;
            pos = cut;
        }
    }
    'walk: loop {
        let bytes = rem.as_bytes();
        // Next component.
        while bytes.get(pos) == Some(&b'/') {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        while pos < bytes.len() && bytes.get(pos) != Some(&b'/') {
            pos += 1;
        }
        let comp = bytes.get(start..pos).unwrap_or(&[]);
        let is_last = bytes
            .get(pos..)
            .is_none_or(|r| r.iter().all(|c| *c == b'/'));
        dot_tail = is_last && (comp == b"." || comp == b"..");
        if comp == b"." {
            continue;
        }
        if comp == b".." {
            if let Some(e) = bad {
                return Err(e);
            }
            res.pop_component();
            continue;
        }
        let before = res.len();
        res.push(b"/")?;
        res.push(comp)?;
        if !checking || (is_last && !follow_final) {
            continue;
        }
        let key = dir_key(req.class, res.as_bytes());
        if !is_last && host.dir_known(key) {
            bad = None;
            continue;
        }
        // Taken before the lstat, so a change racing with it invalidates
        // what we are about to remember.
        let token = host.dir_token();
        let m = map_clean(ctx, host, res.as_bytes(), req.class, false, out)?;
        if let Some(r) = m.rule {
            if matches!(
                r.action_kind(),
                ACT_FORCE_ORIG | ACT_FORCE_ORIG_UNLESS_CHROOT | ACT_PROCFS
            ) {
                // The kernel resolves from here on (e.g. a host resolv.conf
                // link, or everything in nomap mode). No chroot simulation
                // exists yet, so "unless chroot" is always "force". /proc's
                // links (self, fd/N, cwd, exe) are magic: only the kernel
                // can follow them.
                checking = false;
                continue;
            }
        }
        match host.lstat_kind(out.with_nul()) {
            Ok(Kind::Symlink) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::ELOOP);
                }
                host.readlink(out.with_nul(), spare)?;
                if spare.is_empty() {
                    return Err(Errno::ENOENT);
                }
                let rest = rem.as_bytes().get(pos..).unwrap_or(&[]);
                spare.push(b"/")?;
                spare.push(rest)?;
                if spare.as_bytes().first() == Some(&b'/') {
                    res.clear();
                } else {
                    res.truncate(before);
                }
                core::mem::swap(&mut rem, &mut spare);
                pos = 0;
                bad = None;
                continue 'walk;
            }
            Ok(Kind::Dir) => {
                host.dir_remember(key, token);
                bad = None;
            }
            // A missing component may still have mapped children (virtual
            // directories need not exist on the host), so the walk goes on;
            // but a ".." right after it must fail as in the kernel rather
            // than step over it textually.
            Ok(Kind::Other) => bad = Some(Errno::ENOTDIR),
            Err(e) => bad = Some(e),
        }
    }
    if res.is_empty() {
        res.push(b"/")?;
    }
    // Stages 3 and 4.
    let mut m = map_final(ctx, host, res.as_bytes(), req.class, req.want_union, out)?;
    if dot_tail {
        out.push(b"/.")?;
    } else if trailing_slash && out.as_bytes().last() != Some(&b'/') {
        out.push(b"/")?;
    }
    // No symlink taken and a plain relative name: the virtual path is the
    // dirfd's path + "/" + name; mapped to itself, the host path is too.
    if fd_is_host && links == 0 && plain_relative(req.path) && out.as_bytes() == res.as_bytes() {
        m.rel = out.len() - req.path.len();
    }
    Ok(m)
}

/// A relative path with no empty, `.` or `..` component and no trailing
/// slash.
fn plain_relative(p: &[u8]) -> bool {
    !p.is_empty()
        && p.first() != Some(&b'/')
        && p.split(|c| *c == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// If `p` is absolute with no `//`, no `.` or `..` component and no
/// trailing slash, the index of its last slash (where its parent ends).
#[inline]
fn clean_parent(p: &[u8]) -> Option<usize> {
    if p.len() < 2 || p.first() != Some(&b'/') || p.last() == Some(&b'/') {
        return None;
    }
    let dotty = |c: &[u8]| c.is_empty() || c == b"." || c == b"..";
    let mut last = 0usize;
    for (i, c) in p.iter().enumerate().skip(1) {
        if *c == b'/' {
            if dotty(p.get(last + 1..i).unwrap_or(&[])) {
                return None;
            }
            last = i;
        }
    }
    if dotty(p.get(last + 1..).unwrap_or(&[])) {
        return None;
    }
    Some(last)
}

/// [`map_clean`] for the final path of a request, with the host's cache
/// of rule selections per parent directory ([`Host::rule_cached`]): the
/// trie walk and the candidate scan are skipped when a sibling already
/// showed that one rule decides the whole directory.
fn map_final<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    vpath: &[u8],
    class: u32,
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let cut = vpath.iter().rposition(|c| *c == b'/').unwrap_or(0);
    let parent = vpath.get(..cut).unwrap_or(&[]);
    let key = dir_key(class ^ 0x5b2_0000, parent);
    let rule = match host.rule_cached(key) {
        Some(0) => None,
        Some(off) => Some(ctx.tree.rule_at(off)),
        None => {
            let who = Caller {
                class,
                binary_name: ctx.binary_name,
            };
            let depth = parent
                .split(|c| *c == b'/')
                .filter(|c| !c.is_empty())
                .count();
            let (r, uniform) = lookup::find_for_dir(&ctx.mode.fs_rules(), vpath, &who, depth);
            if uniform {
                host.rule_remember(key, r.map_or(0, |r| r.id()));
            }
            r
        }
    };
    map_with(ctx, host, rule, vpath, want_union, out)
}

/// Maps an already clean, resolved virtual path (no symlink resolution).
pub fn map_clean<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    vpath: &[u8],
    class: u32,
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let who = Caller {
        class,
        binary_name: ctx.binary_name,
    };
    let rule = lookup::find(&ctx.mode.fs_rules(), vpath, &who);
    map_with(ctx, host, rule, vpath, want_union, out)
}

/// Applies the deciding rule (None: the path is unmapped).
fn map_with<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    rule: Option<RuleRef<'a>>,
    vpath: &[u8],
    want_union: bool,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let Some(rule) = rule else {
        out.set(vpath)?;
        return Ok(Mapped {
            rule: None,
            readonly: false,
            deny_errno: Errno::EROFS,
            kind: MapKind::Normal,
            exec_policy: None,
            rel: 0,
        });
    };
    match apply(ctx, host, rule, rule, vpath, want_union, 0, out) {
        Err(Errno::EAGAIN_NEXT) => Err(Errno::ENOENT),
        other => other,
    }
}

/// A rule's write protection (flags `fl`, its own and its parents'):
/// read-only, and the errno a refused write gets.
fn protect(ctx: &Ctx, fl: u8, m: &mut Mapped) {
    m.readonly =
        fl & flags::READONLY != 0 || (fl & flags::READONLY_IF_NOT_ROOT != 0 && !ctx.is_root);
    m.deny_errno = if fl & flags::DENY_EACCES != 0 {
        Errno::EACCES
    } else if fl & flags::DENY_EPERM != 0 {
        Errno(libc::EPERM)
    } else {
        Errno::EROFS
    };
}

#[allow(clippy::too_many_arguments)]
fn apply<'a, H: Host>(
    ctx: &Ctx<'a>,
    host: &H,
    top: RuleRef<'a>,
    r: RuleRef<'a>,
    vpath: &[u8],
    want_union: bool,
    depth: u32,
    out: &mut PathBuf,
) -> Result<Mapped<'a>, Errno> {
    let fl = top.flags() | r.flags();
    let mut m = Mapped {
        rule: Some(top),
        readonly: false,
        deny_errno: Errno::EROFS,
        kind: MapKind::Normal,
        exec_policy: r.exec_policy_name().or(top.exec_policy_name()),
        rel: 0,
    };
    protect(ctx, fl, &mut m);
    let sel_len = top.selector().len().min(vpath.len());
    let rest = vpath.get(sel_len..).unwrap_or(&[]);
    match r.action_kind() {
        ACT_USE_ORIG | ACT_FORCE_ORIG | ACT_FORCE_ORIG_UNLESS_CHROOT => out.set(vpath)?,
        ACT_PROCFS => {
            out.set(vpath)?;
            m.kind = MapKind::ProcFs;
        }
        ACT_MAP_TO => map_to(r.action_str(), vpath, out)?,
        ACT_REPLACE_BY => replace_by(r.action_str(), rest, out)?,
        ACT_SET_PATH => out.set(r.action_str())?,
        ACT_MAP_TO_ENV | ACT_REPLACE_BY_ENV => env_action(host, &r, vpath, rest, out)?,
        ACT_UNION_DIR => {
            if want_union {
                let sd = ctx.tree.constant(b"session_dir").unwrap_or(b"/tmp");
                out.set(sd)?;
                out.push(b"/union")?;
                out.push(vpath)?;
                m.kind = MapKind::Union;
            } else {
                // Outside a listing, the directory is its first component.
                let first = r.union_dirs().next().unwrap_or(vpath);
                out.set(first)?;
                out.push(rest)?;
            }
        }
        ACT_ACTIONS | ACT_IF_EXISTS_IN => {
            if depth > 8 {
                return Err(Errno::ELOOP);
            }
            if r.action_kind() == ACT_IF_EXISTS_IN {
                map_to(r.action_str(), vpath, out)?;
                if !host.exists(out.with_nul()) {
                    return Err(Errno::EAGAIN_NEXT);
                }
            }
            for c in r.sublist().iter() {
                if !condition_holds(ctx, host, &c) {
                    continue;
                }
                match c.action_kind() {
                    ACT_IF_EXISTS_MAP_TO => {
                        map_to(c.action_str(), vpath, out)?;
                        if !host.exists(out.with_nul()) {
                            continue;
                        }
                        protect(ctx, fl | c.flags(), &mut m);
                        return Ok(m);
                    }
                    ACT_IF_EXISTS_REPLACE_BY => {
                        replace_by(c.action_str(), rest, out)?;
                        if !host.exists(out.with_nul()) {
                            continue;
                        }
                        protect(ctx, fl | c.flags(), &mut m);
                        return Ok(m);
                    }
                    _ => match apply(ctx, host, top, c, vpath, want_union, depth + 1, out) {
                        Err(Errno::EAGAIN_NEXT) => continue,
                        other => {
                            let mut mm = other?;
                            if !mm.readonly {
                                protect(ctx, fl | c.flags(), &mut mm);
                            }
                            return Ok(mm);
                        }
                    },
                }
            }
            if r.action_kind() == ACT_IF_EXISTS_IN {
                return Err(Errno::EAGAIN_NEXT);
            }
            // Scratchbox2: "End of conditional action list" is an error.
            return Err(Errno::ENOENT);
        }
        _ => out.set(vpath)?,
    }
    Ok(m)
}

impl Errno {
    /// Internal: an `if_exists_in` candidate did not apply; try the next one.
    const EAGAIN_NEXT: Errno = Errno(-11);
}

#[inline(never)] // cold, and keeps its buffer out of the hot frame
fn condition_holds<H: Host>(ctx: &Ctx, host: &H, c: &RuleRef) -> bool {
    let s = c.condition_str();
    match c.condition_kind() {
        COND_NONE => true,
        COND_EXEC_POLICY => ctx.exec_policy == s,
        COND_REDIRECT_IGNORE | COND_REDIRECT_FORCE => {
            let var: &[u8] = if c.condition_kind() == COND_REDIRECT_IGNORE {
                b"SBOX_REDIRECT_IGNORE"
            } else {
                b"SBOX_REDIRECT_FORCE"
            };
            let mut v = PathBuf::new();
            host.getenv(var, &mut v) && v.as_bytes().split(|c| *c == b':').any(|p| p == s)
        }
        COND_ENV_NOT_EMPTY | COND_ENV_EMPTY => {
            let mut v = PathBuf::new();
            let set = host.getenv(s, &mut v) && !v.is_empty();
            set == (c.condition_kind() == COND_ENV_NOT_EMPTY)
        }
        _ => false,
    }
}

/// `map_to P`: P glued in front of the whole path ("/" or "" = unchanged).
/// `map_to_value_of_env_var` / `replace_by_value_of_env_var` (unset:
/// unchanged).
#[inline(never)]
fn env_action<H: Host>(
    host: &H,
    r: &RuleRef,
    vpath: &[u8],
    rest: &[u8],
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let mut val = PathBuf::new();
    if !host.getenv(r.action_str(), &mut val) {
        out.set(vpath)
    } else if r.action_kind() == ACT_MAP_TO_ENV {
        map_to(val.as_bytes(), vpath, out)
    } else {
        replace_by(val.as_bytes(), rest, out)
    }
}

fn map_to(p: &[u8], vpath: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
    if p.is_empty() || p == b"/" {
        return out.set(vpath);
    }
    out.set(p.strip_suffix(b"/").unwrap_or(p))?;
    if vpath != b"/" {
        out.push(vpath)?;
    }
    Ok(())
}

/// `replace_by R`: R in place of the selected part.
fn replace_by(r: &[u8], rest: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
    out.set(r)?;
    if r.ends_with(b"/") && rest.first() == Some(&b'/') {
        out.push(rest.get(1..).unwrap_or(&[]))?;
    } else {
        out.push(rest)?;
    }
    if out.is_empty() {
        out.push(b"/")?;
    }
    Ok(())
}

/// Host path → virtual path (getcwd, realpath, `/proc/self/{exe,cwd,fd/N}`).
///
/// Every reverse rule whose host selector matches is a candidate; a
/// candidate counts only if mapping its result forward gives `hpath` back,
/// and the one with the longest host selector wins. No candidate: the host
/// path is returned as is.
#[inline(never)] // keeps its two buffers out of callers' frames
pub fn reverse<H: Host>(
    ctx: &Ctx,
    host: &H,
    hpath: &[u8],
    class: u32,
    out: &mut PathBuf,
) -> Result<(), Errno> {
    let rev = ctx.mode.rev_rules();
    let who = Caller {
        class: u32::MAX,
        binary_name: ctx.binary_name,
    };
    let mut best_len: Option<usize> = None;
    let mut after = None;
    let mut cand = PathBuf::new();
    let mut fwd = PathBuf::new();
    while let Some((i, r)) = lookup::find_after(&rev, hpath, &who, after) {
        after = Some(i);
        let sel = r.selector();
        if best_len.is_some_and(|b| b >= sel.len()) {
            continue;
        }
        replace_by(
            r.action_str(),
            hpath.get(sel.len()..).unwrap_or(&[]),
            &mut cand,
        )?;
        if map_clean(ctx, host, cand.as_bytes(), class, false, &mut fwd).is_ok()
            && same_path(fwd.as_bytes(), hpath)
        {
            out.set(cand.as_bytes())?;
            best_len = Some(sel.len());
        }
    }
    if best_len.is_none() {
        out.set(hpath)?;
    }
    Ok(())
}

fn same_path(a: &[u8], b: &[u8]) -> bool {
    let trim = |p: &[u8]| -> usize {
        let mut n = p.len();
        while n > 1 && p.get(n - 1) == Some(&b'/') {
            n -= 1;
        }
        n
    };
    a.get(..trim(a)) == b.get(..trim(b))
}
