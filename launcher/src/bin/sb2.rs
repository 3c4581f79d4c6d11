//! `sb2`: run a command (or a shell) in a session. Options follow
//! Scratchbox2's letters and meanings; see `sb2 --help` and
//! [`sb2_launcher::session`].
//!
//! Exit status: the command's own; 128+N if signal N ended it; 127 command
//! not found; 126 cannot execute; 125 an error of sb2 itself, a bad
//! command line included.

use sb2_launcher::session::{self, Args, Options};
use sb2_launcher::{cli, EXIT_SB2_ERROR};

fn main() {
    let args: Args = cli::parse("sb2");
    cli::finish("sb2", session::run(Options::from(args)), EXIT_SB2_ERROR);
}
