//! `sb2-fakeroot`: what `fakeroot` runs in a session (the exec pipeline
//! rewrites `fakeroot`, `fakeroot-sysv` and `fakeroot-tcp` to it), and a
//! fakeroot-compatible command outside one. It takes fakeroot's options
//! and runs the command (or `$SHELL`) as virtual root in the current
//! session's virtual permissions, with `-s`/`-i` saving and loading the
//! session's table. `-l`, `-f` and `-b` name fakeroot's own library,
//! daemon and fd: accepted and ignored, as Scratchbox2's wrapper did.

use sb2_launcher::session::{self, Options};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

fn usage() -> ! {
    eprintln!(
        "usage: fakeroot [-l|--lib LIB] [--faked FAKED] [-s|--save-file FILE] [-i|--load-file FILE] [-u|--unknown-is-real] [-b|--fd-base FD] [-h|--help] [-v|--version] [--] [COMMAND [ARG...]]"
    );
    std::process::exit(1);
}

fn main() {
    let mut args = std::env::args_os().skip(1).peekable();
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
            Some(i) if b.starts_with(b"--") => (
                &b[..i],
                Some(OsString::from(std::ffi::OsStr::from_bytes(&b[i + 1..]))),
            ),
            _ => (b, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage())
        };
        match key {
            b"-s" | b"--save-file" => o.vperm_save = Some(PathBuf::from(value())),
            b"-i" | b"--load-file" => o.vperm_load = Some(PathBuf::from(value())),
            b"-l" | b"--lib" | b"--faked" | b"-f" | b"-b" | b"--fd-base" => {
                value();
            }
            b"-u" | b"--unknown-is-real" => {}
            b"-h" | b"--help" => usage(),
            b"-v" | b"--version" => {
                println!("fakeroot version {} (sb2)", env!("CARGO_PKG_VERSION"));
                return;
            }
            _ => usage(),
        }
    }
    o.command = args.collect();
    match session::run(o) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("fakeroot (sb2): {e:#}");
            std::process::exit(1);
        }
    }
}
