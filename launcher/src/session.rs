//! Sessions (DESIGN §3): create the session directory, compile the mode's
//! rule files into `ruletree.bin` once, run the command with the preload,
//! relay signals, report how it ended and clean up. Persistent sessions
//! (`-S`, `-J`, `-D`) keep the directory and describe it in a small info
//! file, as Scratchbox2 does.

use crate::config::{self, Target};
use crate::install;
use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::compile;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

/// The variable naming the session directory: the whole launcher → preload
/// contract.
pub const SESSION_VAR: &str = "SB2_SESSION_DIR";
pub const MODE_VAR: &str = "SB2_SESSION_MODE";

pub const LOG_LEVELS: &[&str] = &[
    "error", "warning", "notice", "net", "info", "debug", "noise",
];

/// Everything `sb2` was asked to do.
#[derive(Debug, Default)]
pub struct Options {
    pub target: Option<String>,
    pub modes: Vec<String>,
    pub rule_file: Option<PathBuf>,
    pub log_level: Option<String>,
    pub quiet: bool,
    pub session_dir: Option<PathBuf>,
    pub mode_options: Option<String>,
    pub save: Option<PathBuf>,
    pub join: Option<PathBuf>,
    pub delete: Option<PathBuf>,
    pub tools_root: Option<PathBuf>,
    /// `-R`: the session's processes are root (virtual permissions).
    pub root: bool,
    /// `-U UID.GID`: owner of unknown files (and the ids, without `-R`).
    pub unknown: Option<String>,
    /// `-s FILE`: save the virtual permission table at the end.
    pub vperm_save: Option<PathBuf>,
    /// `-i FILE`: load a saved virtual permission table first.
    pub vperm_load: Option<PathBuf>,
    /// `-n MODE|FILE`: network rules (default online).
    pub net: Option<String>,
    /// `--allow-write DIR`: writes only below these (and the session's own
    /// directory).
    pub allow_write: Vec<PathBuf>,
    /// `--strict`: violations make the exit status non-zero.
    pub strict: bool,
    /// `--trace FILE`: the access trace.
    pub trace: Option<PathBuf>,
    pub command: Vec<OsString>,
}

/// The network modes shipped in `rules/net`.
pub fn net_modes(rules: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(rules.join("net"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".lua"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `-n`'s argument as (name, rule file): a shipped mode, or a path.
fn net_file(rules: &Path, arg: Option<&str>) -> Result<(String, PathBuf)> {
    let arg = arg.unwrap_or("online");
    if arg.contains('/') || arg.ends_with(".lua") {
        let p = Path::new(arg)
            .canonicalize()
            .with_context(|| format!("-n {arg}: network rule file"))?;
        return Ok((p.display().to_string(), p));
    }
    let f = rules.join("net").join(format!("{arg}.lua"));
    if !f.is_file() {
        bail!(
            "unknown network mode '{arg}'; valid modes: {} (or a rule file path)",
            net_modes(rules).join(", ")
        );
    }
    Ok((arg.to_string(), f))
}

/// Virtual permissions asked for: the first command's ids and the owner
/// of unknown files.
#[derive(Clone, Copy, Debug)]
pub struct Vperm {
    pub ids: crate::vperm::Ids,
    pub unknown: crate::vperm::Ids,
}

impl Options {
    fn vperm(&self) -> Result<Option<Vperm>> {
        let root = crate::vperm::Ids { uid: 0, gid: 0 };
        let u = self
            .unknown
            .as_deref()
            .map(crate::vperm::parse_ids)
            .transpose()?;
        let wanted =
            self.root || u.is_some() || self.vperm_save.is_some() || self.vperm_load.is_some();
        if !wanted {
            return Ok(None);
        }
        if let Some(f) = &self.vperm_load {
            crate::vperm::check_load_file(f)?;
        }
        Ok(Some(Vperm {
            ids: match (self.root, u) {
                (false, Some(u)) => u,
                _ => root,
            },
            unknown: u.unwrap_or(root),
        }))
    }
}

fn canon(p: &Path) -> Result<String> {
    let c = p
        .canonicalize()
        .with_context(|| format!("{}", p.display()))?;
    c.into_os_string()
        .into_string()
        .map_err(|_| anyhow!("{}: path is not UTF-8", p.display()))
}

/// Entry point of `sb2`; returns the exit status.
pub fn run(o: Options) -> Result<i32> {
    if let Some(f) = &o.delete {
        return delete(f).map(|_| 0);
    }
    if let Some(lvl) = &o.log_level {
        if !LOG_LEVELS.contains(&lvl.as_str()) {
            bail!(
                "unknown log level '{lvl}'; valid levels: {}",
                LOG_LEVELS.join(", ")
            );
        }
    }
    let vp = o.vperm()?;
    // Already inside a session: run the command in it, say so, no nesting.
    if let Some(dir) = std::env::var_os(SESSION_VAR) {
        if Path::new(&dir).join("ruletree.bin").exists() {
            if !o.quiet && vp.is_none() {
                eprintln!(
                    "sb2: already inside session {}; sessions do not nest, running the command in the current one",
                    Path::new(&dir).display()
                );
            }
            return run_in_current(Path::new(&dir), &o, vp);
        }
    }
    if let Some(f) = &o.join {
        if o.target.is_some() || o.session_dir.is_some() {
            bail!("-t and -W cannot be used with -J (the session already has its target and directory)");
        }
        let info = Info::read(f)?;
        let mode = match o.modes.as_slice() {
            [] => None,
            [m] if info.modes.contains(m) => Some(m.clone()),
            [m] => bail!(
                "session {} has no mode '{m}'; its modes: {}",
                f.display(),
                info.modes.join(", ")
            ),
            _ => bail!("-m can be given once when joining a session"),
        };
        let target = Target::load(&info.target).unwrap_or_else(|_| Target::host());
        if let Some(f) = &o.vperm_load {
            crate::vperm::load(&info.dir, f)?;
        }
        let r = spawn(&info.dir, mode.as_deref(), &target, o.command, o.quiet, vp);
        if let Some(f) = &o.vperm_save {
            crate::vperm::save(&info.dir, f)?;
        }
        return r;
    }
    if o.modes.len() > 1 && o.save.is_none() {
        bail!("several -m options are only allowed when creating a persistent session (-S)");
    }
    let target = config::choose(o.target.as_deref())?;
    let rules = install::rules_dir()?;
    let all_modes = install::modes(&rules);
    let modes: Vec<String> = if o.modes.is_empty() {
        vec![match target.get("MODE") {
            "" => "simple".into(),
            m => m.into(),
        }]
    } else {
        o.modes.clone()
    };
    for m in &modes {
        if !all_modes.contains(m) {
            bail!(
                "unknown mapping mode '{m}'; valid modes: {}",
                all_modes.join(", ")
            );
        }
    }
    let dir = make_session_dir(o.session_dir.as_deref())?;
    let log_file = match &o.log_level {
        Some(_) => Some(log_path(&o.command)?),
        None => None,
    };
    let built = build(&o, &target, &rules, &modes, &dir, log_file.as_deref()).and_then(|_| {
        let unknown = vp.map_or(crate::vperm::Ids { uid: 0, gid: 0 }, |v| v.unknown);
        crate::vperm::create(&dir, unknown, o.vperm_load.as_deref())
    });
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    if let Some(f) = &o.save {
        Info {
            dir: dir.clone(),
            target: target.name.clone(),
            modes: modes.clone(),
        }
        .write(f)?;
    }
    if !o.allow_write.is_empty() {
        // The session's own temporary directory: writable, private.
        std::env::set_var("TMPDIR", dir.join("tmp"));
    }
    let r = spawn(&dir, None, &target, o.command, o.quiet, vp);
    let saved = match &o.vperm_save {
        Some(f) => crate::vperm::save(&dir, f),
        None => Ok(()),
    };
    let violations = report_violations(&dir, o.quiet);
    if o.save.is_none() {
        remove_session_dir(&dir);
    }
    if let (Some(f), false) = (&log_file, o.quiet) {
        let lines = std::fs::read_to_string(f)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        eprintln!("sb2: log: {} ({lines} lines)", f.display());
    }
    saved?;
    match r {
        Ok(0) if o.strict && violations > 0 => {
            eprintln!("sb2: --strict: exit status 1 because of {violations} access violation(s)");
            Ok(1)
        }
        other => other,
    }
}

/// The file in the session directory where every process appends its
/// denials (JSON lines, see preload/src/log.rs).
pub const VIOLATIONS: &str = "violations";

/// `--trace FILE` as an absolute path, emptied for this run.
fn trace_path(t: &Path) -> Result<PathBuf> {
    let abs = if t.is_absolute() {
        t.to_path_buf()
    } else {
        std::env::current_dir()?.join(t)
    };
    std::fs::write(&abs, b"").with_context(|| format!("--trace {}", abs.display()))?;
    Ok(abs)
}

/// Prints the session's violations (deduplicated) on stderr and returns
/// how many there were.
pub fn report_violations(dir: &Path, quiet: bool) -> usize {
    let Ok(text) = std::fs::read_to_string(dir.join(VIOLATIONS)) else {
        return 0;
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        n += 1;
        seen.insert(describe_violation(line));
    }
    if n > 0 && !quiet {
        // Counted as listed: the same denial repeated is one.
        eprintln!("sb2: {} access violation(s):", seen.len());
        for d in &seen {
            eprintln!("sb2:   {d}");
        }
    }
    n
}

/// One violation line of the violations file, for people.
fn describe_violation(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let field = |k: &str| match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let (prog, func) = (field("prog"), field("fn"));
    match field("ev").as_str() {
        "net" => format!(
            "{prog}: {func} {} port {} ({})",
            field("addr"),
            field("port"),
            field("errno")
        ),
        "name" => format!("{prog}: {func} {} (name lookup denied)", field("name")),
        _ => format!("{prog}: {func} {} ({})", field("vpath"), field("errno")),
    }
}

/// `$SB2_LOG_DIR` or `~/sb2_logs`, file `<command>.<date-time>.<pid>.log`
/// (Scratchbox2's place for logs).
fn log_path(command: &[OsString]) -> Result<PathBuf> {
    let dir = match std::env::var_os("SB2_LOG_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join("sb2_logs"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("log directory {}", dir.display()))?;
    let cmd = command
        .first()
        .and_then(|c| Path::new(c).file_name())
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| "shell".into());
    let mut buf = [0u8; 32];
    // SAFETY: time/localtime_r/strftime on our own buffers.
    let stamp = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let fmt = c"%Y%m%d-%H%M%S";
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            fmt.as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let dir = dir.canonicalize()?;
    Ok(dir.join(format!("{cmd}.{stamp}.{}.log", std::process::id())))
}

fn build(
    o: &Options,
    target: &Target,
    rules: &Path,
    modes: &[String],
    dir: &Path,
    log_file: Option<&Path>,
) -> Result<()> {
    let target_root = canon(Path::new(target.root()))
        .with_context(|| format!("target root of '{}'", target.name))?;
    let tools_root = match o.tools_root.as_deref().map(Path::to_path_buf).or_else(|| {
        Some(target.get("TOOLS_ROOT"))
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    }) {
        Some(t) => canon(&t).context("tools root")?,
        None => String::new(),
    };
    let session_dir = canon(dir)?;
    let workdir = canon(&std::env::current_dir()?)?;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| canon(&h).ok())
        .unwrap_or_default();
    let bin_dir = canon(&install::exe_dir()?)?;
    let constants: Vec<(String, String)> = vec![
        ("target_root".into(), target_root),
        ("tools_root".into(), tools_root.clone()),
        (
            "tools".into(),
            if tools_root.is_empty() {
                "/".into()
            } else {
                tools_root
            },
        ),
        ("session_dir".into(), session_dir),
        ("sbox_workdir".into(), workdir),
        ("sbox_user_home_dir".into(), home),
        ("sbox_dir".into(), bin_dir),
        ("sbox_rules_dir".into(), canon(rules)?),
        ("sbox_target".into(), target.name.clone()),
        ("sbox_cpu".into(), target.get("ARCH").into()),
        (
            "sbox_uname_machine".into(),
            target.get("UNAME_MACHINE").into(),
        ),
        (
            "sbox_mapmode".into(),
            modes.first().cloned().unwrap_or_default(),
        ),
        (
            "sbox_mode_specific_options".into(),
            o.mode_options.clone().unwrap_or_default(),
        ),
        (
            "log_level".into(),
            o.log_level.clone().unwrap_or_else(|| "warning".into()),
        ),
        (
            "log_file".into(),
            log_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    ];
    let lib = install::libsb2()?;
    let entry = crate::xtarget::preload_dir(&lib, target)?;
    let (argvmods, tool_dir, tool_names) = crate::xtarget::toolchain(target)?;
    let mut constants = constants;
    constants.extend(cpu_constants(target)?);
    constants.push(("toolchain_names".into(), tool_names.join(" ")));
    constants.push(("toolchain_dir".into(), canon(&tool_dir)?));
    constants.push(("preload_entry".into(), entry));
    let compiler = target.get("COMPILER");
    let tool_prefix = match compiler.strip_suffix("gcc") {
        Some(p) if p.ends_with('-') => p.to_string(),
        _ => String::new(),
    };
    constants.push(("toolchain_prefix".into(), tool_prefix));
    constants.push((
        "toolchain_triplet".into(),
        target.get("COMPILER_TRIPLET").into(),
    ));
    let mut mode_files = Vec::new();
    for (i, m) in modes.iter().enumerate() {
        let file = match (&o.rule_file, i) {
            (Some(f), 0) => f
                .canonicalize()
                .with_context(|| format!("rule file {}", f.display()))?,
            _ => rules.join("modes").join(m).join("fs_rules.lua"),
        };
        mode_files.push((m.clone(), file));
    }
    if !o.allow_write.is_empty() {
        let mut dirs = vec![canon(dir)?];
        for d in &o.allow_write {
            dirs.push(canon(d).with_context(|| format!("--allow-write {}", d.display()))?);
        }
        constants.push(("allow_write".into(), dirs.join("\n")));
    }
    constants.push((
        "violations_file".into(),
        dir.join(VIOLATIONS).display().to_string(),
    ));
    if let Some(t) = &o.trace {
        constants.push(("trace_file".into(), trace_path(t)?.display().to_string()));
    }
    let input = compile::Input {
        rules_dir: rules.to_path_buf(),
        modes: mode_files,
        constants,
        argvmods,
        net: Some(net_file(rules, o.net.as_deref())?),
    };
    let session = compile::compile(&input).map_err(|e| anyhow!("rule file error: {e}"))?;
    let bytes =
        sb2_ruletree::format::write(&session).map_err(|e| anyhow!("rule file error: {e}"))?;
    let tmp = dir.join("ruletree.bin.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join("ruletree.bin"))?;
    Ok(())
}

fn make_session_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(d) => {
            if !d.is_absolute() {
                bail!(
                    "-W {}: the session directory must be an absolute path",
                    d.display()
                );
            }
            if d.exists() {
                bail!(
                    "-W {}: the session directory must not exist yet",
                    d.display()
                );
            }
            std::fs::create_dir(d)
                .with_context(|| format!("creating session directory {}", d.display()))?;
            d.to_path_buf()
        }
        None => {
            let base = std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .filter(|p| p.is_dir() && access_w(p))
                .unwrap_or_else(|| PathBuf::from("/tmp"));
            let user =
                std::env::var("USER").unwrap_or_else(|_| unsafe { libc::getuid() }.to_string());
            let tmpl = base.join(format!("sb2-{user}-XXXXXX"));
            let mut bytes = tmpl.into_os_string().into_encoded_bytes();
            bytes.push(0);
            // SAFETY: mkdtemp edits our NUL-terminated buffer in place.
            let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr() as *mut libc::c_char) };
            if p.is_null() {
                return Err(std::io::Error::last_os_error())
                    .context("creating the session directory");
            }
            bytes.pop();
            // SAFETY: mkdtemp kept the bytes valid path bytes.
            PathBuf::from(unsafe { OsString::from_encoded_bytes_unchecked(bytes) })
        }
    };
    for sub in ["tmp", "var/tmp", "union"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    // Target of set_path rules that neutralize calls (utimes on /dev nodes).
    std::fs::write(dir.join("dummy_file"), b"")?;
    // The session-wide generation counter and directory cache every
    // process maps shared.
    // Its first 64 bytes hold the counter, the rest the shared cache of
    // resolved directories (see preload/src/cache.rs).
    std::fs::write(dir.join("generation"), vec![0u8; 64 + 8 * 8192])?;
    use std::os::unix::fs::PermissionsExt;
    for sub in ["tmp", "var/tmp"] {
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o1777))?;
    }
    Ok(dir)
}

fn access_w(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Removes a session directory, even parts a program made unreadable.
pub fn remove_session_dir(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_err() {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwx")
            .arg(dir)
            .status();
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `sb2` (or `fakeroot`) inside a session: the command runs in the
/// current session, as root with `-R`; `-i`/`-s` load into and save the
/// session's table around it.
fn run_in_current(dir: &Path, o: &Options, vp: Option<Vperm>) -> Result<i32> {
    let cmd = if o.command.is_empty() {
        vec![std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into())]
    } else {
        o.command.clone()
    };
    let (prog, args) = cmd.split_first().expect("a command");
    let mut c = Command::new(prog);
    c.args(args);
    if let Some(v) = vp {
        c.env(
            String::from_utf8_lossy(sb2_ruletree::vperm::IDS_VAR).as_ref(),
            crate::vperm::ids_env(v.ids),
        );
    }
    if let Some(f) = &o.vperm_load {
        crate::vperm::load(dir, f)?;
    }
    if o.vperm_save.is_none() {
        let err = c.exec();
        return Ok(report_spawn_error(prog, err));
    }
    let status = match c.status() {
        Ok(s) => s,
        Err(e) => return Ok(report_spawn_error(prog, e)),
    };
    if let Some(f) = &o.vperm_save {
        crate::vperm::save(dir, f)?;
    }
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

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

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn relay(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Name of a signal, for the exit message.
pub fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: NUL-terminated.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// CPU transparency facts for the preload: the command (a full path), the
/// target's ELF machine and its binfmt_misc registration.
fn cpu_constants(target: &Target) -> Result<Vec<(String, String)>> {
    let mut v = Vec::new();
    let host = crate::xtarget::host_arch();
    let Some(a) = crate::xtarget::arch(target.get("ARCH")) else {
        return Ok(v);
    };
    v.push(("target_elf_machine".into(), a.machine.to_string()));
    let cmd = target.get("CPU_TRANSPARENCY");
    if a.machine == host.machine || cmd.is_empty() {
        return Ok(v);
    }
    let Some(path) = crate::install::which(cmd.split_whitespace().next().unwrap_or(cmd)) else {
        bail!(
            "target '{}': CPU transparency command '{cmd}' not found (install qemu-user, or fix it with sb2-init -c)",
            target.name
        );
    };
    // The preload recognizes qemu by /proc/self/exe, which is canonical.
    let path = path.canonicalize().unwrap_or(path).display().to_string();
    let name = format!("sb2-{}", target.get("ARCH"));
    v.push((
        "binfmt_register".into(),
        crate::xtarget::binfmt_register(&name, &a, &path),
    ));
    v.push(("binfmt_name".into(), name));
    v.push(("cpu_transparency".into(), path));
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    v.push(("cpu_transparency_args".into(), args.join(" ")));
    Ok(v)
}

/// The LD_PRELOAD entry of a session (see [`crate::xtarget`]), from its
/// ruletree.
pub fn preload_entry(dir: &Path) -> Result<String> {
    let data = std::fs::read(dir.join("ruletree.bin"))
        .with_context(|| format!("session {}", dir.display()))?;
    let tree = sb2_ruletree::format::Tree::new(&data)
        .map_err(|e| anyhow!("session {}: {}", dir.display(), e.message()))?;
    let e = tree
        .constant(b"preload_entry")
        .ok_or_else(|| anyhow!("session {} has no preload entry", dir.display()))?;
    Ok(String::from_utf8_lossy(e).into_owned())
}

/// The session's first command, planned by the session's exec pipeline
/// (the one the preload runs for every later exec): PATH search in the
/// virtual view, toolchain rewrites, policies, CPU transparency. The
/// inner Err is the errno the exec would fail with. The session's
/// environment must already be this process's (PATH is searched in it).
fn planned_command(
    dir: &Path,
    mode: Option<&str>,
    argv: &[OsString],
    is_root: bool,
) -> Result<std::result::Result<Command, sb2_ruletree::Errno>> {
    use sb2_ruletree::exec::{plan, ExecReq, Plan};
    use std::os::unix::ffi::OsStrExt;
    let data = std::fs::read(dir.join("ruletree.bin"))
        .with_context(|| format!("session {}", dir.display()))?;
    let tree = sb2_ruletree::format::Tree::new(&data)
        .map_err(|e| anyhow!("session {}: {}", dir.display(), e.message()))?;
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
    };
    let prog = argv[0].as_bytes();
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let req = ExecReq {
        dirfd: None,
        path: prog,
        argv0: prog,
        search: Some(path.as_bytes()),
        follow: true,
    };
    let mut p = Plan::new();
    if let Err(e) = plan(&ctx, &sb2_ruletree::sys::Sys, &req, &mut p) {
        return Ok(Err(e));
    }
    let os = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_os_string();
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

fn spawn(
    dir: &Path,
    mode: Option<&str>,
    target: &Target,
    command: Vec<OsString>,
    quiet: bool,
    vp: Option<Vperm>,
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
        vec![std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into())]
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
    let mut preload = OsString::from(preload_entry(dir)?);
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|s| !s.is_empty()) {
        preload.push(":");
        preload.push(old);
    }
    cmd.env(SESSION_VAR, dir).env("LD_PRELOAD", preload);
    let vperm_var = String::from_utf8_lossy(sb2_ruletree::vperm::IDS_VAR).into_owned();
    match vp {
        Some(v) => cmd.env(&vperm_var, crate::vperm::ids_env(v.ids)),
        None => cmd.env_remove(&vperm_var),
    };
    match mode {
        Some(m) => cmd.env(MODE_VAR, m),
        None => cmd.env_remove(MODE_VAR),
    };
    // SAFETY: installing a handler that only calls kill(2).
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            libc::signal(sig, relay as *const () as libc::sighandler_t);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let prog = command.first().cloned().unwrap_or_else(|| "shell".into());
            return Ok(report_spawn_error(&prog, e));
        }
    };
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    };
    CHILD.store(0, Ordering::SeqCst);
    if let Some(code) = status.code() {
        return Ok(code);
    }
    let sig = status.signal().unwrap_or(0);
    if !quiet || sig != libc::SIGPIPE {
        eprintln!(
            "sb2: command terminated by signal {sig} ({}){}",
            signal_name(sig),
            if status.core_dumped() {
                ", core dumped"
            } else {
                ""
            }
        );
    }
    Ok(128 + sig)
}

/// The info file of a persistent session (`-S FILE`).
struct Info {
    dir: PathBuf,
    target: String,
    modes: Vec<String>,
}

impl Info {
    fn write(&self, f: &Path) -> Result<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(f)
            .with_context(|| format!("-S {}: the session file must not exist", f.display()))?;
        writeln!(file, "SB2 SessionInfo 1")?;
        writeln!(file, "SESSION_DIR={}", self.dir.display())?;
        writeln!(file, "TARGET={}", self.target)?;
        writeln!(file, "MODES={}", self.modes.join(","))?;
        Ok(())
    }
    fn read(f: &Path) -> Result<Info> {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("session file {}", f.display()))?;
        if !text.starts_with("SB2 SessionInfo") {
            bail!("{}: not an sb2 session file", f.display());
        }
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(str::to_string)
        };
        let dir = PathBuf::from(
            get("SESSION_DIR=").ok_or_else(|| anyhow!("{}: no SESSION_DIR", f.display()))?,
        );
        if !dir.join("ruletree.bin").exists() {
            bail!(
                "{}: its session directory {} is gone",
                f.display(),
                dir.display()
            );
        }
        Ok(Info {
            dir,
            target: get("TARGET=").unwrap_or_else(|| config::HOST_TARGET.into()),
            modes: get("MODES=")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

fn delete(f: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(f).with_context(|| format!("session file {}", f.display()))?;
    if !text.starts_with("SB2 SessionInfo") {
        bail!("{}: not an sb2 session file", f.display());
    }
    if let Some(d) = text.lines().find_map(|l| l.strip_prefix("SESSION_DIR=")) {
        remove_session_dir(Path::new(d));
    }
    std::fs::remove_file(f)?;
    Ok(())
}
