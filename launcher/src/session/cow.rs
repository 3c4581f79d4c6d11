//! `sb2 -c`: the session's private copy-on-write view of the target root.
//!
//! The layer is made by the kernel, not by the preload: target programs
//! run by qemu and statically linked programs make raw system calls, and
//! their writes must land in the layer too. The session's first command
//! is started in a new user namespace (the user's own uid and gid mapped
//! to themselves, so ids do not change) and mount namespace, where an
//! overlayfs is mounted over the target root's own path: lowerdir the
//! target root, upperdir and workdir in the session directory
//! (`cow/upper`, `cow/work`). Every path, and so every mapping rule and
//! the preload, stays as it is; no file is copied until it is written.
//! Every process of the session inherits the namespace; sb2 itself stays
//! outside it, so the layer can be removed (or kept, `-S`) when the
//! command ends while a leftover background process still writes into
//! its own view, never into the target.
//!
//! The namespaces are made in the forked child just before exec: a
//! process must be single-threaded to enter a user namespace, and the
//! mount needs the capabilities the namespace gives, which an exec by a
//! non-root uid drops. Which step failed comes back through a pipe, so
//! that a refusal (sysctl, AppArmor) is one line naming cause and fix,
//! and the command never runs without its layer.
//!
//! Tearing down a mount namespace that holds an overlay takes the exiting
//! process tens of milliseconds (the kernel waits for RCU grace periods),
//! and the exit status is only reported after it. So the child also
//! leaves a keeper process in the namespace, an unwaited child of sb2
//! outside the terminal's process group, holding no fd but the read end
//! of a pipe whose write end only sb2 holds: the command's exit is then
//! not the namespace's last reference and is as quick as without `-c`;
//! the keeper exits when sb2 does, and the teardown happens in it, waited
//! for by nobody (its parent is then init, or the nearest subreaper).

use crate::cli;
use anyhow::{anyhow, bail, Context, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The layer's directory in the session directory.
const COW_DIR: &str = "cow";
/// Records the path the layer lies over, for `-J`.
const ROOT_FILE: &str = "cow/root";

/// A session's layer: what the child mounts, and where.
pub struct Layer {
    /// The target root: the lower layer and the mount point.
    root: PathBuf,
    /// The overlay's mount options.
    options: CString,
}

/// Refuses `-c` before anything is made when the target root is `/` or
/// would hold the session directory, whose parent is `parent` (making it
/// there would change the root it must leave untouched).
pub fn check(root: &str, parent: &Path) -> Result<()> {
    let canon = canonical_root(root)?;
    if parent.canonicalize().is_ok_and(|p| p.starts_with(&canon)) {
        return Err(overlap(parent, &canon));
    }
    Ok(())
}

fn canonical_root(root: &str) -> Result<PathBuf> {
    let canon = Path::new(root)
        .canonicalize()
        .with_context(|| format!("-c: the target root {root}"))?;
    if canon == Path::new("/") {
        return Err(cli::usage(
            "-c overlays a target's root file system, and this target's root is / \
             (the host target); choose a target with -t",
        ));
    }
    Ok(canon)
}

fn overlap(dir: &Path, root: &Path) -> anyhow::Error {
    cli::usage(format!(
        "-c: the session directory (in {}) and the target root {} overlap; \
         give a session directory elsewhere with -W DIR",
        dir.display(),
        root.display()
    ))
}

/// Makes the layer of a new session in `dir` over the target root `root`.
pub fn create(dir: &Path, root: &str) -> Result<Layer> {
    let canon = canonical_root(root)?;
    let dir_canon = dir.canonicalize()?;
    if dir_canon.starts_with(&canon) || canon.starts_with(&dir_canon) {
        return Err(overlap(dir, &canon));
    }
    for sub in ["upper", "work"] {
        std::fs::create_dir_all(dir.join(COW_DIR).join(sub))?;
    }
    // The overlay's root directory takes its attributes from upperdir:
    // give it the target root's mode so that the view's / looks as it did.
    let mode = std::fs::metadata(&canon)?.permissions().mode() & 0o7777;
    std::fs::set_permissions(
        dir.join(COW_DIR).join("upper"),
        std::fs::Permissions::from_mode(mode | 0o700),
    )?;
    std::fs::write(dir.join(ROOT_FILE), canon.as_os_str().as_bytes())?;
    layer(dir, canon)
}

/// The layer of an existing (persistent, `-J`) session, if it has one.
pub fn of_session(dir: &Path) -> Result<Option<Layer>> {
    match std::fs::read(dir.join(ROOT_FILE)) {
        Ok(root) => layer(dir, PathBuf::from(std::ffi::OsStr::from_bytes(&root))).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("session {}", dir.display())),
    }
}

fn layer(dir: &Path, root: PathBuf) -> Result<Layer> {
    let d = dir.join(COW_DIR);
    let options = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        escape(&root),
        escape(&d.join("upper")),
        escape(&d.join("work"))
    );
    Ok(Layer {
        options: CString::new(options).map_err(|_| anyhow!("-c: a path holds a NUL byte"))?,
        root,
    })
}

/// A path in overlayfs's options: `,` separates options and `:` lower
/// layers, so both (and the escape itself) are backslash-escaped.
fn escape(p: &Path) -> String {
    let mut s = String::new();
    for c in p.to_string_lossy().chars() {
        if matches!(c, ',' | ':' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// The steps of the child's setup, as reported through the pipe.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Step {
    Unshare = 1,
    Setgroups,
    UidMap,
    GidMap,
    Mount,
}

/// The setup of one spawn: the layer, the id map lines and the report
/// pipe, all prepared before the fork so the child only makes system
/// calls.
pub struct Setup {
    root: CString,
    options: CString,
    cwd: Option<CString>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// Read and write ends; close-on-exec, so the command never has them.
    pipe: [libc::c_int; 2],
    /// The keeper's pipe (see the module doc): read end, write end.
    keep: [libc::c_int; 2],
}

impl Setup {
    pub fn new(layer: &Layer) -> Result<Setup> {
        let mut pipe = [-1; 2];
        let mut keep = [-1; 2];
        // SAFETY: pipe2 fills the arrays.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0
            || unsafe { libc::pipe2(keep.as_mut_ptr(), libc::O_CLOEXEC) } != 0
        {
            return Err(std::io::Error::last_os_error()).context("-c: pipe");
        }
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
        Ok(Setup {
            root: c(&layer.root).ok_or_else(|| anyhow!("-c: a path holds a NUL byte"))?,
            options: layer.options.clone(),
            // The cwd is looked up again after the mount: if it lies in the
            // target root, the command must start in the view, not below it.
            cwd: std::env::current_dir().ok().and_then(|d| c(&d)),
            uid_map: format!("{uid} {uid} 1").into_bytes(),
            gid_map: format!("{gid} {gid} 1").into_bytes(),
            pipe,
            keep,
        })
    }

    /// Makes `cmd` enter the namespaces and mount the layer before exec.
    pub fn attach(&self, cmd: &mut Command) {
        let (root, options) = (self.root.as_ptr() as usize, self.options.as_ptr() as usize);
        let cwd = self.cwd.as_ref().map(|c| c.as_ptr() as usize);
        let (uid_map, gid_map) = (self.uid_map.clone(), self.gid_map.clone());
        let report = self.pipe[1];
        let keep = self.keep[0];
        // SAFETY: the closure runs in the forked child and only makes
        // system calls on data prepared before the fork (the pointers
        // point into `self`, which outlives the spawn).
        unsafe {
            cmd.pre_exec(move || {
                let fail = |step: Step| {
                    let errno = std::io::Error::last_os_error();
                    let n = errno.raw_os_error().unwrap_or(0);
                    let mut msg = [0u8; 5];
                    msg[0] = step as u8;
                    msg[1..].copy_from_slice(&n.to_ne_bytes());
                    libc::write(report, msg.as_ptr().cast(), msg.len());
                    Err(errno)
                };
                if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                    return fail(Step::Unshare);
                }
                if !write_file(c"/proc/self/setgroups", b"deny") {
                    return fail(Step::Setgroups);
                }
                if !write_file(c"/proc/self/uid_map", &uid_map) {
                    return fail(Step::UidMap);
                }
                if !write_file(c"/proc/self/gid_map", &gid_map) {
                    return fail(Step::GidMap);
                }
                let root = root as *const libc::c_char;
                if libc::mount(
                    c"overlay".as_ptr(),
                    root,
                    c"overlay".as_ptr(),
                    0,
                    options as *const libc::c_void,
                ) != 0
                {
                    return fail(Step::Mount);
                }
                if let Some(cwd) = cwd {
                    libc::chdir(cwd as *const libc::c_char);
                }
                leave_keeper(keep);
                Ok(())
            });
        }
    }

    /// After a failed spawn: the setup's failure as one line (cause and
    /// fix), if the setup is what failed.
    pub fn failure(&self) -> Option<anyhow::Error> {
        let mut msg = [0u8; 5];
        // SAFETY: reading into our buffer from our non-blocking pipe.
        let n = unsafe { libc::read(self.pipe[0], msg.as_mut_ptr().cast(), msg.len()) };
        if n != msg.len() as isize {
            return None;
        }
        let errno = i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]);
        let err = std::io::Error::from_raw_os_error(errno);
        let root = String::from_utf8_lossy(self.root.as_bytes());
        let off = "or run without -c";
        Some(match msg[0] {
            s if s == Step::Unshare as u8 => match errno {
                libc::ENOSPC => anyhow!(
                    "-c: cannot create a user namespace ({err}): user namespaces are off or used up \
                     (raise the sysctl user.max_user_namespaces), {off}"
                ),
                _ => anyhow!(
                    "-c: cannot create a user namespace ({err}): unprivileged user namespaces are \
                     refused (allow them: sysctl kernel.unprivileged_userns_clone=1, or the \
                     AppArmor/SELinux policy), {off}"
                ),
            },
            s if s == Step::Mount as u8 && !matches!(errno, libc::EPERM | libc::EACCES) => anyhow!(
                "-c: cannot mount the overlay over {root} ({err}): the target root and the session \
                 directory must be directories on file systems overlayfs takes (the session \
                 directory's with user xattrs), {off}"
            ),
            s if s == Step::Mount as u8 => anyhow!(
                "-c: cannot mount the overlay over {root} ({err}): the kernel refuses unprivileged \
                 overlayfs in a user namespace (it needs Linux 5.11+ and no AppArmor restriction: \
                 sysctl kernel.apparmor_restrict_unprivileged_userns=0), {off}"
            ),
            _ => anyhow!(
                "-c: cannot map your user and group ids in the new user namespace ({err}): user \
                 namespaces are restricted here (AppArmor: sysctl \
                 kernel.apparmor_restrict_unprivileged_userns=0), {off}"
            ),
        })
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // The keeper's write end stays open until sb2 exits, after the
        // layer was removed or saved: the keeper's teardown then never
        // races with that.
        for fd in [self.pipe[0], self.pipe[1], self.keep[0]] {
            // SAFETY: our own fds, closed once.
            unsafe { libc::close(fd) };
        }
    }
}

/// In the forked child, after the mount: starts the keeper (see the
/// module doc) as sb2's child, not the command's (CLONE_PARENT), so that
/// a shell's `wait` never waits for it; sb2 does not wait for it either.
/// One clone, not a double fork: this is on every `-c` session's start.
///
/// # Safety
/// Only in a single-threaded forked child; `keep` is the keeper pipe's
/// read end.
unsafe fn leave_keeper(keep: libc::c_int) {
    // SAFETY: see the function's contract. Like fork() (no new stack),
    // and the keeper makes only raw system calls.
    unsafe {
        let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
        if libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) != 0 {
            return;
        }
        // Out of the terminal's process group: ^C is for the command.
        libc::setsid();
        // Every fd but the pipe's read end: an inherited stdout would keep
        // a reader of the command's output waiting.
        if keep > 0 {
            libc::close_range(0, keep as u32 - 1, 0);
        }
        libc::close_range(keep as u32 + 1, u32::MAX, 0);
        let mut b = 0u8;
        while libc::read(keep, (&mut b as *mut u8).cast(), 1) < 0
            && *libc::__errno_location() == libc::EINTR
        {}
        libc::_exit(0);
    }
}

/// Writes `data` to a /proc file with raw calls (in a forked child).
pub(super) fn write_file(path: &std::ffi::CStr, data: &[u8]) -> bool {
    // SAFETY: NUL-terminated path; our buffer.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        libc::close(fd);
        n == data.len() as isize
    }
}

/// Before a session directory is removed: overlayfs leaves `work/work`
/// with mode 0, which would make the removal fall back to `chmod -R`.
pub fn make_removable(dir: &Path) {
    let _ = std::fs::set_permissions(
        dir.join(COW_DIR).join("work/work"),
        std::fs::Permissions::from_mode(0o700),
    );
}

/// `-c` with `-J`: the session must have a layer (it is made with `-S`).
pub fn check_join(layer: &Option<Layer>, f: &Path) -> Result<()> {
    if layer.is_none() {
        bail!(
            "-c: session {} has no copy-on-write layer (it is made with -S FILE -c); join it without -c",
            f.display()
        );
    }
    Ok(())
}
