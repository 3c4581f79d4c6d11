//! The exec pipeline (DESIGN §7), shared by the preload's exec hooks and
//! `sb2-show exec`: what a session runs when a program execs `path`.
//!
//! 1. PATH search in the virtual view (execvp and friends);
//! 2. argv rewrites (toolchain: `gcc` → the cross compiler, `host-gcc` →
//!    the host's, unmapped);
//! 3. the program path mapped with the EXEC class;
//! 4. its head inspected: `#!` scripts get their interpreter mapped and
//!    inspected in turn (`#!/usr/bin/env X` looks X up itself); ELF of the
//!    host machine runs directly, or through its policy root's ld.so; ELF of
//!    the target machine runs through the CPU transparency command (qemu
//!    user mode) with the target root as library prefix and argv[0] kept;
//!    anything else goes to the kernel as it is, which gives its errno.
//!
//! The result is a [`Plan`]: the host file to execve, the argv items that
//! replace the caller's argv[0], the tail to append and the environment to
//! add. No allocation: a plan lives on the stack (it runs in vfork
//! children).

use crate::format::{ArgvModRef, PolicyRef};
use crate::mapping::{self, Ctx, Host, PathBuf, Req};
use crate::{class, lookup, Errno};

/// How the program will run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Dynamic ELF of the host machine, exec'd directly.
    Host,
    /// Dynamic ELF of the host machine, started by a policy root's ld.so.
    RootLoader,
    /// Statically linked ELF of the host machine: runs, cannot be followed.
    Static,
    /// ELF of the target machine, run by the CPU transparency command.
    Target,
    /// Not recognized: handed to the kernel, which decides.
    Unknown,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Host => "host ELF (direct)",
            Kind::RootLoader => "host-machine ELF started by its root's ld.so",
            Kind::Static => "static host ELF (not interceptable)",
            Kind::Target => "target ELF (CPU transparency)",
            Kind::Unknown => "not ELF or script (kernel decides)",
        }
    }
}

const ARENA: usize = 3 * crate::PATH_MAX + 2048;
const MAX_ITEMS: usize = 16;
/// Nested `#!` interpreters the kernel accepts (BINPRM_MAX_RECURSION).
const MAX_SCRIPTS: usize = 4;
/// Bytes of a file inspected: the `#!` line or the ELF header and, almost
/// always, its program headers.
pub const HEAD: usize = 1024;

/// A list of byte strings in a fixed arena. Not zeroed: a plan lives on
/// the stack of the exec'ing process (often a fork child, where every page
/// written is a copy-on-write fault), so only the bytes used are touched.
pub struct Items {
    buf: [core::mem::MaybeUninit<u8>; ARENA],
    used: usize,
    at: [(u32, u32); MAX_ITEMS],
    n: usize,
}

impl Default for Items {
    fn default() -> Self {
        Items::new()
    }
}

impl Items {
    pub fn new() -> Items {
        Items {
            buf: [core::mem::MaybeUninit::uninit(); ARENA],
            used: 0,
            at: [(0, 0); MAX_ITEMS],
            n: 0,
        }
    }
    fn store(&mut self, s: &[u8]) -> Result<(u32, u32), Errno> {
        let end = self.used + s.len();
        let dst = self.buf.get_mut(self.used..end).ok_or(Errno(libc::E2BIG))?;
        for (d, b) in dst.iter_mut().zip(s) {
            *d = core::mem::MaybeUninit::new(*b);
        }
        let r = (self.used as u32, s.len() as u32);
        self.used = end;
        Ok(r)
    }
    fn insert(&mut self, i: usize, s: &[u8]) -> Result<(), Errno> {
        if self.n == MAX_ITEMS || i > self.n {
            return Err(Errno(libc::E2BIG));
        }
        let r = self.store(s)?;
        self.at.copy_within(i..self.n, i + 1);
        self.at[i] = r;
        self.n += 1;
        Ok(())
    }
    pub fn push(&mut self, s: &[u8]) -> Result<(), Errno> {
        self.insert(self.n, s)
    }
    fn remove_first(&mut self) {
        if self.n > 0 {
            self.at.copy_within(1..self.n, 0);
            self.n -= 1;
        }
    }
    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    pub fn get(&self, i: usize) -> &[u8] {
        match self.at.get(i) {
            Some(&(o, l)) if i < self.n && (o + l) as usize <= self.used => {
                // SAFETY: bytes below `used` were written by `store`, and
                // o..o+l is inside them (checked).
                unsafe {
                    core::slice::from_raw_parts(
                        self.buf.as_ptr().add(o as usize) as *const u8,
                        l as usize,
                    )
                }
            }
            _ => &[],
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.n).map(|i| self.get(i))
    }
}

/// What an exec becomes.
pub struct Plan<'t> {
    /// The host file given to the kernel's execve.
    pub file: PathBuf,
    /// The virtual path of the program finally run (after `#!`).
    pub vpath: PathBuf,
    /// The program's name as exec'd: the caller's path, or `dir/name`
    /// found along PATH.
    pub given: PathBuf,
    pub kind: Kind,
    pub policy: Option<PolicyRef<'t>>,
    pub argvmod: Option<ArgvModRef<'t>>,
    /// The new argv up to (not including) the caller's argv[1..].
    pub head: Items,
    /// `NAME=value` entries to put into the child's environment.
    pub env: Items,
    /// Target programs: enter the binfmt_misc namespace first, so that
    /// target programs they exec run through qemu too.
    pub binfmt: bool,
}

impl<'t> Plan<'t> {
    pub fn new() -> Plan<'t> {
        Plan {
            file: PathBuf::new(),
            vpath: PathBuf::new(),
            given: PathBuf::new(),
            kind: Kind::Unknown,
            policy: None,
            argvmod: None,
            head: Items::new(),
            env: Items::new(),
            binfmt: false,
        }
    }

    /// The final argv: head, the caller's argv[1..], the argvmod's tail.
    pub fn argv<'s>(
        &'s self,
        rest: impl Iterator<Item = &'s [u8]> + 's,
    ) -> impl Iterator<Item = &'s [u8]> + 's {
        let tail = self.argvmod.into_iter().flat_map(|m| m.add_tail());
        self.head.iter().chain(rest).chain(tail)
    }
}

impl Default for Plan<'_> {
    fn default() -> Self {
        Plan::new()
    }
}

/// One exec request.
#[derive(Clone, Copy)]
pub struct ExecReq<'a> {
    /// `Some(fd)` for execveat relative to a directory fd.
    pub dirfd: Option<i32>,
    /// The path as the caller gave it.
    pub path: &'a [u8],
    pub argv0: &'a [u8],
    /// The PATH to search when `path` has no `/` (execvp family).
    pub search: Option<&'a [u8]>,
    /// Follow a symlink in the final component (execveat without
    /// AT_SYMLINK_NOFOLLOW).
    pub follow: bool,
}

/// ELF facts from a file head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elf {
    pub class64: bool,
    pub little: bool,
    pub machine: u16,
    pub dynamic: bool,
}

/// Parses an ELF header and looks for PT_INTERP in the program headers
/// that are within `head`. A header table beyond the head counts as
/// dynamic (the common case; static programs have their headers first).
pub fn parse_elf(head: &[u8]) -> Option<Elf> {
    if head.len() < 52 || head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let class64 = *head.get(4)? == 2;
    let little = *head.get(5)? == 1;
    let u16_at = |o: usize| -> Option<u16> {
        let b = head.get(o..o.checked_add(2)?)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = head.get(o..o.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let machine = u16_at(18)?;
    let (phoff, phentsize, phnum) = if class64 {
        let lo = u32_at(32)? as u64;
        let hi = u32_at(36)? as u64;
        let off = if little { lo | hi << 32 } else { hi | lo << 32 };
        (off as usize, u16_at(54)? as usize, u16_at(56)? as usize)
    } else {
        (
            u32_at(28)? as usize,
            u16_at(42)? as usize,
            u16_at(44)? as usize,
        )
    };
    let mut dynamic = false;
    for i in 0..phnum.min(64) {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        match u32_at(at) {
            Some(3) => {
                dynamic = true;
                break;
            }
            Some(_) => {}
            None => {
                dynamic = true;
                break;
            }
        }
    }
    Some(Elf {
        class64,
        little,
        machine,
        dynamic,
    })
}

/// The host's own machine (the one its ld.so loads).
pub fn native_machine(m: u16) -> bool {
    if cfg!(target_arch = "x86_64") {
        m == 62
    } else if cfg!(target_arch = "aarch64") {
        m == 183
    } else {
        false
    }
}

/// ELF machines this host runs natively.
pub fn host_machine(m: u16) -> bool {
    if cfg!(target_arch = "x86_64") {
        m == 62 || m == 3
    } else if cfg!(target_arch = "aarch64") {
        m == 183
    } else {
        false
    }
}

/// A `#!` line: interpreter and its optional single argument (Linux
/// semantics: the rest of the line, trimmed, is one argument).
pub fn parse_shebang(head: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|c| *c == b'\n').next()?;
    let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b' ' || **c == b'\t').count() };
    let line = line.get(trim(line)..)?;
    let end = line
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .map_or(0, |i| i + 1);
    let line = line.get(..end)?;
    if line.is_empty() {
        return None;
    }
    let split = line
        .iter()
        .position(|c| *c == b' ' || *c == b'\t')
        .unwrap_or(line.len());
    let interp = line.get(..split)?;
    let arg = line.get(split..).map(|a| a.get(trim(a)..).unwrap_or(&[]));
    Some((interp, arg.filter(|a| !a.is_empty())))
}

fn basename(p: &[u8]) -> &[u8] {
    match p.iter().rposition(|c| *c == b'/') {
        Some(i) => p.get(i + 1..).unwrap_or(&[]),
        None => p,
    }
}

fn dirname(p: &[u8]) -> &[u8] {
    match p.iter().rposition(|c| *c == b'/') {
        Some(0) => b"/",
        Some(i) => p.get(..i).unwrap_or(&[]),
        None => b"",
    }
}

/// Maps a program path with the EXEC class; `vout` gets the resolved
/// virtual path, `out` the host path (NUL-terminated).
fn map_prog<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    dirfd: Option<i32>,
    path: &[u8],
    follow: bool,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<mapping::Mapped<'t>, Errno> {
    let req = Req {
        dirfd,
        path,
        class: class::EXEC,
        follow,
        want_union: false,
    };
    let m = mapping::resolve(ctx, host, &req, vout, out)?;
    out.with_nul();
    Ok(m)
}

/// The execvp search: the first `dir/name` along `search` that is an
/// executable file in the virtual view. `name_out` gets the path as it
/// would be passed to execve (`dir/name`).
fn search_path<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    name: &[u8],
    search: &[u8],
    name_out: &mut PathBuf,
    vout: &mut PathBuf,
    out: &mut PathBuf,
) -> Result<mapping::Mapped<'t>, Errno> {
    let mut err = Errno::ENOENT;
    let mut head = [0u8; 0];
    for dir in search.split(|c| *c == b':') {
        name_out.clear();
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        if name_out.push(dir).is_err()
            || (!dir.ends_with(b"/") && name_out.push(b"/").is_err())
            || name_out.push(name).is_err()
        {
            err = Errno::ENAMETOOLONG;
            continue;
        }
        match map_prog(ctx, host, None, name_out.as_bytes(), true, vout, out) {
            Ok(m) => match host.exec_probe(out.with_nul(), &mut head) {
                Ok(_) => return Ok(m),
                Err(Errno(libc::EACCES)) => err = Errno(libc::EACCES),
                Err(_) => {}
            },
            Err(Errno(libc::EACCES)) => err = Errno(libc::EACCES),
            Err(_) => {}
        }
    }
    Err(err)
}

fn find_argvmod<'t>(ctx: &Ctx<'t>, given: &[u8]) -> Option<ArgvModRef<'t>> {
    if !ctx.mode.toolchain() && !given.starts_with(b"/") {
        return None;
    }
    let (dir, name) = (dirname(given), basename(given));
    ctx.tree.argvmods().find(|m| {
        m.name() == name
            && (ctx.mode.toolchain() || m.disable_mapping() || m.every_mode())
            && m.dirs().any(|d| d == dir)
    })
}

/// Selects the exec policy for a mapped program: the deciding fs rule's
/// `exec_policy_name`, else the mode's selection list on the host path.
fn select_policy<'t>(
    ctx: &Ctx<'t>,
    m: &mapping::Mapped<'t>,
    hpath: &[u8],
) -> Option<PolicyRef<'t>> {
    let name = match m.exec_policy {
        Some(n) => n,
        None => {
            let who = lookup::Caller {
                class: class::EXEC,
                binary_name: ctx.binary_name,
            };
            lookup::find(&ctx.mode.exec_selection(), hpath, &who)?.exec_policy_name()?
        }
    };
    ctx.mode.exec_policy(name)
}

/// The active exec policy, as the child's environment carries it (what
/// `if_active_exec_policy_is` tests).
pub const POLICY_VAR: &[u8] = crate::contract::POLICY_VAR.as_bytes();
/// The file the pipeline exec'd: a process whose AT_EXECFN is another
/// file was started without the pipeline (by a target program under qemu)
/// and re-plans itself (preload/src/exec.rs).
pub const EXECED_VAR: &[u8] = crate::contract::EXECED_VAR.as_bytes();

/// Plans an exec. Errors are what the kernel (or execvp) would return.
/// The plan's environment changes include the policy variable (removed
/// when there is no policy: a bare name) and the exec marker.
pub fn plan<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    req: &ExecReq,
    plan: &mut Plan<'t>,
) -> Result<(), Errno> {
    plan_program(ctx, host, req, plan)?;
    let mut e = PathBuf::new();
    e.push(POLICY_VAR)?;
    if let Some(p) = plan.policy {
        e.push(b"=")?;
        e.push(p.name())?;
    }
    plan.env.push(e.as_bytes())?;
    e.set(EXECED_VAR)?;
    e.push(b"=")?;
    e.push(plan.file.as_bytes())?;
    plan.env.push(e.as_bytes())
}

/// Replaces the head's argv[0] by `starter PRE... ARGV0_FLAG ARGV0 POST...
/// FILE`: the program is started by a loader or an emulator.
fn start_through<'a>(
    plan: &mut Plan,
    starter: &[u8],
    pre: impl Iterator<Item = &'a [u8]>,
    argv0_flag: &[u8],
    post: &[&[u8]],
) -> Result<(), Errno> {
    let argv0 = PathBuf::from_bytes(plan.head.get(0))?;
    let file = PathBuf::from_bytes(plan.file.as_bytes())?;
    plan.head.remove_first();
    let mut i = 0;
    let mut put = |plan: &mut Plan, a: &[u8]| {
        let r = plan.head.insert(i, a);
        i += 1;
        r
    };
    put(plan, starter)?;
    for a in pre {
        put(plan, a)?;
    }
    put(plan, argv0_flag)?;
    put(plan, argv0.as_bytes())?;
    for a in post {
        put(plan, a)?;
    }
    put(plan, file.as_bytes())?;
    plan.file.set(starter)?;
    plan.file.with_nul();
    Ok(())
}

fn plan_program<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    req: &ExecReq,
    plan: &mut Plan<'t>,
) -> Result<(), Errno> {
    let given = &mut plan.given;
    let mut m = match req.search {
        Some(search) if !req.path.contains(&b'/') && !req.path.is_empty() => search_path(
            ctx,
            host,
            req.path,
            search,
            given,
            &mut plan.vpath,
            &mut plan.file,
        )?,
        _ => {
            given.set(req.path)?;
            map_prog(
                ctx,
                host,
                req.dirfd,
                req.path,
                req.follow,
                &mut plan.vpath,
                &mut plan.file,
            )?
        }
    };
    plan.head.push(req.argv0)?;
    // Argv rewrite, matched on the name as found (before symlinks: `cc`
    // is a link to gcc, and both are rewritten).
    let mut name_for_script = PathBuf::new();
    name_for_script.set(given.as_bytes())?;
    if let Some(am) = find_argvmod(ctx, given.as_bytes()) {
        plan.argvmod = Some(am);
        let nf = am.new_filename();
        if am.disable_mapping() {
            plan.vpath.set(nf)?;
            plan.file.set(nf)?;
            plan.file.with_nul();
            plan.env.push(b"SBOX_DISABLE_MAPPING=1")?;
            plan.kind = Kind::Host;
            plan.head.remove_first();
            plan.head.insert(0, nf)?;
            return Ok(());
        }
        m = map_prog(ctx, host, None, nf, true, &mut plan.vpath, &mut plan.file)?;
        plan.head.remove_first();
        plan.head.insert(0, nf)?;
        name_for_script.set(nf)?;
    }
    let mut head = [0u8; HEAD];
    for depth in 0..=MAX_SCRIPTS {
        let n = host.exec_probe(plan.file.with_nul(), &mut head)?;
        let h = head.get(..n).unwrap_or(&[]);
        if let Some((interp, arg)) = parse_shebang(h) {
            if depth == MAX_SCRIPTS {
                return Err(Errno::ELOOP);
            }
            // The kernel's argv for a script: interpreter, its argument,
            // the script as exec'd, then the caller's argv[1..].
            plan.head.remove_first();
            plan.head.insert(0, name_for_script.as_bytes())?;
            let mut ip = PathBuf::new();
            let is_env = basename(interp) == b"env"
                && arg.is_some_and(|a| {
                    !a.starts_with(b"-") && !a.contains(&b' ') && !a.contains(&b'=')
                });
            if let (true, Some(cmd)) = (is_env, arg) {
                // `#!/usr/bin/env X`: look X up in the virtual PATH here, so
                // X is mapped even when env itself would run under qemu.
                let mut search = PathBuf::new();
                if !host.getenv(b"PATH", &mut search) {
                    search.set(b"/usr/local/bin:/usr/bin:/bin")?;
                }
                m = search_path(
                    ctx,
                    host,
                    cmd,
                    search.as_bytes(),
                    &mut ip,
                    &mut plan.vpath,
                    &mut plan.file,
                )?;
                plan.head.insert(0, cmd)?;
            } else {
                ip.set(interp)?;
                m = map_prog(
                    ctx,
                    host,
                    None,
                    interp,
                    true,
                    &mut plan.vpath,
                    &mut plan.file,
                )
                .map_err(|e| {
                    if e == Errno::ENOTDIR {
                        Errno::ENOENT
                    } else {
                        e
                    }
                })?;
                if let Some(a) = arg {
                    plan.head.insert(0, a)?;
                }
                plan.head.insert(0, interp)?;
            }
            name_for_script.set(ip.as_bytes())?;
            continue;
        }
        let Some(elf) = parse_elf(h) else {
            plan.kind = Kind::Unknown;
            return Ok(());
        };
        let target_machine = ctx
            .tree
            .constant(b"target_elf_machine")
            .and_then(parse_u16)
            .unwrap_or(0);
        if host_machine(elf.machine) {
            plan.policy = select_policy(ctx, &m, plan.file.as_bytes());
            let ld_so = plan.policy.map(|p| p.ld_so()).unwrap_or(&[]);
            if !elf.dynamic {
                plan.kind = Kind::Static;
            } else if !ld_so.is_empty()
                && native_machine(elf.machine)
                && elf.class64 == cfg!(target_pointer_width = "64")
            {
                plan.kind = Kind::RootLoader;
                let lib = plan.policy.map(|p| p.library_path()).unwrap_or(&[]);
                let mut lp = PathBuf::new();
                let mut user = PathBuf::new();
                if host.getenv(b"LD_LIBRARY_PATH", &mut user) && !user.is_empty() {
                    lp.push(user.as_bytes())?;
                    lp.push(b":")?;
                }
                lp.push(lib)?;
                start_through(
                    plan,
                    ld_so,
                    core::iter::empty(),
                    b"--argv0",
                    &[b"--library-path", lp.as_bytes(), b"--inhibit-cache"],
                )?;
            } else {
                plan.kind = Kind::Host;
            }
            return Ok(());
        }
        if elf.machine == target_machine {
            let qemu = ctx.tree.constant(b"cpu_transparency").unwrap_or(&[]);
            if qemu.is_empty() {
                // No CPU transparency configured: the kernel says ENOEXEC.
                plan.kind = Kind::Unknown;
                return Ok(());
            }
            plan.kind = Kind::Target;
            plan.binfmt = true;
            // Options of the command (`sb2-init -c "qemu-aarch64 -cpu max"`).
            let opts = ctx.tree.constant(b"cpu_transparency_args").unwrap_or(&[]);
            let opts = opts.split(|c| *c == b' ').filter(|o| !o.is_empty());
            start_through(plan, qemu, opts, b"-0", &[])?;
            let mut e = PathBuf::new();
            e.push(b"QEMU_LD_PREFIX=")?;
            e.push(ctx.tree.constant(b"target_root").unwrap_or(b"/"))?;
            plan.env.push(e.as_bytes())?;
            return Ok(());
        }
        plan.kind = Kind::Unknown;
        return Ok(());
    }
    Err(Errno::ELOOP)
}

fn parse_u16(s: &[u8]) -> Option<u16> {
    let mut v: u32 = 0;
    if s.is_empty() {
        return None;
    }
    for c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
        if v > u16::MAX as u32 {
            return None;
        }
    }
    Some(v as u16)
}
