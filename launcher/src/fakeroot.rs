//! `sb2-fakeroot`: what `fakeroot` runs in a session (the exec pipeline
//! rewrites `fakeroot`, `fakeroot-sysv` and `fakeroot-tcp` to it), and a
//! fakeroot-compatible command outside one. It runs the command (or
//! `$SHELL`) as virtual root in the current session's virtual
//! permissions, with `-s`/`-i` saving and loading the session's table.
//!
//! Its command line is parsed by hand, not with clap, on purpose: callers
//! such as `dpkg-buildpackage -rfakeroot` pass fakeroot's own syntax
//! (`--save-file=FILE` or `--save-file FILE`, options only before the
//! command), and `-l`, `-f`, `--faked` and `-b`, which name fakeroot's own
//! library, daemon and fd, must be accepted and ignored, as Scratchbox2's
//! wrapper did. A bad option fails like every sb2 tool's (one line,
//! status 125); `--help` and `--version` exit 0.

use crate::session::Options;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

pub const USAGE: &str = "usage: fakeroot [-l|--lib LIB] [--faked FAKED] [-s|--save-file FILE] [-i|--load-file FILE] [-u|--unknown-is-real] [-b|--fd-base FD] [-h|--help] [-v|--version] [--] [COMMAND [ARG...]]\n\n\
Exit status: the command's; 1 when the session cannot be used; 125 for a bad command line.";

/// What the command line asks for.
#[derive(Debug)]
pub enum Request {
    Run(Box<Options>),
    Help,
    Version,
}

/// Parses fakeroot's arguments (without argv[0]); Err is a one-line usage
/// error.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Request, String> {
    let mut args = args.into_iter().peekable();
    let mut o = Options {
        root: true,
        quiet: true,
        ..Options::default()
    };
    while let Some(a) = args.peek().cloned() {
        let b = a.as_bytes();
        if b == b"--" {
            args.next();
            break;
        }
        if !b.starts_with(b"-") || b == b"-" {
            break;
        }
        args.next();
        let (key, inline) = match b.iter().position(|c| *c == b'=') {
            Some(i) if b.starts_with(b"--") => (&b[..i], Some(OsStr::from_bytes(&b[i + 1..]))),
            _ => (b, None),
        };
        let name = String::from_utf8_lossy(key).into_owned();
        let mut value = || {
            inline
                .map(OsStr::to_os_string)
                .or_else(|| args.next())
                .ok_or_else(|| format!("option '{name}' needs a value"))
        };
        match key {
            b"-s" | b"--save-file" => o.vperm_save = Some(PathBuf::from(value()?)),
            b"-i" | b"--load-file" => o.vperm_load = Some(PathBuf::from(value()?)),
            b"-l" | b"--lib" | b"--faked" | b"-f" | b"-b" | b"--fd-base" => {
                value()?;
            }
            b"-u" | b"--unknown-is-real" => {}
            b"-h" | b"--help" => return Ok(Request::Help),
            b"-v" | b"--version" => return Ok(Request::Version),
            _ => return Err(format!("unexpected option '{}'", a.to_string_lossy())),
        }
    }
    o.command = args.collect();
    Ok(Request::Run(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Request, String> {
        parse(args.iter().map(OsString::from))
    }

    fn run(args: &[&str]) -> Options {
        match p(args) {
            Ok(Request::Run(o)) => *o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn fakeroot_syntax() {
        let o = run(&[
            "--save-file=st",
            "-i",
            "old",
            "-l",
            "lib.so",
            "-u",
            "make",
            "-j4",
        ]);
        assert_eq!(o.vperm_save, Some(PathBuf::from("st")));
        assert_eq!(o.vperm_load, Some(PathBuf::from("old")));
        assert_eq!(o.command, ["make", "-j4"]);
        assert!(o.root);
        assert_eq!(run(&["--", "-x"]).command, ["-x"]);
        assert!(matches!(p(&["--help"]), Ok(Request::Help)));
        assert!(matches!(p(&["-v"]), Ok(Request::Version)));
        assert_eq!(
            p(&["-X", "make"]).err().as_deref(),
            Some("unexpected option '-X'")
        );
        assert_eq!(
            p(&["-s"]).err().as_deref(),
            Some("option '-s' needs a value")
        );
        assert_eq!(
            p(&["--save-file"]).err().as_deref(),
            Some("option '--save-file' needs a value")
        );
    }
}
