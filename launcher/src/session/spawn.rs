//! Starting the session's first command. It is planned by the same exec
//! pipeline the preload runs for every later exec (PATH searched in the
//! virtual view, toolchain rewrites, exec policies, CPU transparency), so
//! `sb2 gcc` and `sh -c gcc` in a session run the same program; then it
//! is given the session's environment and waited for.

use super::{cow, signals, Vperm};
use crate::config::Target;
use anyhow::{anyhow, Context, Result};
use sb2_ruletree::contract::{key, CPU_VAR, IDS_VAR, MODE_VAR, RULETREE_FILE, SESSION_VAR};
use sb2_ruletree::exec::{plan, ExecReq, Plan};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;

/// What runs when no command is given: `$SHELL`, else sh.
fn shell() -> OsString {
    std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into())
}

/// The session's ruletree, read (not mapped: it is used once).
pub(super) fn read_tree(dir: &Path) -> Result<Vec<u8>> {
    std::fs::read(dir.join(RULETREE_FILE)).with_context(|| format!("session {}", dir.display()))
}

pub(super) fn parse_tree<'a>(dir: &Path, data: &'a [u8]) -> Result<sb2_ruletree::format::Tree<'a>> {
    sb2_ruletree::format::Tree::new(data)
        .map_err(|e| anyhow!("session {}: {}", dir.display(), e.message()))
}

/// What the session's first command must be given from its ruletree: the
/// LD_PRELOAD entry (see [`crate::xtarget`]) and the CPU transparency
/// command, if the session has one.
fn preload_and_cpu(dir: &Path) -> Result<(String, Option<OsString>)> {
    let data = read_tree(dir)?;
    let tree = parse_tree(dir, &data)?;
    let e = tree
        .constant(key::PRELOAD_ENTRY.as_bytes())
        .ok_or_else(|| anyhow!("session {} has no preload entry", dir.display()))?;
    let cpu = tree
        .constant(key::CPU_TRANSPARENCY.as_bytes())
        .filter(|q| !q.is_empty())
        .map(|q| OsStr::from_bytes(q).to_owned());
    Ok((String::from_utf8_lossy(e).into_owned(), cpu))
}

/// The session's first command, planned by the session's exec pipeline.
/// The inner Err is the errno the exec would fail with. The session's
/// environment must already be this process's (PATH is searched in it).
fn planned_command(
    dir: &Path,
    mode: Option<&str>,
    argv: &[OsString],
    is_root: bool,
) -> Result<std::result::Result<Command, sb2_ruletree::Errno>> {
    let data = read_tree(dir)?;
    let tree = parse_tree(dir, &data)?;
    let m = match mode {
        Some(m) => tree.mode_named(m.as_bytes()),
        None => tree.mode(0),
    }
    .ok_or_else(|| anyhow!("session {} has no such mode", dir.display()))?;
    let ctx = sb2_ruletree::mapping::Ctx {
        tree,
        mode: m,
        binary_name: b"sb2",
        exec_policy: b"",
        is_root,
        chroot: None,
    };
    let prog = argv[0].as_bytes();
    let path = crate::install::path_var();
    let req = ExecReq::execvp(prog, path.as_bytes());
    let mut p = Plan::new();
    if let Err(e) = plan(&ctx, &sb2_ruletree::sys::Sys, &req, &mut p) {
        return Ok(Err(e));
    }
    let os = |b: &[u8]| OsStr::from_bytes(b).to_os_string();
    if p.kind == sb2_ruletree::exec::Kind::Unknown && argv[0].as_bytes() != b"/bin/sh" {
        // What execvp does with a file the kernel cannot execute (a script
        // without `#!`): run it with /bin/sh.
        let mut sh = vec![OsString::from("/bin/sh"), os(p.given.as_bytes())];
        sh.extend(argv[1..].iter().cloned());
        return planned_command(dir, mode, &sh, is_root);
    }
    let mut items = p.argv(argv[1..].iter().map(|a| a.as_bytes()));
    let mut c = Command::new(os(p.file.as_bytes()));
    if let Some(a0) = items.next() {
        c.arg0(os(a0));
    }
    c.args(items.map(os));
    for e in p.env.iter() {
        match e.iter().position(|b| *b == b'=') {
            Some(i) => c.env(os(&e[..i]), os(&e[i + 1..])),
            None => c.env_remove(os(e)),
        };
    }
    Ok(Ok(c))
}

/// Runs `command` (none: an interactive shell) in the session of `dir`
/// and returns its exit status; with `layer` (`-c`) over its
/// copy-on-write layer, or not at all; restricted by `guard`.
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    dir: &Path,
    mode: Option<&str>,
    target: &Target,
    command: Vec<OsString>,
    quiet: bool,
    vp: Option<Vperm>,
    layer: Option<&cow::Layer>,
    guard: Option<&mut super::guard::Guard>,
) -> Result<i32> {
    // The session's environment first: the first command is searched in
    // its PATH, as every later exec is.
    for (k, v) in target.env() {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        };
    }
    let interactive = command.is_empty();
    let argv = if interactive {
        vec![shell()]
    } else {
        command.clone()
    };
    let is_root = vp.is_some_and(|v| v.ids.uid == 0);
    let mut planned = planned_command(dir, mode, &argv, is_root)?;
    if interactive && planned.is_err() {
        // $SHELL may not exist in the session's view (emulate): sh does.
        planned = planned_command(dir, mode, &["/bin/sh".into()], is_root)?;
    }
    let mut cmd = match planned {
        Ok(c) => c,
        Err(e) => {
            let err = std::io::Error::from_raw_os_error(e.0);
            return Ok(report_spawn_error(&argv[0], err));
        }
    };
    if interactive {
        cmd.env(
            "PS1",
            format!(
                "[SB2 {} {}] \\u@\\h \\w $ ",
                mode.unwrap_or("session"),
                target.name
            ),
        );
    }
    // Ours first: the first preloaded definition of a symbol wins, and
    // the hooks must.
    let (entry, cpu) = preload_and_cpu(dir)?;
    let mut preload = OsString::from(entry);
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|s| !s.is_empty()) {
        preload.push(":");
        preload.push(old);
    }
    cmd.env(SESSION_VAR, dir).env("LD_PRELOAD", preload);
    // The CPU transparency command knows itself by this (cross targets).
    match cpu {
        Some(q) => cmd.env(CPU_VAR, q),
        None => cmd.env_remove(CPU_VAR),
    };
    match vp {
        Some(v) => cmd.env(IDS_VAR, crate::vperm::ids_env(v.ids)),
        None => cmd.env_remove(IDS_VAR),
    };
    match mode {
        Some(m) => cmd.env(MODE_VAR, m),
        None => cmd.env_remove(MODE_VAR),
    };
    // A session starts outside any chroot, whatever the caller's
    // environment says.
    cmd.env_remove(sb2_ruletree::contract::CHROOT_VAR);
    cmd.env_remove(sb2_ruletree::contract::CHROOT_LD_VAR);
    let setup = layer.map(cow::Setup::new).transpose()?;
    if let Some(s) = &setup {
        s.attach(&mut cmd);
    }
    // After -c's namespace: Landlock forbids the mount it makes.
    let mut guard = guard;
    if let Some(g) = guard.as_deref_mut() {
        g.attach(&mut cmd)?;
    }
    signals::relay_to_command();
    let spawned = cmd.spawn();
    if let Some(g) = guard {
        g.collect();
    }
    match spawned {
        Ok(child) => {
            drop(setup);
            signals::wait(child, quiet)
        }
        Err(e) => {
            if let Some(f) = setup.as_ref().and_then(cow::Setup::failure) {
                return Err(f);
            }
            let prog = command.first().cloned().unwrap_or_else(|| "shell".into());
            Ok(report_spawn_error(&prog, e))
        }
    }
}

/// `sb2` (or `fakeroot`) inside a session: the command runs in the
/// current session, as root with `-R`; `-i`/`-s` load into and save the
/// session's table around it.
pub fn run_in_current(
    dir: &Path,
    command: &[OsString],
    vp: Option<Vperm>,
    load: Option<&Path>,
    save: Option<&Path>,
) -> Result<i32> {
    let cmd = if command.is_empty() {
        vec![shell()]
    } else {
        command.to_vec()
    };
    let (prog, args) = cmd.split_first().expect("a command");
    let mut c = Command::new(prog);
    c.args(args);
    if let Some(v) = vp {
        c.env(IDS_VAR, crate::vperm::ids_env(v.ids));
    }
    if let Some(f) = load {
        crate::vperm::load(dir, f)?;
    }
    let Some(save) = save else {
        // Nothing to do afterwards: become the command.
        let err = c.exec();
        return Ok(report_spawn_error(prog, err));
    };
    let status = match c.status() {
        Ok(s) => s,
        Err(e) => return Ok(report_spawn_error(prog, e)),
    };
    crate::vperm::save(dir, save)?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

/// Says why the command could not start; returns the shell's status for
/// it (127 not found, 126 cannot execute).
pub fn report_spawn_error(prog: &OsString, err: std::io::Error) -> i32 {
    let p = Path::new(prog).display();
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            eprintln!("sb2: {p}: command not found");
            127
        }
        _ => {
            eprintln!("sb2: {p}: cannot execute: {err}");
            126
        }
    }
}
