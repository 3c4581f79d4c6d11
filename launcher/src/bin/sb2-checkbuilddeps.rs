//! `sb2-checkbuilddeps`: dpkg-checkbuilddeps in a cross session, asking
//! the target's package database and the host's; see
//! [`sb2_launcher::checkbuilddeps`].
//!
//! Exit status: dpkg-checkbuilddeps's (0 met, 1 unmet or conflicting).

use sb2_launcher::{checkbuilddeps, cli};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    cli::finish("sb2-checkbuilddeps", checkbuilddeps::run(args), 2);
}
