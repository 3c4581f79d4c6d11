//! `sb2-gendocs DIR`: writes the man pages (DIR/man1) and shell
//! completions (DIR/completions/{bash,zsh,fish}) of every sb2 tool; see
//! [`sb2_launcher::docs`]. Run by `scripts/install`, not installed.
//!
//! Exit status: 0; 1 when DIR cannot be written; 125 without DIR.

use sb2_launcher::{cli, docs};

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        cli::usage_exit("sb2-gendocs", "missing the output DIR");
    };
    cli::finish(
        "sb2-gendocs",
        docs::write(std::path::Path::new(&dir)).map(|_| 0),
        1,
    );
}
