//! `sb2-show`: what a session's mapping does and which rule decided. It
//! runs the very pipeline the preload runs (sb2-ruletree), on the
//! session's ruletree, for a pretended caller (`-b` program, `-f`
//! function, `-p` exec policy).

mod exec;
pub mod hooks;
mod paths;
mod session;

pub use session::Session;

use crate::cli::usage;
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// `sb2-show`'s command line.
#[derive(Parser)]
#[command(
    name = "sb2-show",
    version,
    about = "Show what sb2's mapping does",
    after_help = "Exit status: 0; 1 when the session or libsb2.so cannot be read; \
                  125 for a bad command line."
)]
pub struct Args {
    /// Pretend to be this program (for binary_name rules)
    #[arg(short = 'b', value_name = "BINARY", default_value = "sb2-show")]
    binary: String,
    /// Pretend to be this libc function (selects the function class)
    #[arg(short = 'f', value_name = "FUNCTION", default_value = "open")]
    function: String,
    /// Pretend this exec policy is active
    #[arg(short = 'p', value_name = "POLICY", default_value = "")]
    policy: String,
    /// Don't follow a symlink in the final component (by default, as the
    /// function's declaration says)
    #[arg(short = 'n')]
    nofollow: bool,
    /// Show it inside a chroot to DIR (a path of the session's view, as
    /// chroot() would take it); by default, the chroot sb2-show runs in
    #[arg(long = "chroot", value_name = "DIR")]
    chroot: Option<OsString>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show the mapping of each path and the rule that decided it
    Path { paths: Vec<OsString> },
    /// Print only the host path of each path
    Which { paths: Vec<OsString> },
    /// Print the real (host) current directory
    Realcwd,
    /// Reverse-map host paths to virtual ones
    Reverse { paths: Vec<OsString> },
    /// Dump the session's ruletree
    Ruletree,
    /// Print the preload's hook table
    Hooks,
    /// Show how exec of PROG ARGS would run: policy, mapped path, final
    /// argv, environment changes (PROG is searched in PATH like execvp)
    Exec {
        // The program's own options are its arguments, not sb2-show's.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        argv: Vec<OsString>,
    },
}

/// Runs `sb2-show`.
pub fn run(a: Args) -> Result<()> {
    match &a.cmd {
        Cmd::Hooks => return hooks::print(),
        Cmd::Realcwd => return paths::realcwd(),
        _ => {}
    }
    let s = Session::open()?;
    let ctx = s.ctx(a.binary.as_bytes(), a.policy.as_bytes())?;
    let mut root = session::Root::default();
    let ctx = root.enter(ctx, a.chroot.as_deref())?;
    match &a.cmd {
        Cmd::Ruletree => print!("{}", sb2_ruletree::dump::dump(&s.tree())),
        Cmd::Path { paths } | Cmd::Which { paths } => {
            if paths.is_empty() {
                return Err(usage("give one or more paths"));
            }
            let terse = matches!(a.cmd, Cmd::Which { .. });
            let (_, rows) = hooks::load_installed()?;
            let decl = hooks::find(&rows, &a.function)?;
            paths::forward(&ctx, paths, decl, a.nofollow, terse);
        }
        Cmd::Reverse { paths } => paths::reverse(&ctx, paths)?,
        Cmd::Exec { argv } => exec::print(&ctx, argv)?,
        Cmd::Hooks | Cmd::Realcwd => {}
    }
    Ok(())
}
