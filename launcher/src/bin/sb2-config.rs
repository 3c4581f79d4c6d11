//! `sb2-config`: list targets, set the default one, keep per-target
//! environment settings; see [`sb2_launcher::configure`].
//!
//! Exit status: 0; 1 when the configuration cannot be read or written;
//! 125 for a bad command line.

use sb2_launcher::{cli, configure};

fn main() {
    cli::default_sigpipe();
    let args: configure::Args = cli::parse("sb2-config");
    cli::finish("sb2-config", configure::run(args).map(|_| 0), 1);
}
