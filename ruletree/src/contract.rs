//! The launcher ↔ preload contract: every name, size and format that the
//! launcher (`sb2`, `sb2-show`, `sb2-logz`) and the preload (`libsb2.so`)
//! must agree on, in one place, so that a disagreement is a compile error
//! instead of a silently disabled cache or an unreadable log.
//!
//! * environment variables a session's processes carry;
//! * the files of a session directory and their sizes;
//! * the keys of the constants the launcher stores in the ruletree;
//! * log level names;
//! * errno names, in the one form every log line uses;
//! * the JSON event schema (feature `events`, serde types): the preload
//!   writes these lines by hand (it may not allocate), the launcher and
//!   the tests read them with [`events::Event`], which refuses unknown
//!   fields, so a writer drifting from the schema fails a test.

// ------------------------------------------------------------ environment

/// The session directory: its presence is what makes a process part of a
/// session.
pub const SESSION_VAR: &str = "SB2_SESSION_DIR";
/// The mapping mode's name: which of the ruletree's modes a process maps
/// with (`sb2 -m`, and the modes exec policies switch to).
pub const MODE_VAR: &str = "SB2_SESSION_MODE";
/// The virtual ids of a process under `-R`/`-U` (see [`crate::vperm`]):
/// `ruid:euid:suid:fsuid:rgid:egid:sgid:fsgid[:g1,g2,...]`. Its presence
/// turns virtual permissions on for the process.
pub const IDS_VAR: &str = "SB2_VPERM";
/// The exec policy the planner chose for the program being started.
pub const POLICY_VAR: &str = "__SB2_EXEC_POLICY_NAME";
/// Set by the exec pipeline on the program it started, so that the new
/// process knows it was planned and need not re-plan itself.
pub const EXECED_VAR: &str = "__SB2_EXECED";
/// Set by the exec pipeline on a program it starts through a loader
/// (`ld.so PROG`): the program's host path. The loader makes it the
/// process's AT_EXECFN; readlink of `/proc/self/exe` answers it (the
/// kernel would name the loader).
pub const EXE_VAR: &str = "__SB2_EXE";
/// The CPU transparency command's host path (qemu), in cross-target
/// sessions: the launcher sets it, and the exec pipeline on every program
/// it starts through the command. A process whose executable it names
/// is the command, which runs detached from the session.
pub const CPU_VAR: &str = "__SB2_CPU";
/// Set (non-empty) for a process tree that runs unmapped: the host tools
/// `host-gcc`, `host-ld`... that the toolchain rules provide.
pub const DISABLE_VAR: &str = "SBOX_DISABLE_MAPPING";
/// A chrooted process's root, as an outer virtual path (see
/// [`crate::mapping::Chroot`]). Only the exec pipeline sets it, from the
/// process's memory, on every exec; a value the user sets is replaced or
/// removed, and the launcher never passes one in.
pub const CHROOT_VAR: &str = "__SB2_CHROOT";
/// The loader facts of that root, computed once by chroot() and carried
/// with it: `A:LD_SO:LIBRARY_PATH`, where `A` is `1` if the root's ld.so
/// takes `--argv0`, LD_SO its loader's host path (`\x01`-free), and
/// LIBRARY_PATH the `:`-separated host directories of its ld.so.conf.
pub const CHROOT_LD_VAR: &str = "__SB2_CHROOT_LD";
/// Overrides where the launcher finds `libsb2.so`.
pub const LIBSB2_VAR: &str = "SB2_LIBSB2";
/// Overrides where the launcher finds the rule files.
pub const RULES_DIR_VAR: &str = "SB2_RULES_DIR";
/// Where session logs go (default `$XDG_STATE_HOME/sb2`, `~/.local/state/sb2`).
pub const LOG_DIR_VAR: &str = "SB2_LOG_DIR";
/// The search path an exec uses when the caller's environment has no PATH
/// (glibc's `execvp` default without the current directory).
pub const DEFAULT_PATH: &str = "/bin:/usr/bin";

// ------------------------------------------------------------ session files

/// The compiled rules, mapped read-only by every process.
pub const RULETREE_FILE: &str = "ruletree.bin";
/// The virtual permission table (see [`crate::vperm`]).
pub const VPERM_FILE: &str = "vperm.db";
/// The shared generation counter and directory cache slots.
pub const GENERATION_FILE: &str = "generation";
/// Number of 64-bit directory-cache slots after the generation header.
pub const GENERATION_SLOTS: usize = 8192;
/// Size of the header before the slots (the counter, on its own cache
/// line so that bumping it does not invalidate the slots' line).
pub const GENERATION_HEADER: usize = 64;
/// Exact size of [`GENERATION_FILE`]; the preload refuses any other size.
pub const GENERATION_LEN: usize = GENERATION_HEADER + 8 * GENERATION_SLOTS;
/// The generation header: the counter (a `u64` at 0), then at
/// [`GENERATION_MAGIC_AT`] this magic and the layout's version (a
/// little-endian `u32`), written by the launcher. The rest of the file is
/// counters and cache words, any value of which is safe: only the header
/// can tell a damaged or foreign file.
pub const GENERATION_MAGIC: &[u8; 8] = b"SB2GENER";
pub const GENERATION_MAGIC_AT: usize = 8;
/// Bumped whenever the generation file's layout changes.
pub const GENERATION_VERSION: u32 = 1;

/// The bytes the launcher writes at [`GENERATION_MAGIC_AT`].
pub fn generation_stamp() -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..8].copy_from_slice(GENERATION_MAGIC);
    h[8..].copy_from_slice(&GENERATION_VERSION.to_le_bytes());
    h
}

/// Is a generation file of `len` bytes, whose header is `head` (its first
/// [`GENERATION_HEADER`] bytes, or fewer), usable? Else what is wrong.
pub fn check_generation(len: usize, head: &[u8]) -> Result<(), &'static str> {
    let at = GENERATION_MAGIC_AT;
    if len < GENERATION_LEN {
        return Err("truncated");
    }
    if len > GENERATION_LEN {
        return Err("longer than its layout");
    }
    match head.get(at..at + 12) {
        Some(h) if h == generation_stamp() => Ok(()),
        Some(h) if h.get(..8) == Some(&GENERATION_MAGIC[..]) => {
            Err("written by another sb2 version")
        }
        _ => Err("not a generation file"),
    }
}
/// Marker files: `logged/<hash>` exists once a once-per-session warning
/// was written.
pub const LOGGED_DIR: &str = "logged";
/// The session's private temporary directory.
pub const TMP_DIR: &str = "tmp";
/// Where union directories are synthesized (`union/<hash>`).
pub const UNION_DIR: &str = "union";
/// The violations of the session, one event per line, summed up at the
/// end (its full path is the tree constant [`key::VIOLATIONS_FILE`]).
pub const VIOLATIONS_FILE: &str = "violations";

// ------------------------------------------------------------ tree constants

/// Keys of the string constants the launcher stores in the ruletree
/// (`sb2-show ruletree` lists them; the rule files read some of them as
/// `sbox_*` globals).
pub mod key {
    pub const TARGET_ROOT: &str = "target_root";
    pub const TOOLS_ROOT: &str = "tools_root";
    pub const TOOLS: &str = "tools";
    pub const SESSION_DIR: &str = "session_dir";
    pub const WORKDIR: &str = "sbox_workdir";
    pub const USER_HOME: &str = "sbox_user_home_dir";
    pub const SBOX_DIR: &str = "sbox_dir";
    pub const RULES_DIR: &str = "sbox_rules_dir";
    pub const TARGET: &str = "sbox_target";
    pub const CPU: &str = "sbox_cpu";
    pub const UNAME_MACHINE: &str = "sbox_uname_machine";
    pub const MAPMODE: &str = "sbox_mapmode";
    pub const MODE_OPTIONS: &str = "sbox_mode_specific_options";
    pub const LOG_LEVEL: &str = "log_level";
    pub const LOG_FILE: &str = "log_file";
    pub const TOOLCHAIN_NAMES: &str = "toolchain_names";
    pub const TOOLCHAIN_DIR: &str = "toolchain_dir";
    pub const TOOLCHAIN_PREFIX: &str = "toolchain_prefix";
    pub const TOOLCHAIN_TRIPLET: &str = "toolchain_triplet";
    pub const PRELOAD_ENTRY: &str = "preload_entry";
    /// Directories writes are allowed below, one per line (`--allow-write`).
    pub const ALLOW_WRITE: &str = "allow_write";
    pub const VIOLATIONS_FILE: &str = "violations_file";
    pub const TRACE_FILE: &str = "trace_file";
    pub const TARGET_ELF_MACHINE: &str = "target_elf_machine";
    pub const BINFMT_REGISTER: &str = "binfmt_register";
    pub const BINFMT_NAME: &str = "binfmt_name";
    pub const CPU_TRANSPARENCY: &str = "cpu_transparency";
    /// Extra arguments of the CPU transparency command, one per line.
    pub const CPU_TRANSPARENCY_ARGS: &str = "cpu_transparency_args";
    /// Prefix of each mode's directories of the outer view visible inside
    /// a chroot (`chroot_mounts.MODE`): lines of `INSIDE\tOUTSIDE`.
    pub const CHROOT_MOUNTS: &str = "chroot_mounts";
    /// The user's `--bind` directories, lines of `INSIDE\tOUTSIDE`.
    pub const CHROOT_BINDS: &str = "chroot_binds";
    /// Who may chroot(): `any` (the default) or `root` (the virtual root).
    pub const CHROOT_POLICY: &str = "chroot_policy";
}

// ------------------------------------------------------------ log levels

/// Log levels, least verbose first; a line is written when its level is at
/// most the session's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warning = 2,
    Notice = 3,
    /// Denied network calls and lookups.
    Net = 4,
    Info = 5,
    Debug = 6,
    Noise = 7,
}

impl LogLevel {
    pub const ALL: [LogLevel; 7] = [
        LogLevel::Error,
        LogLevel::Warning,
        LogLevel::Notice,
        LogLevel::Net,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Noise,
    ];
    /// The session's level when `-L` is not given.
    pub const DEFAULT: LogLevel = LogLevel::Warning;

    pub const fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warning => "warning",
            LogLevel::Notice => "notice",
            LogLevel::Net => "net",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Noise => "noise",
        }
    }

    pub fn from_name(n: &[u8]) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.name().as_bytes() == n)
    }
}

// ------------------------------------------------------------ errno names

/// Every errno a log line may carry, by name. Log lines write errno by
/// name, always.
pub const ERRNO_NAMES: &[(&str, i32)] = &[
    ("EPERM", libc::EPERM),
    ("ENOENT", libc::ENOENT),
    ("EIO", libc::EIO),
    ("E2BIG", libc::E2BIG),
    ("ENOEXEC", libc::ENOEXEC),
    ("EBADF", libc::EBADF),
    ("ENOMEM", libc::ENOMEM),
    ("EACCES", libc::EACCES),
    ("EFAULT", libc::EFAULT),
    ("EBUSY", libc::EBUSY),
    ("EEXIST", libc::EEXIST),
    ("EXDEV", libc::EXDEV),
    ("ENOTDIR", libc::ENOTDIR),
    ("EISDIR", libc::EISDIR),
    ("EINVAL", libc::EINVAL),
    ("ETXTBSY", libc::ETXTBSY),
    ("ENOSPC", libc::ENOSPC),
    ("EROFS", libc::EROFS),
    ("EMLINK", libc::EMLINK),
    ("ERANGE", libc::ERANGE),
    ("ENAMETOOLONG", libc::ENAMETOOLONG),
    ("ENOSYS", libc::ENOSYS),
    ("ENOTEMPTY", libc::ENOTEMPTY),
    ("ELOOP", libc::ELOOP),
    ("EADDRINUSE", libc::EADDRINUSE),
    ("EADDRNOTAVAIL", libc::EADDRNOTAVAIL),
    ("ENETUNREACH", libc::ENETUNREACH),
    ("ETIMEDOUT", libc::ETIMEDOUT),
    ("ECONNREFUSED", libc::ECONNREFUSED),
    ("EHOSTUNREACH", libc::EHOSTUNREACH),
    ("ELIBBAD", libc::ELIBBAD),
    ("ESRCH", libc::ESRCH),
    ("EINTR", libc::EINTR),
    ("ENXIO", libc::ENXIO),
    ("ECHILD", libc::ECHILD),
    ("EAGAIN", libc::EAGAIN),
    ("ENODEV", libc::ENODEV),
    ("ENFILE", libc::ENFILE),
    ("EMFILE", libc::EMFILE),
    ("ENOTTY", libc::ENOTTY),
    ("EFBIG", libc::EFBIG),
    ("ESPIPE", libc::ESPIPE),
    ("EPIPE", libc::EPIPE),
    ("EDOM", libc::EDOM),
    ("EDEADLK", libc::EDEADLK),
    ("ENOLCK", libc::ENOLCK),
    ("ENODATA", libc::ENODATA),
    ("EOVERFLOW", libc::EOVERFLOW),
    ("ENOTSOCK", libc::ENOTSOCK),
    ("EPROTONOSUPPORT", libc::EPROTONOSUPPORT),
    ("EOPNOTSUPP", libc::EOPNOTSUPP),
    ("EAFNOSUPPORT", libc::EAFNOSUPPORT),
    ("ENETDOWN", libc::ENETDOWN),
    ("ECONNABORTED", libc::ECONNABORTED),
    ("ECONNRESET", libc::ECONNRESET),
    ("EISCONN", libc::EISCONN),
    ("ENOTCONN", libc::ENOTCONN),
    ("EALREADY", libc::EALREADY),
    ("EINPROGRESS", libc::EINPROGRESS),
    ("ESTALE", libc::ESTALE),
    ("EDQUOT", libc::EDQUOT),
    ("ECANCELED", libc::ECANCELED),
];

/// The name of an errno value; "EUNKNOWN" for one not in [`ERRNO_NAMES`].
pub fn errno_name(e: i32) -> &'static str {
    ERRNO_NAMES
        .iter()
        .find(|(_, v)| *v == e)
        .map_or("EUNKNOWN", |(n, _)| *n)
}

/// The value of an errno name.
pub fn errno_value(name: &str) -> Option<i32> {
    ERRNO_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

// ------------------------------------------------------------ events

/// The JSON lines of the session log, the violation file and the trace.
#[cfg(feature = "events")]
pub mod events {
    use serde::{Deserialize, Serialize};

    /// What happened; the `ev` field.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Kind {
        /// A path was mapped (debug): vpath, hpath, rule.
        Map,
        /// A write was refused (a violation): vpath, hpath, errno, rule.
        Deny,
        /// Trace: a path was read, written, created or removed: path, hpath.
        Read,
        Write,
        Create,
        Remove,
        /// An exec: in the trace, path and hpath; in the log (info),
        /// path, vpath, file, kind, policy, or path and errno.
        Exec,
        /// A statically linked program runs (warning): path, vpath, file,
        /// kind, msg.
        Static,
        /// A network call the `-n` rules decided: family, addr, port,
        /// verdict, errno or new_addr/new_port, rule.
        Net,
        /// A name lookup the `-n` rules decided: name, verdict, rule.
        Name,
        /// The trace's first line, written by `sb2` before the command
        /// starts: target (its name), target_root, tools_root (empty for
        /// the host's tools). What the report needs to tell a file of the
        /// target's packages from one of the host's; a trace made before
        /// it existed simply has none.
        Session,
    }

    /// A network verdict.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Verdict {
        Allow,
        Deny,
        Rewrite,
    }

    /// One line. Strings that carry paths or program names hold raw bytes:
    /// the writer escapes every byte that is not printable ASCII as
    /// `\u00XX`, so a char below 256 stands for one byte ([`bytes`]).
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Event {
        pub ev: Option<Kind>,
        pub pid: Option<u32>,
        pub prog: Option<String>,
        #[serde(rename = "fn")]
        pub func: Option<String>,
        /// The virtual path as the program named it.
        pub vpath: Option<String>,
        /// The host path the kernel was given.
        pub hpath: Option<String>,
        /// The path of a trace or exec event (virtual).
        pub path: Option<String>,
        /// Always a name from [`super::ERRNO_NAMES`].
        pub errno: Option<String>,
        /// `FILE:LINE` of the deciding rule.
        pub rule: Option<String>,
        pub family: Option<String>,
        pub addr: Option<String>,
        pub port: Option<u16>,
        pub verdict: Option<Verdict>,
        pub new_addr: Option<String>,
        pub new_port: Option<u16>,
        pub name: Option<String>,
        pub file: Option<String>,
        pub kind: Option<String>,
        pub policy: Option<String>,
        pub msg: Option<String>,
        /// The target's name ([`Kind::Session`]).
        pub target: Option<String>,
        /// The target's root directory, canonical ([`Kind::Session`]).
        pub target_root: Option<String>,
        /// The tools root, canonical; empty for none ([`Kind::Session`]).
        pub tools_root: Option<String>,
    }

    /// Bytes as a string field (one char below 256 per byte), the
    /// inverse of [`bytes`]: for a writer that has serde at hand, so its
    /// lines read back as the preload's do.
    pub fn field(b: &[u8]) -> String {
        b.iter().map(|&c| char::from(c)).collect()
    }

    /// The bytes a string field stands for (see [`Event`]). A string with
    /// a char of 256 or more came from another writer and is taken as the
    /// UTF-8 it is.
    pub fn bytes(s: &str) -> Vec<u8> {
        if s.chars().all(|c| u32::from(c) < 256) {
            s.chars().map(|c| c as u8).collect()
        } else {
            s.as_bytes().to_vec()
        }
    }

    /// A string field as display text (bytes decoded as UTF-8, lossily).
    pub fn text(s: &str) -> String {
        if s.is_ascii() {
            return s.to_owned();
        }
        String::from_utf8_lossy(&bytes(s)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_round_trip() {
        for l in LogLevel::ALL {
            assert_eq!(LogLevel::from_name(l.name().as_bytes()), Some(l));
        }
        assert_eq!(LogLevel::from_name(b"loud"), None);
    }

    #[test]
    fn errno_names_are_unique_and_round_trip() {
        for (n, v) in ERRNO_NAMES {
            assert_eq!(errno_name(*v), *n);
            assert_eq!(errno_value(n), Some(*v));
        }
    }
}
