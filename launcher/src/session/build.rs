//! The session's ruletree: the constants the rules and the preload read
//! (roots, directories, target facts, log settings, write protection),
//! the mode rule files, the toolchain rewrites and the `-n` network rules,
//! compiled once and written to the session directory for every process
//! to map.

use super::{resolve, Options};
use crate::config::Target;
use crate::install;
use anyhow::{anyhow, bail, Context, Result};
use sb2_ruletree::compile;
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

/// Compiles the session's ruletree into `dir`. Written under a temporary
/// name and renamed, so the file either is whole or is not there.
pub fn build(o: &Options, src: &Sources, dir: &Path) -> Result<()> {
    let mut constants = constants(o, src, dir)?;
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
        let mut dirs = vec![canon(dir)?];
        for d in &o.allow_write {
            dirs.push(canon(d).with_context(|| format!("--allow-write {}", d.display()))?);
        }
        c(key::ALLOW_WRITE, dirs.join("\n"));
    }
    c(
        key::VIOLATIONS_FILE,
        dir.join(sb2_ruletree::contract::VIOLATIONS_FILE)
            .display()
            .to_string(),
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
    let input = compile::Input {
        rules_dir: src.rules.to_path_buf(),
        modes: mode_files,
        constants,
        argvmods,
        net: Some(resolve::net_file(src.rules, o.net.as_deref())?),
    };
    let session = compile::compile(&input).map_err(|e| anyhow!("rule file error: {e}"))?;
    let bytes =
        sb2_ruletree::format::write(&session).map_err(|e| anyhow!("rule file error: {e}"))?;
    let tmp = dir.join(format!("{RULETREE_FILE}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(RULETREE_FILE))?;
    Ok(())
}

/// The constants every mode's rules may read (as `sbox_*` globals and
/// friends): roots, directories, the target's names, the log settings.
/// Paths are canonical: rules compare them with resolved paths.
fn constants(o: &Options, src: &Sources, dir: &Path) -> Result<Vec<(String, String)>> {
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
        (key::SESSION_DIR, canon(dir)?),
        (key::WORKDIR, canon(&std::env::current_dir()?)?),
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
        (
            key::LOG_FILE,
            src.log_file
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
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

fn canon(p: &Path) -> Result<String> {
    let c = p
        .canonicalize()
        .with_context(|| format!("{}", p.display()))?;
    c.into_os_string()
        .into_string()
        .map_err(|_| anyhow!("{}: path is not UTF-8", p.display()))
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
