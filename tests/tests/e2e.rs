//! End-to-end tests: real programs (sh, coreutils, python3, gcc, make) and
//! C probe programs run in real sb2 sessions. One test binary, one module
//! per family.

mod cache;
mod chroot;
mod cli;
mod coverage;
mod cow;
mod cross;
mod damage;
mod debian;
mod events;
mod exec;
mod fs;
mod glibc_floor;
mod guard;
mod hooks;
mod install;
mod logfd;
mod net;
mod nss;
mod probes;
mod protect;
mod protect_order;
mod regression;
mod rules;
mod scaleout;
mod vperm;
mod vperm_probes;
