//! `sb2-show`: what the session's mapping does, and which rule decided;
//! see [`sb2_launcher::show`].
//!
//! Exit status: 0; 1 when the session or libsb2.so cannot be read; 125
//! for a bad command line.

use sb2_launcher::{cli, show};

fn main() {
    cli::default_sigpipe();
    let args: show::Args = cli::parse("sb2-show");
    cli::finish("sb2-show", show::run(args).map(|_| 0), 1);
}
