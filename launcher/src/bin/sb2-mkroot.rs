//! `sb2-mkroot`: a Debian root file system for a target, made without
//! root; see [`sb2_launcher::mkroot`].
//!
//! Exit status: 0; 1 when the root cannot be made; 125 for a bad command
//! line.

use sb2_launcher::{cli, mkroot};

fn main() {
    let args: mkroot::Args = cli::parse("sb2-mkroot");
    cli::finish("sb2-mkroot", mkroot::run(args), 1);
}
