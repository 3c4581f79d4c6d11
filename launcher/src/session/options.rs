//! What `sb2` is asked to do: its command line (Scratchbox2's option
//! letters and meanings, plus sb2's long options) and the [`Options`] it
//! becomes, which `sb2-fakeroot` fills in too.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use sb2_ruletree::contract::LogLevel;
use std::ffi::OsString;
use std::path::PathBuf;

/// Everything `sb2` was asked to do.
#[derive(Debug, Default)]
pub struct Options {
    pub target: Option<String>,
    pub modes: Vec<String>,
    pub rule_file: Option<PathBuf>,
    pub log_level: Option<LogLevel>,
    pub quiet: bool,
    pub session_dir: Option<PathBuf>,
    pub mode_options: Option<String>,
    pub save: Option<PathBuf>,
    pub join: Option<PathBuf>,
    pub delete: Option<PathBuf>,
    pub tools_root: Option<PathBuf>,
    /// `-c`: a private copy-on-write layer over the target root.
    pub cow: bool,
    /// `-R`: the session's processes are root (virtual permissions).
    pub root: bool,
    /// `-U UID.GID`: owner of unknown files (and the ids, without `-R`).
    pub unknown: Option<String>,
    /// `-s FILE`: save the virtual permission table at the end.
    pub vperm_save: Option<PathBuf>,
    /// `-i FILE`: load a saved virtual permission table first.
    pub vperm_load: Option<PathBuf>,
    /// `-n MODE|FILE`: network rules (default online).
    pub net: Option<String>,
    /// `--allow-write DIR`: writes only below these (and the session's own
    /// directory).
    pub allow_write: Vec<PathBuf>,
    /// `--strict`: violations make the exit status non-zero.
    pub strict: bool,
    /// `--json[=FILE]`: the violation summary as JSON, on stderr ("-") or
    /// into FILE.
    pub json: Option<PathBuf>,
    /// `--trace FILE`: the access trace.
    pub trace: Option<PathBuf>,
    /// `--chroot=root`: chroot() needs the virtual root.
    pub chroot_root_only: bool,
    /// `--bind HOST[:INSIDE]`: outer directories visible in every chroot.
    pub binds: Vec<String>,
    /// `--no-cache`: compile the rules, neither using nor filling the
    /// ruletree cache.
    pub no_cache: bool,
    pub command: Vec<OsString>,
}

/// `-L`'s value: one of the level names the preload knows.
fn log_level() -> impl TypedValueParser<Value = LogLevel> {
    PossibleValuesParser::new(LogLevel::ALL.map(LogLevel::name))
        .map(|n| LogLevel::from_name(n.as_bytes()).unwrap_or(LogLevel::DEFAULT))
}

/// `sb2`'s command line.
#[derive(Parser)]
#[command(
    name = "sb2",
    version,
    about = "Run a command in a Scratchbox2-style build session",
    override_usage = "sb2 [OPTIONS] [--] [COMMAND [ARGS]...]",
    disable_version_flag = true,
    after_help = "Options after the command name are the command's; a command whose name \
                  starts with '-' needs '--' before it.\n\n\
                  Exit status: the command's own; 128+N if a signal N ended it; 127 command not found; \
                  126 cannot execute; 125 an error of sb2 itself (a bad option included); 86 with --strict: \
                  the command succeeded but made access violations."
)]
pub struct Args {
    /// Target to use (default: sb2-config -d, else the built-in host target)
    #[arg(short = 't', value_name = "TARGET")]
    target: Option<String>,
    /// Mapping mode (repeatable only with -S; the first is the default)
    #[arg(short = 'm', value_name = "MODE")]
    mode: Vec<String>,
    /// Same as -m emulate
    #[arg(short = 'e', conflicts_with = "mode")]
    emulate: bool,
    /// Read the fs mapping rules from FILE instead of the mode's fs_rules.lua
    #[arg(short = 'M', value_name = "FILE")]
    rule_file: Option<PathBuf>,
    /// Log level
    #[arg(short = 'L', value_name = "LEVEL", value_parser = log_level())]
    log_level: Option<LogLevel>,
    /// Same as -L debug
    #[arg(short = 'd', conflicts_with = "log_level")]
    debug: bool,
    /// Quiet: no messages from sb2 itself
    #[arg(short = 'q')]
    quiet: bool,
    /// Print the version and exit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
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
    /// Copy-on-write: a private layer over the target root takes every
    /// write (qemu-run and static programs too); dropped at exit, kept with -S
    #[arg(short = 'c')]
    cow: bool,
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
    /// Exit with status 86 if there were access violations (denied writes or
    /// network calls) and the command itself succeeded
    #[arg(long)]
    strict: bool,
    /// Write the violation summary as JSON (docs/json.md): alone, on stderr
    /// instead of the text; with =FILE, into FILE (always, even with none)
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    json: Option<PathBuf>,
    /// Record every path read, written, created, removed or executed, and
    /// every network decision, to FILE (JSON lines; see sb2-logz --report)
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Who may chroot() in the session (it is always simulated): any
    /// process (default, like Scratchbox2 and fakechroot), or only a
    /// virtual root (-R), others getting EPERM
    #[arg(long = "chroot", value_name = "WHO", value_parser = ["any", "root"], default_value = "any")]
    chroot: String,
    /// Make the directory DIR visible at INSIDE (default: the same path)
    /// inside every chroot made in the session, as a bind mount would
    /// (repeatable; /proc, /sys and /dev are by default, per mode)
    #[arg(long = "bind", value_name = "DIR[:INSIDE]")]
    bind: Vec<String>,
    /// Compile the session's rules even if the ruletree cache
    /// ($XDG_CACHE_HOME/sb2/ruletree) has them, and do not store them
    /// there (as SB2_NO_CACHE=1)
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// The command and its arguments (none: an interactive shell)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

impl From<Args> for Options {
    fn from(a: Args) -> Options {
        let mut modes = a.mode;
        if a.emulate {
            modes.push("emulate".into());
        }
        Options {
            target: a.target,
            modes,
            rule_file: a.rule_file,
            log_level: if a.debug {
                Some(LogLevel::Debug)
            } else {
                a.log_level
            },
            quiet: a.quiet,
            session_dir: a.session_dir,
            mode_options: a.mode_options,
            save: a.save,
            join: a.join,
            delete: a.delete,
            tools_root: a.tools_root,
            cow: a.cow,
            root: a.root,
            unknown: a.unknown,
            vperm_save: a.save_state,
            vperm_load: a.load_state,
            net: a.net,
            allow_write: a.allow_write,
            strict: a.strict,
            json: a.json,
            trace: a.trace,
            chroot_root_only: a.chroot == "root",
            binds: a.bind,
            no_cache: a.no_cache,
            command: a.command,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Options, ErrorKind> {
        Args::try_parse_from(std::iter::once("sb2").chain(args.iter().copied()))
            .map(Options::from)
            .map_err(|e| e.kind())
    }

    #[test]
    fn bad_command_lines_are_errors_not_commands() {
        assert_eq!(
            parse(&["-X", "foo"]).err(),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(
            parse(&["--allow-writes", "/tmp", "true"]).err(),
            Some(ErrorKind::UnknownArgument)
        );
        assert_eq!(parse(&["-t"]).err(), Some(ErrorKind::InvalidValue));
        assert_eq!(parse(&["-L", "loud"]).err(), Some(ErrorKind::InvalidValue));
        assert_eq!(
            parse(&["-e", "-m", "simple"]).err(),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            parse(&["-d", "-L", "info"]).err(),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(parse(&["-v"]).err(), Some(ErrorKind::DisplayVersion));
        assert_eq!(parse(&["--version"]).err(), Some(ErrorKind::DisplayVersion));
        assert_eq!(parse(&["--help"]).err(), Some(ErrorKind::DisplayHelp));
    }

    #[test]
    fn the_command_keeps_its_own_options() {
        let o = parse(&["-q", "make", "-j4", "-t", "x"]).expect("valid");
        assert_eq!(o.command, ["make", "-j4", "-t", "x"]);
        assert!(o.quiet && o.target.is_none());
        let o = parse(&["--", "-x"]).expect("valid");
        assert_eq!(o.command, ["-x"]);
        let o = parse(&["-e", "-d", "true"]).expect("valid");
        assert_eq!(
            (o.modes, o.log_level),
            (vec!["emulate".into()], Some(LogLevel::Debug))
        );
        let o = parse(&["-L", "net", "true"]).expect("valid");
        assert_eq!(o.log_level, Some(LogLevel::Net));
    }
}
