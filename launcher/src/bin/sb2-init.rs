//! `sb2-init`: create a target from the current directory (its root file
//! system), Scratchbox2's interface: `sb2-init [options] NAME [COMPILER]`.

use anyhow::{bail, Context, Result};
use clap::Parser;
use sb2_launcher::config::{self, Target};
use std::path::Path;
use std::process::Command;

#[derive(Parser)]
#[command(
    name = "sb2-init",
    about = "Create an sb2 target; run it in the target's root directory",
    disable_version_flag = true
)]
struct Cli {
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
    #[arg(short = 'v')]
    version: bool,
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

fn run(cli: Cli) -> Result<()> {
    if cli.version {
        println!("sb2-init {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let Some(name) = cli.name.clone() else {
        eprintln!(
            "usage: sb2-init [options] NAME [COMPILER]   (run in the target root; -h for options)"
        );
        let targets = config::list()?;
        if targets.is_empty() {
            eprintln!("no targets yet");
        }
        for t in targets {
            let tg = Target::load(&t)?;
            eprintln!("  {t}: {}  ({})", tg.root(), tg.get("INIT_ARGS"));
        }
        std::process::exit(1);
    };
    if name.is_empty() || name.contains('/') || name == config::HOST_TARGET || name.starts_with('.')
    {
        bail!(
            "bad target name '{name}' (no '/', not '{}')",
            config::HOST_TARGET
        );
    }
    let rules = sb2_launcher::install::rules_dir()?;
    let modes = sb2_launcher::install::modes(&rules);
    if !modes.contains(&cli.mode) {
        bail!(
            "unknown mapping mode '{}'; valid modes: {}",
            cli.mode,
            modes.join(", ")
        );
    }
    let root = std::env::current_dir()?.canonicalize()?;
    if !cli.skip_checks {
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
    set("MODE", &cli.mode);
    let mut arch = cli.arch.clone();
    if let Some(c) = &cli.compiler {
        let machine = compiler_info(c, "-dumpmachine")?;
        let version = compiler_info(c, "-dumpversion")?;
        let path = which(c).unwrap_or_else(|| c.clone());
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
    set("UNAME_MACHINE", cli.machine.as_deref().unwrap_or(&arch));
    let host_arch = std::env::consts::ARCH;
    let cpu = match &cli.cputransparency {
        Some(c) => c.clone(),
        None if arch != host_arch && which(&format!("qemu-{arch}")).is_some() => {
            format!("qemu-{arch}")
        }
        None => String::new(),
    };
    set("CPU_TRANSPARENCY", &cpu);
    set(
        "CPU_TRANSPARENCY_NATIVE",
        cli.cputransparency_native.as_deref().unwrap_or(""),
    );
    if let Some(tr) = &cli.tools_root {
        let p = Path::new(tr)
            .canonicalize()
            .with_context(|| format!("tools root {tr}"))?;
        set("TOOLS_ROOT", p.to_str().unwrap_or(""));
    }
    set("COMPILER_ARGS", cli.compiler_args.as_deref().unwrap_or(""));
    set("LINKER_ARGS", cli.linker_args.as_deref().unwrap_or(""));
    let argv: Vec<String> = std::env::args().skip(1).collect();
    set("INIT_ARGS", &argv.join(" "));
    let _ = (cli.no_libtool, cli.no_locales);
    let first = config::list()?.is_empty();
    t.save()?;
    if cli.default || first {
        config::set_default_target(&name)?;
    }
    println!(
        "sb2-init: target '{name}' created: root {}, arch {arch}, mode {}",
        root.display(),
        cli.mode
    );
    Ok(())
}

fn which(prog: &str) -> Option<String> {
    if prog.contains('/') {
        // Absolute, but not canonical: the name (aarch64-linux-gnu-gcc)
        // gives the tool prefix, its target (gcc-12) would not.
        return std::path::absolute(prog)
            .ok()
            .filter(|p| p.is_file())
            .and_then(|p| p.to_str().map(str::to_string));
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
            .and_then(|p| p.to_str().map(str::to_string))
    })
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("sb2-init: {e:#}");
        std::process::exit(1);
    }
}
