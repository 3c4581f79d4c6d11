//! `sb2-mkroot`: a Debian root file system for a target, made by an
//! ordinary user with one command.
//!
//! The work is mmdebstrap's (package resolution, the essential set, the
//! merged-/usr layout, hooks); sb2 supplies what it would need root for.
//! It runs inside an `sb2 -R` session on a private throwaway target for
//! DIR (mode `nomap`, `--allow-write DIR /tmp`): chown, mknod and set-id modes
//! are virtual, `chroot()` is simulated, and any write outside DIR fails
//! instead of touching the host.
//!
//! * Host architecture: `mmdebstrap --mode=root`. dpkg, apt and every
//!   maintainer script run inside the (simulated) chroot, with the root's
//!   own programs and libraries.
//! * Another architecture: `mmdebstrap --mode=chrootless`. The host's apt
//!   and dpkg unpack and register the packages (`dpkg --root=DIR`) and
//!   the maintainer scripts run with host tools and `DPKG_ROOT=DIR`, the
//!   interface Debian defines for exactly this. Running them in the root
//!   through qemu is not possible without root: a program under qemu
//!   makes raw system calls, so it sees neither the simulated chroot nor
//!   the virtual root, and a real chroot in a user namespace cannot own
//!   files as other users (root:shadow) without subordinate id ranges.
//!
//! Every package ends up in DIR's own dpkg database; `dpkg -l`, `dpkg -S`,
//! dpkg-shlibdeps and apt work against it. The apt package lists are kept,
//! so `apt-get install` works in the new root at once.

use crate::cli::usage;
use crate::install;
use crate::xtarget::{self, Arch};
use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `sb2-mkroot`'s command line.
#[derive(Parser, Debug)]
#[command(
    name = "sb2-mkroot",
    version,
    about = "Make a Debian root file system for an sb2 target, as an ordinary user",
    after_help = "Needs mmdebstrap; for another architecture qemu-user (qemu-ARCH), and with \
                  --init its cross compiler (gcc-TRIPLET). Missing tools are named, never \
                  installed.\n\nExit status: 0; 1 when the root cannot be made; 125 for a \
                  bad command line."
)]
pub struct Args {
    /// Debian architecture of the root (default: the host's)
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Debian release (default: the host's, from /etc/os-release)
    #[arg(long, value_name = "SUITE")]
    suite: Option<String>,
    /// Archive URL (default: the one the host's apt uses for that release)
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// More packages, comma-separated (their dependencies come along)
    #[arg(long, value_name = "PKG,...", value_delimiter = ',')]
    include: Vec<String>,
    /// mmdebstrap's variant: minbase (default), buildd, essential, apt...
    #[arg(long, value_name = "NAME", default_value = "minbase")]
    variant: String,
    /// Also create the sb2 target NAME on the root (sb2-init; adds
    /// libc6-dev to the packages)
    #[arg(long, value_name = "NAME")]
    init: Option<String>,
    /// The target's default mode with --init
    #[arg(long, value_name = "MODE", default_value = "simple")]
    mode: String,
    /// The directory to make (must not exist, or be empty)
    dir: PathBuf,
}

/// The architecture Debian calls `deb`.
fn arch(deb: &str) -> Result<Arch> {
    xtarget::ARCHES
        .iter()
        .find(|a| a.debian == deb)
        .copied()
        .ok_or_else(|| {
            usage(format!(
                "unknown architecture '{deb}'; valid: {}",
                xtarget::ARCHES.map(|a| a.debian).join(", ")
            ))
        })
}

/// The host's Debian architecture.
fn host_arch() -> Result<String> {
    let out = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .context("running dpkg --print-architecture (a Debian host is needed)")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The host's release name (`VERSION_CODENAME` of /etc/os-release).
fn host_suite() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// The archive the host's apt uses for `suite` (or, failing that, for
/// the host's own release): the first `deb` source listing it, in
/// sources.list and sources.list.d (one-line and deb822 formats).
pub fn host_mirror(suite: &str, host_suite: Option<&str>) -> Option<String> {
    let mut sources = Vec::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        match f.extension().and_then(|e| e.to_str()) {
            Some("sources") => sources.extend(deb822_sources(&text)),
            Some("list") | None => sources.extend(one_line_sources(&text)),
            _ => {}
        }
    }
    let pick = |s: &str| {
        sources
            .iter()
            .find(|(_, suites)| suites.iter().any(|x| x == s))
            .map(|(uri, _)| uri.clone())
    };
    pick(suite).or_else(|| host_suite.and_then(pick))
}

/// (URI, suites) of each `deb` line of a one-line sources.list.
fn one_line_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("deb") {
            continue;
        }
        let mut rest: Vec<&str> = w.collect();
        // `[arch=amd64 signed-by=...]` options come first.
        if rest.first().is_some_and(|x| x.starts_with('[')) {
            while let Some(x) = rest.first() {
                let end = x.ends_with(']');
                rest.remove(0);
                if end {
                    break;
                }
            }
        }
        if rest.len() >= 2 {
            out.push((rest[0].to_string(), vec![rest[1].to_string()]));
        }
    }
    out
}

/// (URI, suites) of each stanza with `Types: deb` of a deb822 file.
fn deb822_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let enabled = field("Enabled").is_none_or(|v| v != "no");
        let deb = field("Types").is_some_and(|t| t.split_whitespace().any(|x| x == "deb"));
        if let (true, true, Some(uris), Some(suites)) =
            (enabled, deb, field("URIs"), field("Suites"))
        {
            if let Some(uri) = uris.split_whitespace().next() {
                out.push((
                    uri.to_string(),
                    suites.split_whitespace().map(str::to_string).collect(),
                ));
            }
        }
    }
    out
}

/// Host tools this root needs that are missing, as "PROGRAM (package
/// PKG)".
fn missing_tools(a: &Arch, foreign: bool, init: bool) -> Vec<String> {
    let mut need = vec![("mmdebstrap".to_string(), "mmdebstrap".to_string())];
    if foreign {
        need.push((format!("qemu-{}", a.kernel), "qemu-user".to_string()));
    }
    if init {
        need.push((format!("{}-gcc", a.triplet), format!("gcc-{}", a.triplet)));
    }
    need.into_iter()
        .filter(|(prog, _)| install::which(prog).is_none())
        .map(|(prog, pkg)| format!("{prog} (package {pkg})"))
        .collect()
}

/// DIR, made if missing: it must be empty (mmdebstrap fills it).
fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                bail!(
                    "{} is not empty; give a new or empty directory",
                    dir.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?
        }
        Err(e) => return Err(anyhow!("{}: {e}", dir.display())),
    }
    let dir = dir.canonicalize()?;
    if dir == Path::new("/") {
        bail!("refusing to make a root file system in /");
    }
    Ok(dir)
}

/// A throwaway sb2 configuration with one target on DIR, for the session
/// that makes it (the user's own configuration is not touched).
fn private_config(dir: &Path, a: &Arch, foreign: bool) -> Result<PathBuf> {
    // A new directory of our own (create_dir fails on an existing name,
    // so nobody can hand us theirs in the shared temporary directory).
    let tmp = std::env::temp_dir();
    let mut n = 0u32;
    let base = loop {
        let b = tmp.join(format!("sb2-mkroot.{}.{n}", std::process::id()));
        match std::fs::create_dir(&b) {
            Ok(()) => break b,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(anyhow!("{}: {e}", b.display())),
        }
    };
    let tdir = base.join("sb2/targets/mkroot");
    std::fs::create_dir_all(&tdir)?;
    let cpu = if foreign {
        format!("qemu-{}", a.kernel)
    } else {
        String::new()
    };
    let config = format!(
        "SB2_CONFIG_VERSION={}\nNAME=mkroot\nTARGET_ROOT={}\nMODE=nomap\nARCH={}\nUNAME_MACHINE={}\nCPU_TRANSPARENCY={cpu}\n",
        crate::config::CONFIG_VERSION,
        dir.display(),
        a.kernel,
        a.kernel
    );
    std::fs::write(tdir.join("config"), config)?;
    Ok(base)
}

/// Runs `sb2-mkroot`; returns its exit status.
pub fn run(a: Args) -> Result<i32> {
    let host = host_arch()?;
    let arch = arch(a.arch.as_deref().unwrap_or(&host))?;
    let foreign = arch.debian != host;
    let host_suite = host_suite();
    let suite = a
        .suite
        .clone()
        .or_else(|| host_suite.clone())
        .ok_or_else(|| usage("no --suite given and /etc/os-release names no release"))?;
    let mut include = a.include.clone();
    if let Some(name) = &a.init {
        if name.is_empty() || name.contains('/') || name == crate::config::HOST_TARGET {
            return Err(usage(format!("bad target name '{name}' for --init")));
        }
        let modes = install::modes(&install::rules_dir()?);
        if !modes.contains(&a.mode) {
            return Err(usage(format!(
                "unknown mapping mode '{}'; valid modes: {}",
                a.mode,
                modes.join(", ")
            )));
        }
        include.push("libc6-dev".into());
    }
    let missing = missing_tools(&arch, foreign, a.init.is_some());
    if !missing.is_empty() {
        bail!(
            "missing host tools: {}; install them (e.g. apt-get install {}) and run again",
            missing.join(", "),
            missing
                .iter()
                .filter_map(|m| m.split("(package ").nth(1))
                .map(|p| p.trim_end_matches(')'))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let mirror = a
        .mirror
        .clone()
        .or_else(|| host_mirror(&suite, host_suite.as_deref()))
        .unwrap_or_else(|| "http://deb.debian.org/debian".into());
    let dir = prepare_dir(&a.dir)?;
    let config = private_config(&dir, &arch, foreign)?;
    let sb2 = install::exe_dir()?.join("sb2");
    let mut cmd = Command::new(&sb2);
    if foreign {
        // The host's debconf, run by maintainer scripts outside the root,
        // would open the host's databases (bookworm's debconf ignores
        // DPKG_ROOT): point it at the root's.
        let rc = config.join("debconf.conf");
        let db = dir.join("var/cache/debconf");
        std::fs::write(
            &rc,
            format!(
                "Config: configdb\nTemplates: templatedb\n\nName: configdb\nDriver: File\nFilename: {0}/config.dat\n\nName: templatedb\nDriver: File\nMode: 644\nFilename: {0}/templates.dat\n",
                db.display()
            ),
        )?;
        cmd.env("DEBCONF_SYSTEMRC", rc);
    }
    cmd.env("XDG_CONFIG_HOME", &config)
        .args(["-t", "mkroot", "-m", "nomap", "-R", "--allow-write"])
        .arg(&dir)
        // mmdebstrap runs dpkg-deb without TMPDIR (the session's own tmp).
        .args(["--allow-write", "/tmp"])
        .args(["--", "mmdebstrap"])
        .arg(if foreign {
            "--mode=chrootless"
        } else {
            "--mode=root"
        })
        .arg(format!("--variant={}", a.variant))
        .arg(format!("--architectures={}", arch.debian))
        // Target programs run through the session's qemu, not binfmt.
        .arg("--skip=check/qemu")
        // apt-get install works in the root without an update first.
        .arg("--skip=cleanup/apt/lists");
    // Debian's own way to a merged /usr (symlinks first, usr-is-merged),
    // rather than usrmerge's conversion of a finished tree; the "maybe"
    // hook leaves releases without usr-is-merged (bullseye) as they were.
    let hooks = Path::new("/usr/share/mmdebstrap/hooks");
    if let Some(h) = ["maybe-merged-usr", "merged-usr"]
        .iter()
        .map(|d| hooks.join(d))
        .find(|d| d.is_dir())
    {
        cmd.arg(format!("--hook-dir={}", h.display()));
    }
    if !include.is_empty() {
        cmd.arg(format!("--include={}", include.join(",")));
    }
    cmd.arg(&suite).arg(&dir).arg(&mirror);
    eprintln!(
        "sb2-mkroot: making a Debian {suite} {} root in {} from {mirror} ({})",
        arch.debian,
        dir.display(),
        if foreign {
            "host apt and dpkg on the root, maintainer scripts with DPKG_ROOT"
        } else {
            "everything inside the simulated chroot"
        }
    );
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("running {}", sb2.display()));
    let _ = std::fs::remove_dir_all(&config);
    let status = status?;
    if !status.success() {
        bail!(
            "mmdebstrap failed ({status}); {} is incomplete: remove it before trying again",
            dir.display()
        );
    }
    if foreign {
        // The host's apt, run on the root (sb2 -m install), must resolve
        // packages for the root's architecture; the root's own apt
        // ignores this (it is its native one).
        let conf = dir.join("etc/apt/apt.conf.d/00sb2-architecture");
        std::fs::write(
            &conf,
            format!(
                "// sb2-mkroot: the host's apt run on this root (sb2 -m install) resolves {0} packages\nAPT::Architecture \"{0}\";\nAPT::Architectures {{ \"{0}\"; }};\n",
                arch.debian
            ),
        )
        .with_context(|| format!("writing {}", conf.display()))?;
    }
    eprintln!(
        "sb2-mkroot: {} done in {:.1} s",
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    if let Some(name) = &a.init {
        let mut init = Command::new(install::exe_dir()?.join("sb2-init"));
        init.current_dir(&dir).args(["-m", &a.mode]);
        if foreign {
            init.args(["-c", &format!("qemu-{}", arch.kernel)]);
        }
        let st = init
            .arg(name)
            .arg(format!("{}-gcc", arch.triplet))
            .status()
            .context("running sb2-init")?;
        if !st.success() {
            bail!("sb2-init {name} failed in {}", dir.display());
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_in_both_formats() {
        let one = "# x\ndeb [arch=amd64 signed-by=/k.gpg] http://a/debian bookworm main\ndeb-src http://b bookworm main\ndeb http://c/debian trixie main\n";
        assert_eq!(
            one_line_sources(one),
            vec![
                ("http://a/debian".to_string(), vec!["bookworm".to_string()]),
                ("http://c/debian".to_string(), vec!["trixie".to_string()]),
            ]
        );
        let d = "Types: deb deb-src\nURIs: http://d/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://e\nSuites: trixie\n";
        assert_eq!(
            deb822_sources(d),
            vec![(
                "http://d/debian".to_string(),
                vec!["bookworm".to_string(), "bookworm-updates".to_string()]
            )]
        );
    }

    #[test]
    fn architectures_and_their_names() {
        let a = arch("arm64").unwrap();
        assert_eq!((a.kernel, a.triplet), ("aarch64", "aarch64-linux-gnu"));
        assert!(arch("vax")
            .unwrap_err()
            .to_string()
            .contains("valid: amd64, arm64"));
    }
}
