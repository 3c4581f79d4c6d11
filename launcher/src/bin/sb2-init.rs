//! `sb2-init`: create a target from the current directory; see
//! [`sb2_launcher::init`].
//!
//! Exit status: 0; 1 when the target cannot be created; 125 for a bad
//! command line (an unknown option, a bad target name or mode, no NAME).

use sb2_launcher::{cli, init};

fn main() {
    let args: init::Args = cli::parse("sb2-init");
    cli::finish("sb2-init", init::run(args), 1);
}
