//! `sb2-config`: list targets, set the default one, and keep per-target
//! environment settings (Scratchbox2's interface), on the files of
//! [`crate::config`].

use crate::cli::usage;
use crate::config;
use anyhow::{bail, Result};
use clap::Parser;

/// `sb2-config`'s command line.
#[derive(Parser)]
#[command(
    name = "sb2-config",
    version,
    about = "Configure sb2 targets",
    disable_version_flag = true,
    after_help = "Exit status: 0; 1 when the configuration cannot be read or written; \
                  125 for a bad command line."
)]
pub struct Args {
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
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
    /// showtarget | showenv | setenv VAR VALUE | clearenv VAR | unsetenv VAR
    command: Vec<String>,
}

/// Runs `sb2-config`.
pub fn run(a: Args) -> Result<()> {
    if let Some(t) = &a.default {
        config::set_default_target(t)?;
    }
    if a.list {
        for t in config::list()? {
            println!("{t}");
        }
    }
    let target = || -> Result<String> {
        match a.target.clone().or_else(config::default_target) {
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
    let words: Vec<&str> = a.command.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => {
            if a.default.is_none() && !a.list {
                return Err(usage("nothing to do"));
            }
        }
        ["showtarget"] => println!(
            "{}",
            a.target
                .clone()
                .or_else(config::default_target)
                .unwrap_or_else(|| config::HOST_TARGET.into())
        ),
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
        other => {
            return Err(usage(format!(
                "unknown command '{}'; commands: showtarget, showenv, setenv VAR VALUE, clearenv VAR, unsetenv VAR",
                other.join(" ")
            )))
        }
    }
    Ok(())
}

/// An empty file (clearenv) makes sessions unset the variable; no file
/// (unsetenv) lets them inherit it.
fn write_env(target: &str, var: &str, value: &str) -> Result<()> {
    if var.is_empty() || var.contains('=') || var.contains('/') {
        return Err(usage(format!("bad variable name '{var}'")));
    }
    let d = config::target_dir(target).join("env");
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join(var), value)?;
    Ok(())
}
