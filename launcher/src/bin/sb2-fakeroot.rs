//! `sb2-fakeroot`: fakeroot's command line on the current session's
//! virtual permissions; see [`sb2_launcher::fakeroot`], which also says why
//! its options are parsed by hand.
//!
//! Exit status: the command's; 1 when the session cannot be used; 125 for
//! a bad command line.

use sb2_launcher::fakeroot::{self, Request, USAGE};
use sb2_launcher::{cli, session};
use std::path::Path;

fn main() {
    let mut argv = std::env::args_os();
    // Called as `fakeroot` through the exec rewrite, or by its own name.
    let tool = argv
        .next()
        .as_deref()
        .and_then(|a| Path::new(a).file_name())
        .map_or_else(
            || "sb2-fakeroot".into(),
            |n| n.to_string_lossy().into_owned(),
        );
    match fakeroot::parse(argv) {
        Ok(Request::Run(o)) => cli::finish("fakeroot (sb2)", session::run(*o), 1),
        Ok(Request::Help) => println!("{USAGE}"),
        Ok(Request::Version) => {
            println!("fakeroot version {} (sb2)", env!("CARGO_PKG_VERSION"))
        }
        Err(msg) => cli::usage_exit(&tool, &msg),
    }
}
