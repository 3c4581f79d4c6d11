//! The exec planner: PATH search, argv rewrites, mapping the program and
//! following `#!` interpreters until something runnable is found, then
//! choosing how it starts (directly, through a policy root's ld.so, or
//! through the CPU transparency command). Runs in vfork children: no
//! allocation, no panic.

use super::*;
use crate::contract::key;
use crate::format::ArgvModRef;
use crate::mapping::{self, Ctx, Host, Req};
use crate::sys::has_byte;
use crate::{class, lookup};

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
#[link_section = ".text.hot.sb2"]
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
#[link_section = ".text.hot.sb2"]
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

#[link_section = ".text.hot.sb2"]
fn find_argvmod<'t>(ctx: &Ctx<'t>, given: &[u8]) -> Option<ArgvModRef<'t>> {
    let (dir, name) = (dirname(given), basename(given));
    if ctx.chroot.is_some() {
        // Inside a chroot only the mode's substitutes apply: the session's
        // rewrites name programs of the outer view.
        let mode = (0..ctx.tree.n_modes()).find(|i| {
            ctx.tree
                .mode(*i)
                .is_some_and(|m| m.name() == ctx.mode.name())
        })?;
        return ctx.tree.argvmods().find(|m| {
            m.chroot_mode() == Some(mode) && m.name() == name && m.dirs().any(|d| d == dir)
        });
    }
    if !ctx.mode.toolchain() && !given.starts_with(b"/") {
        return None;
    }
    ctx.tree.argvmods().find(|m| {
        m.chroot_mode().is_none()
            && m.name() == name
            && (ctx.mode.toolchain() || m.disable_mapping() || m.every_mode())
            && m.dirs().any(|d| d == dir)
    })
}

/// A compiler launcher's compiler argument (`ccache gcc ...`, `distcc
/// gcc ...`, `icecc g++ ...`), rewritten as the session rewrites the
/// compiler itself: the launcher hashes the compiler it finds by that name
/// (ccache), sends the name to a volunteer that runs it outside the session
/// (distcc, icecream), or runs it locally; each must see the cross
/// compiler and the target's flags, not `gcc` (which distcc would turn into
/// the host's triplet name). The name stays short when the cross compiler
/// is on the standard path, as distccd accepts only bare names.
fn launched_compiler<'t>(ctx: &Ctx<'t>, req: &ExecReq, plan: &mut Plan<'t>) -> Result<(), Errno> {
    let Some(arg) = req.args.first() else {
        return Ok(());
    };
    let (dir, name) = (dirname(arg), basename(arg));
    let Some(cm) = ctx.tree.argvmods().find(|m| {
        !m.launcher()
            && !m.disable_mapping()
            && m.chroot_mode().is_none()
            && !m.new_filename().is_empty()
            && m.name() == name
            && m.dirs().any(|d| {
                d == if has_byte(arg, b'/') {
                    dir
                } else {
                    b"/usr/bin"
                }
            })
    }) else {
        return Ok(());
    };
    let nf = cm.new_filename();
    let short = matches!(dirname(nf), b"/usr/bin" | b"/bin");
    plan.head.push(if short { basename(nf) } else { nf })?;
    for t in cm.add_tail() {
        plan.head.push(t)?;
    }
    plan.skip = 1;
    plan.argvmod = Some(cm);
    Ok(())
}

/// Selects the exec policy for a mapped program: the deciding fs rule's
/// `exec_policy_name`, else the mode's selection list on the host path.
#[link_section = ".text.hot.sb2"]
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

/// Plans an exec. Errors are what the kernel (or execvp) would return.
/// The plan's environment changes include the policy variable (removed
/// when there is no policy: a bare name) and the exec marker.
#[link_section = ".text.hot.sb2"]
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
    plan.env.push(e.as_bytes())?;
    e.set(crate::contract::EXE_VAR.as_bytes())?;
    if plan.kind == Kind::RootLoader {
        // The loader's last argument: the program's host path.
        e.push(b"=")?;
        e.push(plan.head.get(plan.head.len().saturating_sub(1)))?;
    }
    plan.env.push(e.as_bytes())
}

/// Replaces the head's argv[0] by `starter PRE... [ARGV0_FLAG ARGV0]
/// POST... FILE`: the program is started by a loader or an emulator
/// (without the flag, the program's argv[0] becomes FILE).
fn start_through<'a>(
    plan: &mut Plan,
    starter: &[u8],
    pre: impl Iterator<Item = &'a [u8]>,
    argv0_flag: Option<&[u8]>,
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
    if let Some(flag) = argv0_flag {
        put(plan, flag)?;
        put(plan, argv0.as_bytes())?;
    }
    for a in post {
        put(plan, a)?;
    }
    put(plan, file.as_bytes())?;
    plan.file.set(starter)?;
    plan.file.with_nul();
    Ok(())
}

#[link_section = ".text.hot.sb2"]
fn plan_program<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    req: &ExecReq,
    plan: &mut Plan<'t>,
) -> Result<(), Errno> {
    let given = &mut plan.given;
    let mut m = match req.search {
        Some(search) if !has_byte(req.path, b'/') && !req.path.is_empty() => search_path(
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
        if am.launcher() {
            launched_compiler(ctx, req, plan)?;
        } else {
            plan.argvmod = Some(am);
            plan.substituted = am.chroot_mode().is_some();
            for t in am.add_tail() {
                if t == b"@root" && plan.substituted {
                    let mut r = PathBuf::new();
                    host_path(ctx, host, b"/", &mut r)?;
                    plan.tail.push(r.as_bytes())?;
                } else {
                    plan.tail.push(t)?;
                }
            }
            let nf = am.new_filename();
            if am.disable_mapping() {
                plan.vpath.set(nf)?;
                plan.file.set(nf)?;
                plan.file.with_nul();
                plan.env.push(DISABLE_ENTRY)?;
                plan.kind = Kind::Host;
                plan.head.remove_first();
                plan.head.insert(0, nf)?;
                return Ok(());
            }
            if !nf.is_empty() {
                m = map_prog(ctx, host, None, nf, true, &mut plan.vpath, &mut plan.file)?;
                plan.head.remove_first();
                plan.head.insert(0, nf)?;
                name_for_script.set(nf)?;
            }
        }
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
                    !a.starts_with(b"-") && !has_byte(a, b' ') && !has_byte(a, b'=')
                });
            if let (true, Some(cmd)) = (is_env, arg) {
                // `#!/usr/bin/env X`: look X up in the virtual PATH here, so
                // X is mapped even when env itself would run under qemu.
                let mut search = PathBuf::new();
                if !host.getenv(b"PATH", &mut search) {
                    // env's own search (execvp) without PATH.
                    search.set(crate::contract::DEFAULT_PATH.as_bytes())?;
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
            .constant(key::TARGET_ELF_MACHINE.as_bytes())
            .and_then(parse_u16)
            .unwrap_or(0);
        if let Some(cr) = chroot_holding(ctx, plan.vpath.as_bytes()) {
            if host_machine(elf.machine) {
                return plan_in_root(ctx, host, &cr, &elf, h, req.args, plan);
            }
        }
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
                    Some(b"--argv0"),
                    &[b"--library-path", lp.as_bytes(), b"--inhibit-cache"],
                )?;
            } else {
                plan.kind = Kind::Host;
            }
            return Ok(());
        }
        if elf.machine == target_machine {
            let qemu = ctx
                .tree
                .constant(key::CPU_TRANSPARENCY.as_bytes())
                .unwrap_or(&[]);
            if qemu.is_empty() {
                // No CPU transparency configured: the kernel says ENOEXEC.
                plan.kind = Kind::Unknown;
                return Ok(());
            }
            plan.kind = Kind::Target;
            plan.binfmt = true;
            // Options of the command (`sb2-init -c "qemu-aarch64 -cpu max"`).
            let opts = ctx
                .tree
                .constant(key::CPU_TRANSPARENCY_ARGS.as_bytes())
                .unwrap_or(&[]);
            let opts = opts.split(|c| *c == b' ').filter(|o| !o.is_empty());
            start_through(plan, qemu, opts, Some(b"-0"), &[])?;
            let mut e = PathBuf::new();
            e.push(b"QEMU_LD_PREFIX=")?;
            match chroot_holding(ctx, plan.vpath.as_bytes()) {
                // A chroot's own programs load the chroot's libraries.
                Some(_) => {
                    let mut r = PathBuf::new();
                    host_path(ctx, host, b"/", &mut r)?;
                    e.push(r.as_bytes())?;
                }
                None => e.push(
                    ctx.tree
                        .constant(key::TARGET_ROOT.as_bytes())
                        .unwrap_or(b"/"),
                )?,
            }
            plan.env.push(e.as_bytes())?;
            // How the command knows itself (`contract::CPU_VAR`), also
            // when the caller's environment lost the launcher's entry.
            e.set(crate::contract::CPU_VAR.as_bytes())?;
            e.push(b"=")?;
            e.push(qemu)?;
            plan.env.push(e.as_bytes())?;
            return Ok(());
        }
        plan.kind = Kind::Unknown;
        return Ok(());
    }
    Err(Errno::ELOOP)
}

/// A host-machine program of a chroot: started by the root's own loader
/// (its PT_INTERP resolved in the chroot view) with the root's library
/// path, never the host's cache; a static one runs as it is.
#[allow(clippy::too_many_arguments)]
fn plan_in_root<'t, H: Host>(
    ctx: &Ctx<'t>,
    host: &H,
    cr: &mapping::Chroot,
    elf: &Elf,
    head: &[u8],
    args: &[&[u8]],
    plan: &mut Plan<'t>,
) -> Result<(), Errno> {
    let loader_run = !elf.dynamic && basename(plan.vpath.as_bytes()).starts_with(b"ld-linux");
    if !elf.dynamic && !loader_run {
        plan.kind = Kind::Static;
        return Ok(());
    }
    // "A:LD_SO:LIBRARY_PATH" (contract::CHROOT_LD_VAR).
    let mut facts = cr.ld.splitn(3, |c| *c == b':');
    let (Some(a), Some(ld), Some(lib)) = (facts.next(), facts.next(), facts.next()) else {
        // No loader of this machine in the root: the kernel tries.
        plan.kind = Kind::Host;
        return Ok(());
    };
    if !native_machine(elf.machine) || elf.class64 != cfg!(target_pointer_width = "64") {
        plan.kind = Kind::Host;
        return Ok(());
    }
    let mut loader = PathBuf::new();
    match elf.interp_in(head) {
        _ if loader_run => loader.set(plan.file.as_bytes())?,
        Some(i) if i != super::rootld::INTERP => host_path(ctx, host, i, &mut loader)?,
        _ => loader.set(ld)?,
    }
    // The user's LD_LIBRARY_PATH names directories of the chroot.
    let mut lp = PathBuf::new();
    let mut user = PathBuf::new();
    if host.getenv(b"LD_LIBRARY_PATH", &mut user) {
        for d in user
            .as_bytes()
            .split(|c| *c == b':')
            .filter(|d| !d.is_empty())
        {
            let mut hd = PathBuf::new();
            if host_path(ctx, host, d, &mut hd).is_ok() {
                lp.push(hd.as_bytes())?;
                lp.push(b":")?;
            }
        }
    }
    lp.push(lib)?;
    plan.kind = Kind::RootLoader;
    if loader_run {
        return loader_as_program(ctx, host, args, lp.as_bytes(), plan);
    }
    start_through(
        plan,
        loader.as_bytes(),
        core::iter::empty(),
        (a == b"1").then_some(&b"--argv0"[..]),
        &[b"--library-path", lp.as_bytes(), b"--inhibit-cache"],
    )
}

/// The root's loader run as a program (`ld.so [OPTIONS] PROG`, as ldd
/// does): it opens PROG itself, below every hook, so PROG is mapped here;
/// it gets the root's library path and never the host's cache.
fn loader_as_program<H: Host>(
    ctx: &Ctx,
    host: &H,
    args: &[&[u8]],
    lp: &[u8],
    plan: &mut Plan,
) -> Result<(), Errno> {
    plan.head.push(b"--library-path")?;
    plan.head.push(lp)?;
    plan.head.push(b"--inhibit-cache")?;
    // Listing (ldd): the program never runs, and libsb2 would be listed as
    // one of its libraries.
    let mut trace = PathBuf::new();
    let listing = args.iter().any(|a| *a == b"--list" || *a == b"--verify")
        || (host.getenv(b"LD_TRACE_LOADED_OBJECTS", &mut trace) && !trace.is_empty());
    if listing {
        without_libsb2(ctx, host, plan)?;
    }
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if !a.starts_with(b"--") {
            let mut h = PathBuf::new();
            host_path(ctx, host, a, &mut h)?;
            plan.head.push(h.as_bytes())?;
            plan.skip = i + 1;
            return Ok(());
        }
        plan.head.push(a)?;
        // Options with a value.
        if matches!(
            *a,
            b"--library-path" | b"--argv0" | b"--preload" | b"--audit" | b"--inhibit-rpath"
        ) {
            i += 1;
            plan.head.push(args.get(i).copied().unwrap_or(b""))?;
        }
        i += 1;
    }
    // No program among the first arguments: the loader's own answer.
    plan.head.clear_from(1);
    plan.skip = 0;
    Ok(())
}

/// An `LD_PRELOAD=` entry for the plan: the caller's, without libsb2.
fn without_libsb2<H: Host>(ctx: &Ctx, host: &H, plan: &mut Plan) -> Result<(), Errno> {
    let ours = ctx
        .tree
        .constant(key::PRELOAD_ENTRY.as_bytes())
        .unwrap_or(b"");
    let mut cur = PathBuf::new();
    host.getenv(b"LD_PRELOAD", &mut cur);
    let mut e = PathBuf::new();
    e.push(b"LD_PRELOAD=")?;
    let mut first = true;
    for p in cur.as_bytes().split(|c| *c == b':' || *c == b' ') {
        if p.is_empty() || p == ours {
            continue;
        }
        if !first {
            e.push(b":")?;
        }
        e.push(p)?;
        first = false;
    }
    plan.env.push(e.as_bytes())
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

/// `SBOX_DISABLE_MAPPING=1`, for the host tools' environment.
const DISABLE_ENTRY: &[u8] = b"SBOX_DISABLE_MAPPING=1";
const _: () = assert!(
    DISABLE_ENTRY.len() == crate::contract::DISABLE_VAR.len() + 2,
    "DISABLE_ENTRY spells contract::DISABLE_VAR"
);

/// The session's chroot, if `vpath` is inside it. A function of its own
/// in the exec path's section: `Option::filter` with this closure is
/// compiled out of line, far away, one more page fault in a forked child.
#[link_section = ".text.hot.sb2"]
fn chroot_holding<'a>(ctx: &Ctx<'a>, vpath: &[u8]) -> Option<mapping::Chroot<'a>> {
    match ctx.chroot {
        Some(c) if c.contains(vpath) => Some(c),
        _ => None,
    }
}
