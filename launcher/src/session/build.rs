//! The session's ruletree: the constants the rules and the preload read
//! (roots, directories, target facts, log settings, write protection),
//! the mode rule files, the toolchain rewrites and the `-n` network rules,
//! compiled once and written to the session directory for every process
//! to map. The compile's result is reused from the cache ([`super::cache`])
//! when everything it was made from is unchanged: the session directory
//! and log file, which differ per session, are compiled as placeholders
//! and substituted afterwards.

use super::{cache, resolve, Options};
use crate::config::Target;
use crate::install;
use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::compile::{self, codec};
use sb2_ruletree::contract::events::field;
use sb2_ruletree::contract::{key, LogLevel, RULETREE_FILE};
use std::path::{Path, PathBuf};

/// Where to find everything a session's ruletree is built from.
pub struct Sources<'a> {
    pub target: &'a Target,
    pub rules: &'a Path,
    pub modes: &'a [String],
    pub log_file: Option<&'a Path>,
}

/// Stand-ins the rules are compiled with for the session directory and
/// the log file (per-session values): absolute paths of one component, so
/// that they pass any check a real path passes, in a spelling no real
/// path has.
const SESSION_PLACEHOLDER: &str = "/@sb2-session-dir@";
const LOG_PLACEHOLDER: &str = "/@sb2-log-file@";

/// Where a session's rules came from.
pub enum Origin {
    /// The cache entry FILE.
    Cached(PathBuf),
    /// Compiled and stored in the cache entry FILE; why an entry there
    /// was not used, if there was one.
    Stored(PathBuf, Option<String>),
    /// Compiled, not cached (the reason).
    Compiled(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Cached(p) => write!(f, "cached ({})", p.display()),
            Origin::Stored(p, None) => write!(f, "compiled, cached in {}", p.display()),
            Origin::Stored(p, Some(why)) => {
                write!(f, "compiled ({why}), cached in {}", p.display())
            }
            Origin::Compiled(why) => write!(f, "compiled, not cached: {why}"),
        }
    }
}

type Built = (
    sb2_ruletree::model::Session,
    compile::record::Record,
    Origin,
);

/// Compiles the session's ruletree into `dir`, or takes it from the cache
/// (`use_cache`). Written under a temporary name and renamed, so the file
/// either is whole or is not there.
pub fn build(o: &Options, src: &Sources, dir: &Path, use_cache: bool) -> Result<Origin> {
    let real_dir = canon(dir)?;
    let real_log = src
        .log_file
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cache_dir = if use_cache { cache::dir() } else { None };
    let pairs = vec![
        (SESSION_PLACEHOLDER.to_string(), real_dir.clone()),
        (LOG_PLACEHOLDER.to_string(), real_log.clone()),
    ];
    let (mut session, record, origin) = match cache_dir {
        Some(cdir) => {
            let mut input = input(o, src, SESSION_PLACEHOLDER, LOG_PLACEHOLDER)?;
            input.placeholders = pairs.clone();
            from_cache(input, &cdir)?
        }
        None => {
            let why = match use_cache {
                true => "no cache directory ($XDG_CACHE_HOME and $HOME unset)",
                false => "--no-cache or SB2_NO_CACHE",
            };
            let c = compile_input(&input(o, src, &real_dir, &real_log)?)?;
            (c.session, c.record, Origin::Compiled(why.into()))
        }
    };
    record.replay();
    codec::substitute(&mut session, &pairs);
    let bytes =
        sb2_ruletree::format::write(&session).map_err(|e| anyhow!("rule file error: {e}"))?;
    let tmp = dir.join(format!("{RULETREE_FILE}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    // Read-only: every process maps it in place, and a truncation would
    // take the pages from under them.
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o444))?;
    std::fs::rename(&tmp, dir.join(RULETREE_FILE))?;
    Ok(origin)
}

fn compile_input(input: &compile::Input) -> Result<compile::Compiled> {
    compile::compile(input).map_err(|e| anyhow!("rule file error: {e}"))
}

/// The session's rules from the cache entry of `input` (which has
/// placeholders), else compiled, and stored when the compile allows it.
fn from_cache(input: compile::Input, cdir: &Path) -> Result<Built> {
    // A value holding a placeholder's spelling would be substituted too.
    let mut inputs = cache::key_material(&compile::Input {
        placeholders: Vec::new(),
        ..input.clone()
    });
    for (_, real) in &input.placeholders {
        inputs.extend_from_slice(real.as_bytes());
    }
    let inputs = String::from_utf8_lossy(&inputs)
        .replace(SESSION_PLACEHOLDER, "")
        .replace(LOG_PLACEHOLDER, "");
    if inputs.contains("/@sb2-") {
        return recompile(input, "an input holds the text /@sb2-".into());
    }
    let key = cache::key_material(&input);
    let entry = cache::entry_path(cdir, &key);
    let why = match cache::lookup(&entry, &key) {
        Ok(hit) => return Ok((hit.session, hit.record, Origin::Cached(entry))),
        Err(cache::Miss::Absent) => None,
        Err(cache::Miss::Damaged(d)) => Some(format!("entry replaced: {d}")),
        Err(cache::Miss::Changed(c)) => Some(format!("entry replaced: {c}")),
    };
    let c = compile_input(&input)?;
    if let Some(u) = c.record.uncacheable.clone() {
        // The result may depend on this session's real values (or the
        // rules looked into a placeholder): compile as without a cache.
        return recompile(input, u);
    }
    match cache::store(&entry, &key, &c.record, &c.session) {
        Ok(()) => {
            cache::prune(cdir);
            Ok((c.session, c.record, Origin::Stored(entry, why)))
        }
        Err(e) => Ok((c.session, c.record, Origin::Compiled(format!("{e:#}")))),
    }
}

/// Compiles `input` with its placeholders replaced by the real values.
fn recompile(mut input: compile::Input, why: String) -> Result<Built> {
    let pairs = std::mem::take(&mut input.placeholders);
    let mut s = sb2_ruletree::model::Session {
        constants: std::mem::take(&mut input.constants),
        ..Default::default()
    };
    codec::substitute(&mut s, &pairs);
    input.constants = s.constants;
    let c = compile_input(&input)?;
    Ok((c.session, c.record, Origin::Compiled(why)))
}

/// What the compile is given: constants (with `session_dir` and
/// `log_file` as the values of those), the modes' rule files, the
/// toolchain's argv rewrites and the network rule file.
fn input(o: &Options, src: &Sources, session_dir: &str, log_file: &str) -> Result<compile::Input> {
    let mut constants = constants(o, src, session_dir, log_file)?;
    let header = trace_header(&src.target.name, &constants);
    let lib = install::libsb2()?;
    let entry = crate::xtarget::preload_dir(&lib, src.target)?;
    let (argvmods, tool_dir, tool_names) = crate::xtarget::toolchain(src.target)?;
    let mut c = |k: &str, v: String| constants.push((k.to_owned(), v));
    for (k, v) in cpu_constants(src.target)? {
        c(k, v);
    }
    c(key::TOOLCHAIN_NAMES, tool_names.join(" "));
    c(key::TOOLCHAIN_DIR, canon(&tool_dir)?);
    c(key::PRELOAD_ENTRY, entry);
    let compiler = src.target.get("COMPILER");
    let tool_prefix = match compiler.strip_suffix("gcc") {
        Some(p) if p.ends_with('-') => p.to_string(),
        _ => String::new(),
    };
    c(key::TOOLCHAIN_PREFIX, tool_prefix);
    c(
        key::TOOLCHAIN_TRIPLET,
        src.target.get("COMPILER_TRIPLET").into(),
    );
    let mut mode_files = Vec::new();
    for (i, m) in src.modes.iter().enumerate() {
        let file = match (&o.rule_file, i) {
            (Some(f), 0) => f
                .canonicalize()
                .with_context(|| format!("rule file {}", f.display()))?,
            _ => src.rules.join("modes").join(m).join("fs_rules.lua"),
        };
        mode_files.push((m.clone(), file));
    }
    if !o.allow_write.is_empty() {
        // The session directory first: its tmp is the build's $TMPDIR.
        let mut dirs = vec![session_dir.to_string()];
        for d in &o.allow_write {
            dirs.push(canon(d).with_context(|| format!("--allow-write {}", d.display()))?);
        }
        c(key::ALLOW_WRITE, dirs.join("\n"));
    }
    c(
        key::VIOLATIONS_FILE,
        format!("{session_dir}/{}", sb2_ruletree::contract::VIOLATIONS_FILE),
    );
    if let Some(t) = &o.trace {
        c(
            key::TRACE_FILE,
            trace_path(t, &header)?.display().to_string(),
        );
    }
    if o.chroot_root_only {
        c(key::CHROOT_POLICY, "root".into());
    }
    if !o.binds.is_empty() {
        let mut lines = Vec::new();
        for b in &o.binds {
            let (dir, inside) = match b.split_once(':') {
                Some((d, i)) => (d, i.to_string()),
                None => (b.as_str(), String::new()),
            };
            let outer = canon(Path::new(dir)).with_context(|| format!("--bind {b}"))?;
            let inside = if inside.is_empty() {
                outer.clone()
            } else {
                inside
            };
            if !inside.starts_with('/') || inside == "/" {
                bail!("--bind {b}: the place inside must be an absolute path other than /");
            }
            lines.push(format!("{}\t{outer}", inside.trim_end_matches('/')));
        }
        c(key::CHROOT_BINDS, lines.join("\n"));
    }
    Ok(compile::Input {
        rules_dir: src.rules.to_path_buf(),
        modes: mode_files,
        constants,
        argvmods,
        net: Some(resolve::net_file(src.rules, o.net.as_deref())?),
        placeholders: Vec::new(),
    })
}

/// The constants every mode's rules may read (as `sbox_*` globals and
/// friends): roots, directories, the target's names, the log settings.
/// Paths are canonical: rules compare them with resolved paths.
fn constants(
    o: &Options,
    src: &Sources,
    session_dir: &str,
    log_file: &str,
) -> Result<Vec<(String, String)>> {
    let target = src.target;
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
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| canon(&h).ok())
        .unwrap_or_default();
    // Without a tools root, tools come from the host.
    let tools = match tools_root.as_str() {
        "" => "/".to_owned(),
        t => t.to_owned(),
    };
    let v: Vec<(&str, String)> = vec![
        (key::TARGET_ROOT, target_root),
        (key::TOOLS_ROOT, tools_root),
        (key::TOOLS, tools),
        (key::SESSION_DIR, session_dir.to_string()),
        (key::WORKDIR, canon(Path::new("."))?),
        (key::USER_HOME, home),
        (key::SBOX_DIR, canon(&install::exe_dir()?)?),
        (key::RULES_DIR, canon(src.rules)?),
        (key::TARGET, target.name.clone()),
        (key::CPU, target.get("ARCH").into()),
        (key::UNAME_MACHINE, target.get("UNAME_MACHINE").into()),
        (key::MAPMODE, src.modes.first().cloned().unwrap_or_default()),
        (
            key::MODE_OPTIONS,
            o.mode_options.clone().unwrap_or_default(),
        ),
        (
            key::LOG_LEVEL,
            o.log_level.unwrap_or(LogLevel::DEFAULT).name().to_owned(),
        ),
        (key::LOG_FILE, log_file.to_string()),
    ];
    Ok(v.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// CPU transparency facts for the preload: the command (a full path), the
/// target's ELF machine and its binfmt_misc registration.
fn cpu_constants(target: &Target) -> Result<Vec<(&'static str, String)>> {
    let mut v = Vec::new();
    let host = crate::xtarget::host_arch();
    let Some(a) = crate::xtarget::arch(target.get("ARCH")) else {
        return Ok(v);
    };
    v.push((key::TARGET_ELF_MACHINE, a.machine.to_string()));
    let cmd = target.get("CPU_TRANSPARENCY");
    if a.machine == host.machine || cmd.is_empty() {
        return Ok(v);
    }
    let Some(path) = install::which(cmd.split_whitespace().next().unwrap_or(cmd)) else {
        bail!(
            "target '{}': CPU transparency command '{cmd}' not found (install qemu-user, or fix it with sb2-init -c)",
            target.name
        );
    };
    // The preload recognizes qemu by /proc/self/exe, which is canonical.
    let path = path.canonicalize().unwrap_or(path).display().to_string();
    let name = format!("sb2-{}", target.get("ARCH"));
    v.push((
        key::BINFMT_REGISTER,
        crate::xtarget::binfmt_register(&name, &a, &path),
    ));
    v.push((key::BINFMT_NAME, name));
    v.push((key::CPU_TRANSPARENCY, path));
    let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    v.push((key::CPU_TRANSPARENCY_ARGS, args.join(" ")));
    Ok(v)
}

/// `--trace FILE` as an absolute path (processes in other directories
/// append to it), started afresh for this run with `header`.
fn trace_path(t: &Path, header: &str) -> Result<PathBuf> {
    let abs = if t.is_absolute() {
        t.to_path_buf()
    } else {
        std::env::current_dir()?.join(t)
    };
    std::fs::write(&abs, header).with_context(|| format!("--trace {}", abs.display()))?;
    Ok(abs)
}

/// The trace's first line (`"ev":"session"`): the session's roots, as
/// the rules map into them, so `sb2-logz --report` can ask a file read
/// from the target root of the target's own package database.
fn trace_header(target: &str, constants: &[(String, String)]) -> String {
    let get = |k: &str| {
        constants
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| field(v.as_bytes()))
            .unwrap_or_default()
    };
    // Only the fields it has: an `Event` would write every other as null.
    let e = serde_json::json!({
        "ev": "session",
        "pid": std::process::id(),
        "prog": "sb2",
        "fn": "main",
        "target": field(target.as_bytes()),
        "target_root": get(key::TARGET_ROOT),
        "tools_root": get(key::TOOLS_ROOT),
    });
    format!("{e}\n")
}

/// `p` without symlinks, `.` or `..`, as a UTF-8 string. Canonicalizing
/// walks the path from `/`, which fails (EACCES) where the user may not
/// search a parent, as in a build started in `p/c` after `chmod a-x p`,
/// where a path relative to the cwd still works natively: then the path
/// is opened (O_PATH, the kernel walks it as the user would) and the
/// kernel names what it opened.
fn canon(p: &Path) -> Result<String> {
    let c = match p.canonicalize() {
        Ok(c) => c,
        Err(e) => opened_name(p)
            .ok_or(e)
            .with_context(|| format!("{}", p.display()))?,
    };
    c.into_os_string()
        .into_string()
        .map_err(|_| anyhow!("{}: path is not UTF-8", p.display()))
}

/// The kernel's name of the file at `p`, by an O_PATH fd of it.
fn opened_name(p: &Path) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
        .open(p)
        .ok()?;
    let name = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()?;
    name.is_absolute().then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sb2_ruletree::contract::events::{bytes, Event, Kind};

    #[test]
    fn the_trace_header_is_a_session_event_of_the_schema() {
        let c = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let constants = [c(key::TOOLS_ROOT, ""), c(key::TARGET_ROOT, "/srv/café")];
        let line = trace_header("arm64", &constants);
        assert!(line.ends_with('\n') && !line.contains("null"), "{line}");
        let e: Event = serde_json::from_str(&line).expect("the schema");
        assert_eq!(e.ev, Some(Kind::Session));
        assert_eq!(e.target.as_deref(), Some("arm64"));
        let root = e.target_root.as_deref().map(bytes);
        assert_eq!(root.as_deref(), Some("/srv/café".as_bytes()));
        assert_eq!(e.tools_root.as_deref(), Some(""));
    }
}
