//! `sb2-config`: list targets, set the default one, and keep per-target
//! environment settings (Scratchbox2's interface).

use anyhow::{bail, Result};
use clap::Parser;
use sb2_launcher::config;

#[derive(Parser)]
#[command(
    name = "sb2-config",
    about = "Configure sb2 targets",
    disable_version_flag = true
)]
struct Cli {
    /// Set the default target
    #[arg(short = 'd', value_name = "TARGET")]
    default: Option<String>,
    /// List targets
    #[arg(short = 'l')]
    list: bool,
    /// Target for the command (default: the default target)
    #[arg(short = 't', value_name = "TARGET")]
    target: Option<String>,
    /// Print the version
    #[arg(short = 'v')]
    version: bool,
    /// showtarget | showenv | setenv VAR VALUE | clearenv VAR | unsetenv VAR
    command: Vec<String>,
}

fn run(cli: Cli) -> Result<()> {
    if cli.version {
        println!("sb2-config {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if let Some(t) = &cli.default {
        config::set_default_target(t)?;
    }
    if cli.list {
        for t in config::list()? {
            println!("{t}");
        }
    }
    let target = || -> Result<String> {
        match cli.target.clone().or_else(config::default_target) {
            Some(t) => {
                if !config::target_dir(&t).join("config").exists() {
                    bail!(
                        "no target named '{t}'; valid targets: {}",
                        config::list()?.join(", ")
                    );
                }
                Ok(t)
            }
            None => bail!("no default target; give one with -t or set it with sb2-config -d"),
        }
    };
    let args: Vec<&str> = cli.command.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => {
            if cli.default.is_none() && !cli.list {
                bail!("nothing to do; see sb2-config -h");
            }
        }
        ["showtarget"] => println!("{}", cli.target.clone().or_else(config::default_target).unwrap_or_else(|| config::HOST_TARGET.into())),
        ["showenv"] => {
            for (k, v) in config::Target::load(&target()?)?.env() {
                match v {
                    Some(v) => println!("{k}={v}"),
                    None => println!("{k} (unset)"),
                }
            }
        }
        ["setenv", var, value] => write_env(&target()?, var, value)?,
        ["clearenv", var] => write_env(&target()?, var, "")?,
        ["unsetenv", var] => {
            let f = config::target_dir(&target()?).join("env").join(var);
            if f.exists() {
                std::fs::remove_file(f)?;
            }
        }
        other => bail!("unknown command '{}'; commands: showtarget, showenv, setenv VAR VALUE, clearenv VAR, unsetenv VAR", other.join(" ")),
    }
    Ok(())
}

fn write_env(target: &str, var: &str, value: &str) -> Result<()> {
    if var.is_empty() || var.contains('=') || var.contains('/') {
        bail!("bad variable name '{var}'");
    }
    let d = config::target_dir(target).join("env");
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join(var), value)?;
    Ok(())
}

fn main() {
    // Behave like other command-line tools when the reader goes away
    // (`sb2-show hooks | head`): end quietly instead of panicking.
    // SAFETY: restoring the default disposition of one signal at start-up.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("sb2-config: {e:#}");
        std::process::exit(1);
    }
}
