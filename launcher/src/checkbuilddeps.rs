//! `sb2-checkbuilddeps`: what `dpkg-checkbuilddeps` is in a session with a
//! cross toolchain. A build there takes its tools from the host and its
//! libraries and headers from the target, so a build dependency is met
//! when either package database meets it, each asked the way Debian's
//! cross-building asks it:
//!
//! * the target's database (`--admindir=TARGET/var/lib/dpkg`), for the
//!   host architecture the session builds for: the target's `-dev`
//!   packages;
//! * the host's database, for the same host architecture, as a cross
//!   build: only `Multi-Arch: foreign` tools, `:native` and `Arch: all`
//!   packages count there, so a host `libfoo-dev:amd64` does not hide a
//!   missing `libfoo-dev` in the target.
//!
//! Unmet is what both runs report as unmet (the same dependency, as
//! dpkg prints it); a build conflict found in either counts. This is the
//! split Scratchbox2's Debian wrappers made (tools vs target build
//! dependencies). Both runs are the real dpkg-checkbuilddeps, with the
//! mapping off, so each sees exactly the database it is given.

use crate::show::Session;
use anyhow::{Context, Result};
use sb2_ruletree::contract::{key, DISABLE_VAR};
use std::ffi::OsString;
use std::process::{Command, Stdio};

const REAL: &str = "/usr/bin/dpkg-checkbuilddeps";
const UNMET: &str = "Unmet build dependencies: ";
const CONFLICTS: &str = "Build conflicts: ";

/// One run's verdict: its exit status, the unmet dependencies and build
/// conflicts it listed, and its other stderr lines.
struct Verdict {
    code: i32,
    unmet: Vec<String>,
    conflicts: Vec<String>,
    other: Vec<String>,
}

/// Splits dpkg's printed list (`a (>= 1) b | c [amd64] d`) into its
/// dependencies: a new one starts at a word outside (), [] and <> that
/// does not continue an alternative.
pub fn split_deps(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let (mut paren, mut square, mut angle) = (0i32, 0i32, 0i32);
    let mut alternative = false;
    for word in s.split_whitespace() {
        let open = paren == 0 && square == 0 && angle == 0;
        let continues =
            alternative || word == "|" || word.starts_with(['(', '[', '<']) || cur.is_empty();
        if open && !continues {
            out.push(std::mem::take(&mut cur));
        }
        alternative = word == "|";
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
        for c in word.chars() {
            match c {
                '(' => paren += 1,
                ')' => paren -= 1,
                '[' if paren == 0 => square += 1,
                ']' if paren == 0 => square -= 1,
                '<' if paren == 0 => angle += 1,
                '>' if paren == 0 => angle -= 1,
                _ => {}
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Starts the real dpkg-checkbuilddeps on one database.
fn start(
    args: &[OsString],
    admindir: Option<&str>,
    host_arch: &str,
) -> Result<std::process::Child> {
    let mut cmd = Command::new("perl");
    // Through perl, so that this exec is not rewritten back to us.
    cmd.arg(REAL).env(DISABLE_VAR, "1");
    if let Some(d) = admindir {
        cmd.arg(format!("--admindir={d}"));
    }
    if !host_arch.is_empty() {
        cmd.args(["-a", host_arch]);
    }
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running dpkg-checkbuilddeps")
}

/// What a run said.
fn verdict(child: std::process::Child) -> Result<Verdict> {
    let out = child.wait_with_output()?;
    let mut v = Verdict {
        code: out.status.code().unwrap_or(2),
        unmet: Vec::new(),
        conflicts: Vec::new(),
        other: Vec::new(),
    };
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let msg = line.split_once("error: ").map_or(line, |x| x.1);
        if let Some(l) = msg.strip_prefix(UNMET) {
            v.unmet = split_deps(l);
        } else if let Some(l) = msg.strip_prefix(CONFLICTS) {
            v.conflicts = split_deps(l);
        } else {
            v.other.push(line.to_string());
        }
    }
    Ok(v)
}

/// The architecture the session builds for, as dpkg-architecture sees it
/// in the session (the cross compiler's).
fn session_host_arch() -> String {
    Command::new("dpkg-architecture")
        .arg("-qDEB_HOST_ARCH")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|a| !a.is_empty())
        .unwrap_or_default()
}

/// Runs `sb2-checkbuilddeps ARGS...`; returns the exit status.
pub fn run(args: Vec<OsString>) -> Result<i32> {
    let root = Session::open().ok().and_then(|s| {
        s.tree()
            .constant(key::TARGET_ROOT.as_bytes())
            .map(|r| String::from_utf8_lossy(r).into_owned())
    });
    let Some(root) = root.filter(|r| r != "/") else {
        // No target: the real one, as it is.
        let st = Command::new("perl").arg(REAL).args(&args).status()?;
        return Ok(st.code().unwrap_or(2));
    };
    // dpkg-buildpackage gives -aARCH; run by hand, the session's.
    let given = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a.starts_with("-a") || a.starts_with("--host-arch")
    });
    let arch = if given {
        String::new()
    } else {
        session_host_arch()
    };
    let admindir = format!("{root}/var/lib/dpkg");
    // Both at once: each is a perl start-up and a database load.
    let target = start(&args, Some(&admindir), &arch)?;
    let host = start(&args, None, &arch)?;
    let (target, host) = (verdict(target)?, verdict(host)?);
    for v in [&target, &host] {
        if v.code > 1 {
            for l in &v.other {
                eprintln!("{l}");
            }
            return Ok(v.code);
        }
    }
    for l in &target.other {
        eprintln!("{l}");
    }
    let unmet: Vec<&String> = target
        .unmet
        .iter()
        .filter(|d| host.unmet.contains(d))
        .collect();
    let mut conflicts: Vec<&String> = target.conflicts.iter().collect();
    conflicts.extend(
        host.conflicts
            .iter()
            .filter(|c| !target.conflicts.contains(c)),
    );
    let join = |l: &[&String]| l.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
    if !unmet.is_empty() {
        eprintln!(
            "dpkg-checkbuilddeps: error: {UNMET}{} (neither in the target {root} nor, as tools, on the host)",
            join(&unmet)
        );
    }
    if !conflicts.is_empty() {
        eprintln!(
            "dpkg-checkbuilddeps: error: {CONFLICTS}{}",
            join(&conflicts)
        );
    }
    Ok(i32::from(!unmet.is_empty() || !conflicts.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::split_deps;

    #[test]
    fn dependencies_as_dpkg_prints_them() {
        assert_eq!(
            split_deps("debhelper-compat (= 13) help2man texinfo"),
            ["debhelper-compat (= 13)", "help2man", "texinfo"]
        );
        assert_eq!(
            split_deps("a (>= 1.2) | b [amd64] <!nocheck> c:native (<< 2) d"),
            ["a (>= 1.2) | b [amd64] <!nocheck>", "c:native (<< 2)", "d"]
        );
        assert!(split_deps("").is_empty());
    }
}
