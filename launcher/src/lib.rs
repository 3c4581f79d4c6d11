//! Library behind the sb2 command-line tools (`sb2`, `sb2-init`,
//! `sb2-config`, `sb2-show`, `sb2-fakeroot`): the binaries in `src/bin`
//! only parse options and call into here.
//!
//! * [`cli`] — how every tool fails on a bad command line.
//! * [`logz`] — `sb2-logz`: session logs and access traces read back.
//! * [`fakeroot`] — `sb2-fakeroot`: fakeroot's command line on a session.
//! * [`init`], [`configure`] — `sb2-init`, `sb2-config`: targets, stored
//!   by [`config`].
//! * [`install`] — where libsb2.so, the rule files and programs are.
//! * [`config`] — targets under `$XDG_CONFIG_HOME/sb2` (versioned files).
//! * [`session`] — creating, joining and deleting sessions; compiling the
//!   ruletree (with the `-n` network rules); running the command;
//!   summing up its access violations.
//! * [`vperm`] — the virtual permission table of `-R`/`-U`, saved and
//!   loaded with `-s`/`-i`.
//! * [`show`] — `sb2-show`: the mapping and exec pipelines explained.

pub mod cli;
pub mod config;
pub mod configure;
pub mod fakeroot;
pub mod init;
pub mod install;
pub mod logz;
pub mod session;
pub mod show;
pub mod vperm;
pub mod xtarget;

/// Exit status for sb2's own errors (bad option, missing target...), as
/// wrapper tools such as `env` and `timeout` use it.
pub const EXIT_SB2_ERROR: i32 = 125;
