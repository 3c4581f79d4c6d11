//! What sb2 says when a session ends: its access violations (refused
//! writes and network calls, which every process appends to one file of
//! the session directory) and where the log of `-L` went.

use anyhow::{Context, Result};
use sb2_ruletree::contract::events::{text, Event, Kind};
use sb2_ruletree::contract::LOG_DIR_VAR;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Version of the `--json` violation summary's schema (docs/json.md).
pub const VIOLATIONS_SCHEMA_VERSION: u32 = 1;

/// Prints the session's violations (deduplicated) on stderr, as text or
/// with `--json` as JSON (`-`: on stderr instead of the text; a file: into
/// it as well), and returns how many there were.
pub fn violations(dir: &Path, quiet: bool, json: Option<&Path>, kernel: &[String]) -> usize {
    let text = std::fs::read_to_string(dir.join(sb2_ruletree::contract::VIOLATIONS_FILE))
        .unwrap_or_default();
    // Distinct violations in order of description, with the first record
    // of each and how often it happened.
    let mut seen: std::collections::BTreeMap<String, (serde_json::Value, usize)> =
        std::collections::BTreeMap::new();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // A line that is not a whole event (a process killed while
        // writing it) still was a violation: counted, shown as it is.
        n += 1;
        let record = serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|_| serde_json::json!({ "unreadable": line.trim() }));
        seen.entry(describe(line)).or_insert((record, 0)).1 += 1;
    }
    let to_stderr = json == Some(Path::new("-"));
    if let Some(target) = json {
        let doc = serde_json::json!({
            "schema": "sb2-violations",
            "version": VIOLATIONS_SCHEMA_VERSION,
            "total": n,
            "kernel": kernel,
            "violations": seen.iter().map(|(d, (rec, times))| {
                let mut v = rec.clone();
                if let Some(o) = v.as_object_mut() {
                    o.insert("times".into(), (*times).into());
                    o.insert("text".into(), d.clone().into());
                }
                v
            }).collect::<Vec<_>>(),
        });
        if to_stderr {
            eprintln!("{doc}");
        } else if let Err(e) = std::fs::write(target, format!("{doc}\n")) {
            eprintln!("sb2: --json: {}: {e}", target.display());
        }
    }
    if n > 0 && !quiet && !to_stderr {
        // Counted as listed: the same denial repeated is one.
        eprintln!("sb2: {} access violation(s):", seen.len());
        for d in seen.keys() {
            eprintln!("sb2:   {d}");
        }
        // What backs the count up: the kernel refuses what the preload
        // cannot see (static programs, raw system calls, qemu's).
        for k in kernel {
            eprintln!("sb2: {k}");
        }
    }
    n
}

/// One line of the violations file, for people.
fn describe(line: &str) -> String {
    let Ok(e) = serde_json::from_str::<Event>(line) else {
        return format!("(unreadable record) {}", line.trim());
    };
    let t = |s: &Option<String>| s.as_deref().map(text).unwrap_or_default();
    let (prog, func) = (t(&e.prog), t(&e.func));
    match e.ev {
        Some(Kind::Net) => format!(
            "{prog}: {func} {} port {} ({})",
            t(&e.addr),
            e.port.map(|p| p.to_string()).unwrap_or_default(),
            t(&e.errno)
        ),
        Some(Kind::Name) => format!("{prog}: {func} {} (name lookup denied)", t(&e.name)),
        _ => format!("{prog}: {func} {} ({})", t(&e.vpath), t(&e.errno)),
    }
}

/// `$SB2_LOG_DIR`, else `$XDG_STATE_HOME/sb2` (default
/// `~/.local/state/sb2`: logs are state a user may want to keep, not
/// configuration or cache), file `<command>.<date-time>.<pid>.log`.
pub fn log_path(command: &[OsString]) -> Result<PathBuf> {
    let dir = match std::env::var_os(LOG_DIR_VAR) {
        Some(d) => PathBuf::from(d),
        None => state_home().join("sb2"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("log directory {}", dir.display()))?;
    let cmd = command
        .first()
        .and_then(|c| Path::new(c).file_name())
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_else(|| "shell".into());
    let dir = dir.canonicalize()?;
    Ok(dir.join(format!("{cmd}.{}.{}.log", timestamp(), std::process::id())))
}

/// Local time as `YYYYMMDD-HHMMSS`.
fn timestamp() -> String {
    let mut buf = [0u8; 32];
    // SAFETY: time/localtime_r/strftime on our own buffers.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%Y%m%d-%H%M%S".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// Names the log file and its size, so the user can find it.
pub fn log_written(f: &Path) {
    let lines = std::fs::read_to_string(f)
        .map(|t| t.lines().count())
        .unwrap_or(0);
    eprintln!("sb2: log: {} ({lines} lines)", f.display());
}

/// `$XDG_STATE_HOME` (absolute, as the XDG base directory specification
/// requires), else `$HOME/.local/state`.
fn state_home() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d,
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into()))
            .join(".local/state"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_read_as_events() {
        assert_eq!(
            describe(
                r#"{"ev":"deny","pid":1,"prog":"touch","fn":"openat","vpath":"/etc/x","hpath":"/t/etc/x","errno":"EROFS","rule":"a.lua:3"}"#
            ),
            "touch: openat /etc/x (EROFS)"
        );
        assert_eq!(
            describe(
                r#"{"ev":"net","prog":"curl","fn":"connect","family":"ipv4","addr":"10.0.0.1","port":80,"verdict":"deny","errno":"EPERM"}"#
            ),
            "curl: connect 10.0.0.1 port 80 (EPERM)"
        );
        assert_eq!(
            describe(
                r#"{"ev":"name","prog":"curl","fn":"getaddrinfo","name":"example.org","verdict":"deny"}"#
            ),
            "curl: getaddrinfo example.org (name lookup denied)"
        );
        // Bytes escaped as \u00XX are shown as the UTF-8 they spell.
        assert_eq!(
            describe(
                r#"{"ev":"deny","prog":"sh","fn":"open","vpath":"/caf\u00c3\u00a9","errno":"EROFS"}"#
            ),
            "sh: open /café (EROFS)"
        );
        assert!(describe(r#"{"ev":"deny","prog":"s"#).starts_with("(unreadable record)"));
    }
}
