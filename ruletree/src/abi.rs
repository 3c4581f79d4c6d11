//! The hook declarations, and the one symbol libsb2.so exports besides the
//! libc names it interposes: `SB2_PRELOAD_INFO`, a C-layout copy of the
//! hook table that `sb2-show` reads after `dlopen`ing the library.
//!
//! Every row of the preload's hook table declares, as data, how its
//! function uses its path: the function class rules may select on
//! (`func_class`), whether a final symlink is followed, whether the call
//! writes, and which arguments are the path, the directory fd or the file
//! descriptor. The preload derives the operation it maps with from the
//! declaration, and `sb2-show hooks` and `sb2-show -f FUNC` read the same
//! rows, so the tool cannot explain a call differently from the library.

use core::ffi::c_char;

/// Does the call follow a final symlink?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Follow {
    /// The call takes no path.
    None = 0,
    /// Always (stat, open without O_NOFOLLOW, chmod).
    Yes = 1,
    /// Never (lstat, unlink, mkdir, rename).
    No = 2,
    /// Unless its flags have `AT_SYMLINK_NOFOLLOW` (fstatat, fchmodat).
    AtFlags = 3,
    /// Only if its flags have `AT_SYMLINK_FOLLOW` (linkat, name_to_handle_at).
    AtFollow = 4,
    /// Decided by its open flags or fopen mode (`O_NOFOLLOW`, "x").
    OpenFlags = 5,
    /// Decided by another argument (inotify's `IN_DONT_FOLLOW`).
    Arg = 6,
}

/// Does the call write to its path?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Write {
    No = 0,
    Yes = 1,
    /// Decided by its open flags or fopen mode.
    OpenFlags = 2,
    /// Only asks whether a write would be allowed: access and friends,
    /// which with W_OK map as `OPEN|CHECK` (a refusal is no violation) and
    /// otherwise with the declared class.
    Check = 3,
}

/// How a hooked function uses its path: the declaration part of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decl {
    /// The function class (see [`crate::class`]); for open-like calls the
    /// base class, which `O_CREAT` widens with CREAT at run time.
    pub class: u32,
    pub follow: Follow,
    pub write: Write,
}

impl Decl {
    /// Follows a final symlink unless told otherwise at run time.
    pub const fn follows(self) -> bool {
        self.follow.by_default()
    }
    /// Writes unless told otherwise at run time.
    pub const fn writes(self) -> bool {
        matches!(self.write, Write::Yes | Write::Check)
    }
}

/// "No argument" in [`HookRow`]'s argument positions.
pub const NO_ARG: i8 = -1;

/// Room for a symbol name in a [`HookRow`], with its NUL.
pub const NAME_LEN: usize = 32;
/// Room for a family name in a [`HookRow`], with its NUL.
pub const FAMILY_LEN: usize = 8;

/// One row of the hook table. Names are stored in place, not as pointers:
/// a pointer in a static needs a relocation, which the loader writes into
/// every process at start (a copied page, for a table only `sb2-show`
/// reads).
#[repr(C)]
pub struct HookRow {
    /// The libc symbol (NUL-terminated).
    pub name: [u8; NAME_LEN],
    /// Its family, the preload module its gate lives in: fs, stat, dirs,
    /// union, net, exec, ids, vperm, mem.
    pub family: [u8; FAMILY_LEN],
    /// For an alias (open64 of open), the row it shares everything with;
    /// empty otherwise.
    pub alias_of: [u8; NAME_LEN],
    /// The function class (see [`crate::class`]).
    pub class: u32,
    pub follow: Follow,
    pub write: Write,
    /// Argument positions (0-based) of the path, a second path (rename,
    /// link), the directory fd each is relative to, and a file descriptor
    /// the call acts on; [`NO_ARG`] where there is none.
    pub path: i8,
    pub path2: i8,
    pub dirfd: i8,
    pub dirfd2: i8,
    pub fd: i8,
}

/// `s` NUL-padded into a fixed field (a compile error if it does not fit).
pub const fn fixed<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    assert!(b.len() < N, "name too long for the hook table");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < b.len() {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// `SB2_PRELOAD_INFO`.
#[repr(C)]
pub struct PreloadInfo {
    /// Bumped when this layout changes.
    pub abi: u32,
    pub version: *const c_char,
    pub n_hooks: usize,
    pub hooks: *const HookRow,
}

// SAFETY: points only to static data.
unsafe impl Sync for PreloadInfo {}

pub const ABI: u32 = 3;

/// The position of argument `name` in `args` (a const lookup for the hook
/// table's macro), or [`NO_ARG`].
pub const fn arg_index(args: &[&str], name: &str) -> i8 {
    let mut i = 0;
    while i < args.len() {
        if str_eq(args[i], name) {
            return i as i8;
        }
        i += 1;
    }
    NO_ARG
}

impl Follow {
    /// Follows a final symlink unless the call's flags say otherwise.
    pub const fn by_default(self) -> bool {
        matches!(
            self,
            Follow::Yes | Follow::AtFlags | Follow::OpenFlags | Follow::Arg
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            Follow::None => "-",
            Follow::Yes => "follow",
            Follow::No => "nofollow",
            Follow::AtFlags => "at-flags",
            Follow::AtFollow => "at-follow",
            Follow::OpenFlags => "open-flags",
            Follow::Arg => "arg",
        }
    }
}

impl Write {
    pub const fn name(self) -> &'static str {
        match self {
            Write::No => "read",
            Write::Yes => "write",
            Write::OpenFlags => "open-flags",
            Write::Check => "check",
        }
    }
}

/// A row read back from `SB2_PRELOAD_INFO` as owned data (for `sb2-show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookInfo {
    pub name: String,
    pub family: String,
    pub alias_of: Option<String>,
    pub class: u32,
    pub follow: Follow,
    pub write: Write,
    /// Argument names are not exported; positions are.
    pub path: i8,
    pub path2: i8,
    pub dirfd: i8,
    pub dirfd2: i8,
    pub fd: i8,
}

impl HookInfo {
    /// The owned form of a row of a live `SB2_PRELOAD_INFO` of this [`ABI`].
    pub fn from_row(r: &HookRow) -> HookInfo {
        let s = |b: &[u8]| {
            let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        };
        let alias = s(&r.alias_of);
        HookInfo {
            name: s(&r.name),
            family: s(&r.family),
            alias_of: (!alias.is_empty()).then_some(alias),
            class: r.class,
            follow: r.follow,
            write: r.write,
            path: r.path,
            path2: r.path2,
            dirfd: r.dirfd,
            dirfd2: r.dirfd2,
            fd: r.fd,
        }
    }
}
/// The position of the argument a row's declaration names for `key`
/// (`path`, `dirfd`...), or [`NO_ARG`].
pub const fn spec_arg(args: &[&str], spec: &[(&str, &str)], key: &str) -> i8 {
    let mut i = 0;
    while i < spec.len() {
        if str_eq(spec[i].0, key) {
            return arg_index(args, spec[i].1);
        }
        i += 1;
    }
    NO_ARG
}

/// Every key of a row's declaration is known and names one of its
/// arguments (checked at compile time by the hook table's macro).
pub const fn valid_spec(args: &[&str], spec: &[(&str, &str)]) -> bool {
    const KEYS: [&str; 5] = ["path", "path2", "dirfd", "dirfd2", "fd"];
    let mut i = 0;
    while i < spec.len() {
        if arg_index(&KEYS, spec[i].0) == NO_ARG || arg_index(args, spec[i].1) == NO_ARG {
            return false;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut j = 0;
    while j < a.len() {
        if a[j] != b[j] {
            return false;
        }
        j += 1;
    }
    true
}
