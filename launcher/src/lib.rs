//! Library behind the sb2 command-line tools (`sb2`, `sb2-init`,
//! `sb2-config`, `sb2-show`, `sb2-logz`, `sb2-fakeroot`): the binaries in
//! `src/bin` only parse their command line, call into here and turn the
//! outcome into an exit status ([`cli`]).
//!
//! * [`session`] — `sb2`: creating, joining and deleting sessions;
//!   compiling the ruletree (with the `-n` network rules); running the
//!   command; summing up its access violations.
//! * [`checkbuilddeps`] — `sb2-checkbuilddeps`: build dependencies met by
//!   host tools or target packages.
//! * [`fakeroot`] — `sb2-fakeroot`: fakeroot's command line on a session.
//! * [`init`], [`configure`] — `sb2-init`, `sb2-config`: targets, stored
//!   by [`config`] under `$XDG_CONFIG_HOME/sb2` (versioned files).
//! * [`show`] — `sb2-show`: the mapping and exec pipelines explained.
//! * [`logz`] — `sb2-logz`: session logs and access traces read back.
//! * [`mkroot`] — `sb2-mkroot`: a Debian target root made without root.
//! * [`vperm`] — the virtual permission table of `-R`/`-U`, saved and
//!   loaded with `-s`/`-i`.
//! * [`xtarget`] — running and building for another machine: CPU
//!   transparency, the preload per platform, the toolchain rewrites.
//! * [`docs`] — man pages and completions from the clap definitions.
//! * [`install`] — where libsb2.so, the rule files and programs are.
//!
//! What the launcher shares with the preload (variable and file names,
//! tree constant keys, log levels, the event schema) is in
//! `sb2_ruletree::contract`.

pub mod checkbuilddeps;
pub mod cli;
pub mod config;
pub mod configure;
pub mod docs;
pub mod fakeroot;
pub mod init;
pub mod install;
pub mod logz;
pub mod mkroot;
pub mod session;
pub mod show;
pub mod vperm;
pub mod xtarget;

/// Exit status for errors of the tools themselves (bad option, missing
/// target...), as wrapper tools such as `env` and `timeout` use it.
pub const EXIT_SB2_ERROR: i32 = 125;

/// Exit status of a `--strict` session whose command succeeded but made
/// access violations: its own number, so that a CI job can tell "the
/// build broke a rule" from "the build failed" (which keeps the command's
/// status). Outside the shells' 126-255 and sb2's 125, and rare among
/// build tools' own statuses.
pub const EXIT_VIOLATIONS: i32 = 86;
