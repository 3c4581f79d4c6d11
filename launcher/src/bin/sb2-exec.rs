//! `sb2-exec CMD ARGS...`: the trampoline `sb2` starts a session's command
//! with. It runs preloaded, so its execvp goes through the session's exec
//! pipeline (PATH search in the virtual view, exec policies, CPU
//! transparency) like every later exec.

use std::os::unix::process::CommandExt;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let Some((prog, rest)) = args.split_first() else {
        eprintln!("usage: sb2-exec CMD [ARG...]  (used by sb2)");
        std::process::exit(125);
    };
    let err = std::process::Command::new(prog).args(rest).exec();
    std::process::exit(sb2_launcher::session::report_spawn_error(prog, err));
}
