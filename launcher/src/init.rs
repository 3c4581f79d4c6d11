//! `sb2-init`: create a target from the current directory (its root file
//! system), Scratchbox2's interface: `sb2-init [options] NAME [COMPILER]`.
//! What it cannot find out from the root it asks the cross compiler
//! (triplet, version, search directories).

use crate::cli::usage;
use crate::config::{self, Target};
use crate::install;
use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::Path;
use std::process::Command;

/// `sb2-init`'s command line.
#[derive(Parser)]
#[command(
    name = "sb2-init",
    version,
    about = "Create an sb2 target; run it in the target's root directory",
    disable_version_flag = true,
    after_help = "Exit status: 0; 1 when the target cannot be created (not a target root, \
                  compiler not found...); 125 for a bad command line."
)]
pub struct Args {
    /// CPU transparency command for target binaries (e.g. qemu-aarch64)
    #[arg(short = 'c', value_name = "CMD")]
    cputransparency: Option<String>,
    /// CPU transparency command for static host-arch binaries
    #[arg(short = 'p', value_name = "CMD")]
    cputransparency_native: Option<String>,
    /// Tools root (a host-arch distribution to take tools from)
    #[arg(short = 't', value_name = "DIR")]
    tools_root: Option<String>,
    /// Default mapping mode of the target
    #[arg(short = 'm', value_name = "MODE", default_value = "simple")]
    mode: String,
    /// Make it the default target
    #[arg(short = 'd')]
    default: bool,
    /// Target architecture (instead of asking the compiler)
    #[arg(short = 'A', value_name = "ARCH")]
    arch: Option<String>,
    /// Machine name uname() reports (default: the architecture)
    #[arg(short = 'M', value_name = "MACHINE")]
    machine: Option<String>,
    /// Extra cross-compiler options
    #[arg(short = 'C', value_name = "OPTS")]
    compiler_args: Option<String>,
    /// Extra cross-linker options
    #[arg(short = 'L', value_name = "OPTS")]
    linker_args: Option<String>,
    /// Don't build libtool (sb2 never does; accepted for compatibility)
    #[arg(short = 'n')]
    no_libtool: bool,
    /// Don't generate locales (accepted for compatibility)
    #[arg(short = 'N')]
    no_locales: bool,
    /// Skip the target root sanity checks
    #[arg(short = 's')]
    skip_checks: bool,
    /// Print the version
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
    /// Target name
    name: Option<String>,
    /// Cross compiler (its -dumpmachine gives the architecture)
    compiler: Option<String>,
}

fn compiler_info(c: &str, arg: &str) -> Result<String> {
    let out = Command::new(c)
        .arg(arg)
        .output()
        .with_context(|| format!("running {c} {arg}"))?;
    if !out.status.success() {
        bail!("{c} {arg} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Without a NAME: says so and lists the existing targets (what a user
/// running it bare wants to know).
fn no_name() -> Result<i32> {
    eprintln!("sb2-init: missing the target NAME (sb2-init [options] NAME [COMPILER], run in the target root); see 'sb2-init --help'");
    let targets = config::list()?;
    if targets.is_empty() {
        eprintln!("no targets yet");
    }
    for t in targets {
        let tg = Target::load(&t)?;
        eprintln!("  {t}: {}  ({})", tg.root(), tg.get("INIT_ARGS"));
    }
    Ok(crate::EXIT_SB2_ERROR)
}

/// A usable root has headers and a C library, unless `-s`.
fn check_root(root: &Path) -> Result<()> {
    let libc_found = ["lib/libc.so.6", "usr/lib/libc.so.6", "usr/lib/libc.so"]
        .iter()
        .any(|p| root.join(p).exists())
        || std::fs::read_dir(root.join("usr/lib"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.path().join("libc.so.6").exists())
            })
            .unwrap_or(false);
    if !root.join("usr/include/stdio.h").exists() || !libc_found {
        bail!(
            "{} does not look like a target root (needs usr/include/stdio.h and libc.so.6); run sb2-init in the root, or use -s to skip this check",
            root.display()
        );
    }
    Ok(())
}

/// Runs `sb2-init`; returns its exit status.
pub fn run(a: Args) -> Result<i32> {
    let Some(name) = a.name.clone() else {
        return no_name();
    };
    if name.is_empty() || name.contains('/') || name == config::HOST_TARGET || name.starts_with('.')
    {
        return Err(usage(format!(
            "bad target name '{name}' (no '/', not '{}')",
            config::HOST_TARGET
        )));
    }
    let rules = install::rules_dir()?;
    let modes = install::modes(&rules);
    if !modes.contains(&a.mode) {
        return Err(usage(format!(
            "unknown mapping mode '{}'; valid modes: {}",
            a.mode,
            modes.join(", ")
        )));
    }
    let root = std::env::current_dir()?.canonicalize()?;
    if !a.skip_checks {
        check_root(&root)?;
    }
    let mut t = Target {
        name: name.clone(),
        ..Default::default()
    };
    let mut set = |k: &str, v: &str| {
        t.values.insert(k.into(), v.into());
    };
    set("NAME", &name);
    set("TARGET_ROOT", root.to_str().unwrap_or("/"));
    set("MODE", &a.mode);
    let mut arch = a.arch.clone();
    if let Some(c) = &a.compiler {
        let machine = compiler_info(c, "-dumpmachine")?;
        let version = compiler_info(c, "-dumpversion")?;
        let path = install::which(c)
            .and_then(|p| p.to_str().map(str::to_string))
            .unwrap_or_else(|| c.clone());
        set("COMPILER", &path);
        set("COMPILER_TRIPLET", &machine);
        set("COMPILER_VERSION", &version);
        // Where it finds its programs and libraries (`-print-search-dirs`),
        // for sb2-config showtarget and for rules that need them.
        if let Ok(dirs) = compiler_info(c, "-print-search-dirs") {
            for line in dirs.lines() {
                if let Some(v) = line.strip_prefix("programs: =") {
                    set("COMPILER_PROGRAM_DIRS", v);
                } else if let Some(v) = line.strip_prefix("libraries: =") {
                    set("COMPILER_LIBRARY_DIRS", v);
                } else if let Some(v) = line.strip_prefix("install: ") {
                    set("COMPILER_INSTALL_DIR", v);
                }
            }
        }
        if arch.is_none() {
            arch = machine.split('-').next().map(str::to_string);
        }
    }
    let arch = arch.unwrap_or_else(|| std::env::consts::ARCH.to_string());
    set("ARCH", &arch);
    set("UNAME_MACHINE", a.machine.as_deref().unwrap_or(&arch));
    let cpu = match &a.cputransparency {
        Some(c) => c.clone(),
        None if arch != std::env::consts::ARCH
            && install::which(&format!("qemu-{arch}")).is_some() =>
        {
            format!("qemu-{arch}")
        }
        None => String::new(),
    };
    set("CPU_TRANSPARENCY", &cpu);
    set(
        "CPU_TRANSPARENCY_NATIVE",
        a.cputransparency_native.as_deref().unwrap_or(""),
    );
    if let Some(tr) = &a.tools_root {
        let p = Path::new(tr)
            .canonicalize()
            .with_context(|| format!("tools root {tr}"))?;
        set("TOOLS_ROOT", p.to_str().unwrap_or(""));
    }
    set("COMPILER_ARGS", a.compiler_args.as_deref().unwrap_or(""));
    set("LINKER_ARGS", a.linker_args.as_deref().unwrap_or(""));
    // Recorded so `sb2-init` without a NAME can show how each target was made.
    let argv: Vec<String> = std::env::args().skip(1).collect();
    set("INIT_ARGS", &argv.join(" "));
    let _ = (a.no_libtool, a.no_locales);
    let first = config::list()?.is_empty();
    t.save()?;
    if a.default || first {
        config::set_default_target(&name)?;
    }
    println!(
        "sb2-init: target '{name}' created: root {}, arch {arch}, mode {}",
        root.display(),
        a.mode
    );
    Ok(0)
}
