//! Kernel-enforced guarantees behind the preload's answers. The preload
//! sees only what dynamically linked programs do through libc; statically
//! linked programs, raw system calls and target programs under qemu (whose
//! system calls are qemu's own) pass it by. For those, the first command
//! is restricted before it starts, and everything it starts inherits it:
//!
//! - `--allow-write`: Landlock lets write-type accesses (write, create,
//!   truncate, rename, link, remove) happen only beneath the allowed
//!   directories, the session directory (with its private tmp), sb2's own
//!   log and trace files, the files the command's standard streams are, and
//!   the device nodes the preload allows too. Reading stays unrestricted.
//!   Landlock does not govern chmod, chown, utimes or xattrs.
//! - `-n offline`: Landlock's TCP rules (ABI 4) refuse every connect and
//!   bind; where a network namespace can be made (as root, or in a user
//!   namespace of our own), the command gets one with no interface up, so
//!   UDP and raw sockets reach nothing either.
//!
//! Dynamic programs still get the preload's answer first (EROFS, EPERM and
//! a violation); the kernel's (EACCES) is for the rest. The ruleset is
//! built before the fork; the child only makes system calls (prctl,
//! landlock_restrict_self, unshare, writes of prepared id maps).

use super::cow::write_file;
use anyhow::Result;
use landlock::{
    AccessFs, AccessNet, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Device nodes writable in every session (the preload's list).
const DEVICES: [&str; 5] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
];

/// What the session asks the kernel for.
pub struct Want<'a> {
    /// `--allow-write` directories (canonical); empty: no write guarantee.
    pub allow_write: Vec<PathBuf>,
    pub session_dir: &'a Path,
    /// sb2's own files the session's processes write (log, trace).
    pub own_files: Vec<PathBuf>,
    pub offline: bool,
    /// The target's binfmt_misc entry (name, registration) when its
    /// programs run through qemu: made here, before Landlock, which
    /// forbids the mount the preload would otherwise do in qemu.
    pub binfmt: Option<(String, String)>,
    /// The ids target programs see (sb2 -R's virtual ones, else ours).
    pub ids: (u32, u32),
}

/// The restrictions prepared for the first command, and what they are.
pub struct Guard {
    ruleset: Option<OwnedFd>,
    netns: bool,
    /// uid_map and gid_map lines: ours to ourselves; for binfmt, root to
    /// us (outer) and the target's ids to root (inner).
    id_maps: [Vec<u8>; 6],
    binfmt: Option<Vec<u8>>,
    pipe: Option<(OwnedFd, OwnedFd)>,
    /// One line per guarantee: what the kernel enforces, or why it cannot.
    pub said: Vec<String>,
}

/// The running kernel's Landlock ABI version (0: none).
pub fn landlock_abi() -> i64 {
    // SAFETY: landlock_create_ruleset(NULL, 0, VERSION) only returns the
    // version (or fails); it reads no memory.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    v.max(0)
}

impl<'a> Want<'a> {
    /// What a session's ruletree asks for (a new session's or one joined
    /// with -J): its allow-write list, its network mode, sb2's own log and
    /// trace files, its target's binfmt_misc entry; `ids` are the ids its
    /// target programs see.
    pub fn of_session(dir: &'a Path, ids: (u32, u32)) -> Result<Want<'a>> {
        use sb2_ruletree::contract::key;
        let data = super::spawn::read_tree(dir)?;
        let tree = super::spawn::parse_tree(dir, &data)?;
        let text = |k: &str| {
            tree.constant(k.as_bytes())
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .filter(|v| !v.is_empty())
        };
        let mut own_files = Vec::new();
        if let Some(l) = text(key::LOG_FILE) {
            // Made now, so that a rule can name it.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&l)?;
            own_files.push(PathBuf::from(l));
        }
        own_files.extend(text(key::TRACE_FILE).map(PathBuf::from));
        Ok(Want {
            allow_write: text(key::ALLOW_WRITE)
                .map(|l| l.lines().map(PathBuf::from).collect())
                .unwrap_or_default(),
            session_dir: dir,
            own_files,
            offline: sb2_ruletree::net::Net::of(tree).is_some_and(|n| n.name() == b"offline"),
            binfmt: text(key::BINFMT_NAME).zip(text(key::BINFMT_REGISTER)),
            ids,
        })
    }
}

impl Guard {
    pub fn new(w: &Want) -> Result<Guard> {
        let abi = landlock_abi();
        let mut said = Vec::new();
        let writes = !w.allow_write.is_empty();
        let mut ruleset = None;
        if writes || w.offline {
            if abi == 0 {
                said.push(
                    "not kernel-enforced: this kernel has no Landlock (the preload's checks only)"
                        .to_string(),
                );
            } else {
                let mut r = Ruleset::default();
                if writes {
                    r = r.handle_access(AccessFs::from_write(ABI::V4))?;
                }
                let net = w.offline && abi >= 4;
                if net {
                    r = r.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
                }
                let mut c = r.create()?;
                if writes {
                    let all = AccessFs::from_write(ABI::V4);
                    let mut dirs: Vec<&Path> = w.allow_write.iter().map(|p| p.as_path()).collect();
                    dirs.push(w.session_dir);
                    for d in dirs {
                        c = c.add_rule(PathBeneath::new(open_dir(d)?, all))?;
                    }
                    // Files: their file rights only (the kernel refuses a
                    // directory's on a file).
                    let file = AccessFs::WriteFile | AccessFs::Truncate;
                    let mut files: Vec<PathBuf> = DEVICES.iter().map(PathBuf::from).collect();
                    files.extend(w.own_files.iter().cloned());
                    // What the command's standard streams are: a shell may
                    // reopen them by name (/dev/stdout, /proc/self/fd/1).
                    files.extend((0..3).map(|fd| PathBuf::from(format!("/proc/self/fd/{fd}"))));
                    for f in files {
                        use std::os::unix::fs::FileTypeExt;
                        // Files and devices (a pipe or socket is no path).
                        let Ok(t) = std::fs::metadata(&f).map(|m| m.file_type()) else {
                            continue;
                        };
                        if !(t.is_file() || t.is_char_device()) {
                            continue;
                        }
                        if let Ok(fd) = PathFd::new(&f) {
                            c = c.add_rule(PathBeneath::new(fd, file))?;
                        }
                    }
                    if let Ok(fd) = PathFd::new("/dev/pts") {
                        c = c.add_rule(PathBeneath::new(fd, file))?;
                    }
                    said.push(format!(
                        "kernel-enforced: writes only beneath the allowed directories (Landlock ABI {abi})"
                    ));
                }
                if net {
                    said.push(format!(
                        "kernel-enforced: no TCP connect or bind (Landlock ABI {abi})"
                    ));
                } else if w.offline {
                    said.push(format!(
                        "not kernel-enforced: TCP (Landlock ABI {abi} has no network rules; 4 and later have)"
                    ));
                }
                ruleset = Option::<OwnedFd>::from(c);
            }
        }
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let m = |a: u32, b: u32| format!("{a} {b} 1").into_bytes();
        let (iu, ig) = w.ids;
        let binfmt = match (&w.binfmt, &ruleset) {
            (Some((name, reg)), Some(_))
                if !Path::new("/proc/sys/fs/binfmt_misc").join(name).exists() =>
            {
                Some(reg.as_bytes().to_vec())
            }
            _ => None,
        };
        Ok(Guard {
            ruleset,
            netns: w.offline,
            id_maps: [
                m(uid, uid),
                m(gid, gid),
                m(0, uid),
                m(0, gid),
                m(iu, 0),
                m(ig, 0),
            ],
            binfmt,
            pipe: None,
            said,
        })
    }

    /// Whether anything is to be done in the child.
    pub fn active(&self) -> bool {
        self.ruleset.is_some() || self.netns
    }

    /// Restricts the command before it starts (after `-c`'s namespace
    /// setup, which Landlock would forbid: it refuses mounts). Returns the
    /// read end of a pipe on which the child reports a network namespace it
    /// could not make.
    pub fn attach(&mut self, cmd: &mut Command) -> Result<()> {
        if !self.active() {
            return Ok(());
        }
        let (rd, wr) = pipe()?;
        let ruleset = self.ruleset.as_ref().map(|f| f.as_raw_fd());
        let netns = self.netns;
        let maps = self.id_maps.clone();
        let binfmt = self.binfmt.clone();
        let report = wr.as_raw_fd();
        self.pipe = Some((rd, wr));
        // SAFETY: the closure runs in the forked child and only makes
        // system calls on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let map = |u: &[u8], g: &[u8]| {
                    write_file(c"/proc/self/setgroups", b"deny")
                        && write_file(c"/proc/self/uid_map", u)
                        && write_file(c"/proc/self/gid_map", g)
                };
                let mut caps = false;
                if let Some(reg) = &binfmt {
                    // As the preload does in qemu (exec/binfmt.rs): root in
                    // an outer user namespace mounts and registers
                    // binfmt_misc; an inner one maps back to the ids
                    // target programs see.
                    let ok = libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) == 0
                        && map(&maps[2], &maps[3])
                        && libc::mount(
                            c"binfmt_misc".as_ptr(),
                            c"/proc/sys/fs/binfmt_misc".as_ptr(),
                            c"binfmt_misc".as_ptr(),
                            0,
                            std::ptr::null(),
                        ) == 0
                        && write_file(c"/proc/sys/fs/binfmt_misc/register", reg)
                        && libc::unshare(libc::CLONE_NEWUSER) == 0
                        && map(&maps[4], &maps[5]);
                    if !ok {
                        libc::write(report, b"b".as_ptr().cast(), 1);
                    }
                    caps = ok;
                }
                if netns && libc::unshare(libc::CLONE_NEWNET) != 0 {
                    // Not privileged: a user namespace of our own, mapping
                    // us to ourselves, owns the new network namespace.
                    let ok = !caps
                        && libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0
                        && map(&maps[0], &maps[1]);
                    if !ok {
                        libc::write(report, b"n".as_ptr().cast(), 1);
                    }
                }
                if let Some(fd) = ruleset {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                        || libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// After the spawn: what the child reported, added to what was said.
    pub fn collect(&mut self) {
        let Some((rd, wr)) = self.pipe.take() else {
            return;
        };
        drop(wr);
        let mut b = [0u8; 4];
        // SAFETY: reading into our buffer; the fd is non-blocking.
        let n = unsafe { libc::read(rd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
        let got = &b[..n.max(0) as usize];
        if got.contains(&b'b') {
            self.said.push("target programs cannot start other target programs: binfmt_misc could not be made in a user namespace before Landlock".into());
        }
        if self.netns {
            self.said.push(if got.contains(&b'n') {
                "not kernel-enforced: UDP and raw sockets (no network namespace: user namespaces are refused here)".into()
            } else {
                "kernel-enforced: a network namespace with no interface up (UDP, raw sockets)"
                    .into()
            });
        }
    }
}

/// An allowed directory, opened for a Landlock rule. A directory below
/// the current one whose parents we cannot search (the kernel lets us in
/// by the cwd, not by name) is reached through `/proc/self/cwd`.
fn open_dir(d: &Path) -> Result<PathFd> {
    match PathFd::new(d) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            let cwd = std::env::current_dir()
                .ok()
                .or_else(|| std::fs::read_link("/proc/self/cwd").ok());
            let rest = cwd.as_deref().and_then(|c| d.strip_prefix(c).ok());
            match rest {
                Some(r) => Ok(PathFd::new(Path::new("/proc/self/cwd").join(r))?),
                None => Err(anyhow::anyhow!("--allow-write {}: {e}", d.display())),
            }
        }
    }
}

/// A close-on-exec, non-blocking pipe.
fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: both fds are new and ours.
    Ok(unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    })
}
