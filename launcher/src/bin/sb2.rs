//! `sb2`: run a command (or a shell) in a session. Options follow
//! Scratchbox2's letters and meanings (docs/sb2.md).

use clap::Parser;
use sb2_launcher::session::{self, Options};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "sb2",
    about = "Run a command in a Scratchbox2-style build session",
    disable_version_flag = true,
    after_help = "Exit status: the command's own; 128+N if a signal N ended it; 127 command not found; \
                  126 cannot execute; 125 an error of sb2 itself."
)]
struct Cli {
    /// Target to use (default: sb2-config -d, else the built-in host target)
    #[arg(short = 't', value_name = "TARGET")]
    target: Option<String>,
    /// Mapping mode (repeatable only with -S; the first is the default)
    #[arg(short = 'm', value_name = "MODE")]
    mode: Vec<String>,
    /// Same as -m emulate
    #[arg(short = 'e')]
    emulate: bool,
    /// Read the fs mapping rules from FILE instead of the mode's fs_rules.lua
    #[arg(short = 'M', value_name = "FILE")]
    rule_file: Option<PathBuf>,
    /// Log level: error, warning, notice, net, info, debug, noise
    #[arg(short = 'L', value_name = "LEVEL")]
    log_level: Option<String>,
    /// Same as -L debug
    #[arg(short = 'd')]
    debug: bool,
    /// Quiet: no messages from sb2 itself
    #[arg(short = 'q')]
    quiet: bool,
    /// Print the version and exit
    #[arg(short = 'v')]
    version: bool,
    /// Use DIR (absolute, must not exist) as the session directory
    #[arg(short = 'W', value_name = "DIR")]
    session_dir: Option<PathBuf>,
    /// Mode-specific options, e.g. use-global-tmp
    #[arg(short = 'O', value_name = "OPTS")]
    mode_options: Option<String>,
    /// Create a persistent session and describe it in FILE (must not exist)
    #[arg(short = 'S', value_name = "FILE")]
    save: Option<PathBuf>,
    /// Join the persistent session described by FILE
    #[arg(short = 'J', value_name = "FILE")]
    join: Option<PathBuf>,
    /// Delete the persistent session described by FILE
    #[arg(short = 'D', value_name = "FILE")]
    delete: Option<PathBuf>,
    /// Override the target's tools root
    #[arg(short = 'T', value_name = "DIR")]
    tools_root: Option<PathBuf>,
    /// Virtual root: the command and its children see uid and gid 0 and
    /// may chown, chmod, mknod... (virtual permissions, like fakeroot)
    #[arg(short = 'R')]
    root: bool,
    /// Owner of files the user owns and nobody chowned (default 0.0); without
    /// -R also the processes' ids
    #[arg(short = 'U', value_name = "UID.GID")]
    unknown: Option<String>,
    /// Save the virtual permissions to FILE when the command ends (fakeroot -s)
    #[arg(short = 's', value_name = "FILE")]
    save_state: Option<PathBuf>,
    /// Load virtual permissions saved with -s before the command starts (fakeroot -i)
    #[arg(short = 'i', value_name = "FILE")]
    load_state: Option<PathBuf>,
    /// Network mode: online (default), offline, localhost,
    /// online_privatenets, or a network rule file (docs/net-rules.md)
    #[arg(short = 'n', value_name = "MODE|FILE")]
    net: Option<String>,
    /// Allow writes only below DIR (repeatable) and the session's own
    /// temporary directory; others fail with EROFS and are violations
    #[arg(long = "allow-write", value_name = "DIR")]
    allow_write: Vec<PathBuf>,
    /// Exit with status 1 if there were access violations (denied writes or
    /// network calls) and the command itself succeeded
    #[arg(long)]
    strict: bool,
    /// Record every path read, written, created, removed or executed, and
    /// every network decision, to FILE (JSON lines; see sb2-logz --report)
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// The command and its arguments (none: an interactive shell)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    if cli.version {
        println!("sb2 {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let mut modes = cli.mode;
    if cli.emulate {
        if !modes.is_empty() {
            eprintln!("sb2: -e and -m cannot be combined");
            std::process::exit(sb2_launcher::EXIT_SB2_ERROR);
        }
        modes.push("emulate".into());
    }
    let o = Options {
        target: cli.target,
        modes,
        rule_file: cli.rule_file,
        log_level: if cli.debug {
            Some("debug".into())
        } else {
            cli.log_level
        },
        quiet: cli.quiet,
        session_dir: cli.session_dir,
        mode_options: cli.mode_options,
        save: cli.save,
        join: cli.join,
        delete: cli.delete,
        tools_root: cli.tools_root,
        root: cli.root,
        unknown: cli.unknown,
        vperm_save: cli.save_state,
        vperm_load: cli.load_state,
        net: cli.net,
        allow_write: cli.allow_write,
        strict: cli.strict,
        trace: cli.trace,
        command: cli.command,
    };
    match session::run(o) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sb2: {e:#}");
            std::process::exit(sb2_launcher::EXIT_SB2_ERROR);
        }
    }
}
