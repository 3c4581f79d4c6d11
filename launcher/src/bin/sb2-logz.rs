//! `sb2-logz`: session logs summed up, access traces turned into a
//! build's dependencies; see [`sb2_launcher::logz`].
//!
//! Exit status: 0; 2 for a file that cannot be read; 125 for a bad
//! command line.

use sb2_launcher::{cli, logz};

fn main() {
    cli::default_sigpipe();
    let args: logz::Args = cli::parse("sb2-logz");
    cli::finish("sb2-logz", logz::run(args).map(|_| 0), 2);
}
