//! What a session needs to run another machine's programs and build for it:
//! the target's ELF machine and binfmt_misc registration (CPU transparency:
//! target programs run through an emulator such as qemu-user), the
//! per-platform preload directory, and the toolchain's argv rewrites (`gcc` → the cross compiler, `host-gcc` → the host's).
//!
//! The preload is named in `LD_PRELOAD` as
//! `CONFIG/preload/TARGET/$PLATFORM/libsb2.so`.
//! The dynamic loader expands `$PLATFORM` to its own machine: host programs
//! load libsb2, while a target program run through qemu loads the target
//! root's own libc there (already its dependency, so nothing changes) instead
//! of printing "cannot be preloaded" on every run. The variable thus survives
//! through target processes to the host programs they start.

use crate::config::Target;
use anyhow::Result;
use sb2_ruletree::model::ArgvMod;
use std::path::{Path, PathBuf};

/// What sb2 knows of an architecture: its names and ELF facts.
#[derive(Clone, Copy, Debug)]
pub struct Arch {
    /// Debian's name (arm64).
    pub debian: &'static str,
    /// The kernel's and qemu's name (aarch64): `qemu-NAME`, `uname -m`.
    pub kernel: &'static str,
    /// The GNU triplet of Debian's cross tools (aarch64-linux-gnu).
    pub triplet: &'static str,
    pub machine: u16,
    pub class64: bool,
    pub little: bool,
    /// What ld.so's `$PLATFORM` expands to for this machine.
    pub platforms: &'static [&'static str],
}

/// Every architecture, Debian's order of importance; the first row of a
/// kernel name is the one that name finds.
pub const ARCHES: [Arch; 8] = {
    const fn a(
        debian: &'static str,
        kernel: &'static str,
        triplet: &'static str,
        machine: u16,
        class64: bool,
        little: bool,
        platforms: &'static [&'static str],
    ) -> Arch {
        Arch {
            debian,
            kernel,
            triplet,
            machine,
            class64,
            little,
            platforms,
        }
    }
    const ARM: &[&str] = &["v5l", "v6l", "v7l", "v8l"];
    [
        a(
            "amd64",
            "x86_64",
            "x86_64-linux-gnu",
            62,
            true,
            true,
            &["x86_64", "haswell", "xeon_phi"],
        ),
        a(
            "arm64",
            "aarch64",
            "aarch64-linux-gnu",
            183,
            true,
            true,
            &["aarch64"],
        ),
        a("armhf", "arm", "arm-linux-gnueabihf", 40, false, true, ARM),
        a("armel", "arm", "arm-linux-gnueabi", 40, false, true, ARM),
        a(
            "i386",
            "i386",
            "i686-linux-gnu",
            3,
            false,
            true,
            &["i386", "i486", "i586", "i686"],
        ),
        a(
            "ppc64el",
            "ppc64le",
            "powerpc64le-linux-gnu",
            21,
            true,
            true,
            &["power8", "power9", "power10"],
        ),
        a(
            "riscv64",
            "riscv64",
            "riscv64-linux-gnu",
            243,
            true,
            true,
            &["riscv64"],
        ),
        a(
            "s390x",
            "s390x",
            "s390x-linux-gnu",
            22,
            true,
            false,
            &["z13", "z14", "z15", "z196", "zEC12"],
        ),
    ]
};

/// An architecture by its Debian or kernel name (or another spelling
/// `uname -m` gives: armv7l, i686...).
pub fn arch(name: &str) -> Option<Arch> {
    let name = match name {
        "armv7l" | "armv7" => "arm",
        "i486" | "i586" | "i686" => "i386",
        n => n,
    };
    ARCHES
        .iter()
        .find(|a| a.debian == name || a.kernel == name)
        .copied()
}

/// The host's architecture.
pub fn host_arch() -> Arch {
    arch(std::env::consts::ARCH).unwrap_or(Arch {
        debian: "",
        kernel: std::env::consts::ARCH,
        triplet: "",
        machine: 0,
        class64: true,
        little: true,
        platforms: &[],
    })
}

/// binfmt_misc registration line for `arch` run by `interp`, with the
/// magic and mask of qemu's qemu-binfmt-conf.sh (executables and PIEs),
/// flag P so the interpreter gets the original argv[0].
pub fn binfmt_register(name: &str, a: &Arch, interp: &str) -> String {
    let mut magic = vec![0x7f, b'E', b'L', b'F', if a.class64 { 2 } else { 1 }];
    magic.push(if a.little { 1 } else { 2 });
    magic.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut mask = vec![0xff; 7];
    mask.push(0);
    mask.extend_from_slice(&[0xff; 8]);
    let m = a.machine.to_le_bytes();
    if a.little {
        magic.extend_from_slice(&[2, 0, m[0], m[1]]);
        mask.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff]);
    } else {
        magic.extend_from_slice(&[0, 2, m[1], m[0]]);
        mask.extend_from_slice(&[0xff, 0xfe, 0xff, 0xff]);
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("\\x{x:02x}")).collect::<String>();
    format!(":{name}:M::{}:{}:{interp}:P", hex(&magic), hex(&mask))
}

/// The target root's libc.so.6 (a regular file), the stand-in preloaded by
/// target programs (see the module doc).
fn target_libc(root: &Path) -> Option<PathBuf> {
    for base in ["usr/lib", "lib", "usr/lib64", "lib64"] {
        let b = root.join(base);
        let mut cands = vec![b.join("libc.so.6")];
        if let Ok(rd) = std::fs::read_dir(&b) {
            let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("libc.so.6")).collect();
            v.sort();
            cands.extend(v);
        }
        if let Some(p) = cands
            .into_iter()
            .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        {
            return Some(p);
        }
    }
    None
}

/// Makes `CONFIG/preload/TARGET/<platform>/libsb2.so` for the host's
/// platforms (our library) and the target's (its libc), and returns the
/// `LD_PRELOAD` entry naming them. It lives outside the session directory
/// so that a program started after that was removed still loads libsb2
/// (and says so) instead of silently running unmapped.
pub fn preload_dir(lib: &Path, target: &Target) -> Result<String> {
    let base = crate::config::config_home()
        .join("preload")
        .join(&target.name);
    let host = host_arch();
    let mut links: Vec<(&str, PathBuf)> = host
        .platforms
        .iter()
        .map(|p| (*p, lib.to_path_buf()))
        .collect();
    let mut foreign = false;
    if let Some(t) = arch(target.get("ARCH")).filter(|t| t.machine != host.machine) {
        if let Some(libc) = target_libc(Path::new(target.root())) {
            links.extend(t.platforms.iter().map(|p| (*p, libc.clone())));
            foreign = true;
        }
    }
    for (p, dest) in links {
        let d = base.join(p);
        std::fs::create_dir_all(&d)?;
        ensure_link(&dest, &d.join("libsb2.so"))?;
    }
    // `$PLATFORM` makes the loader read /proc/self/exe at every exec (any
    // dynamic string token does): only sessions whose programs include
    // another machine's need it.
    match host.platforms.first().filter(|_| !foreign) {
        Some(p) => Ok(format!("{}/{p}/libsb2.so", base.display())),
        None => Ok(format!("{}/$PLATFORM/libsb2.so", base.display())),
    }
}

/// Toolchain programs rewritten to the cross tools, and the triplet tool
/// each becomes.
const COMPILERS: &[(&str, &str)] = &[
    ("gcc", "gcc"),
    ("cc", "gcc"),
    ("c++", "g++"),
    ("g++", "g++"),
    ("cpp", "cpp"),
];
const BINUTILS: &[&str] = &[
    "as",
    "ld",
    "ar",
    "ranlib",
    "strip",
    "nm",
    "objcopy",
    "objdump",
    "readelf",
    "addr2line",
    "size",
    "strings",
    "c++filt",
];
/// Compiler launchers, whose compiler argument is rewritten.
const LAUNCHERS: &[&str] = &["ccache", "distcc", "icecc"];
/// The launchers' masquerade directories (links named like compilers).
const MASQUERADE_DIRS: &[&str] = &["/usr/lib/ccache", "/usr/lib/distcc"];
/// Host tools reachable as `host-NAME`.
const HOST_TOOLS: &[&str] = &[
    "gcc", "cc", "g++", "c++", "cpp", "as", "ld", "ar", "ranlib", "strip", "nm", "objcopy",
    "objdump", "readelf",
];

/// A symlink `link` -> `dest`, replaced atomically if it differs (another
/// session of the same target may be starting).
fn ensure_link(dest: &Path, link: &Path) -> Result<()> {
    if std::fs::read_link(link).is_ok_and(|cur| cur == dest) {
        return Ok(());
    }
    let tmp = link.with_file_name(format!(
        ".{}.{}",
        link.file_name().and_then(|n| n.to_str()).unwrap_or("l"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(dest, &tmp)?;
    std::fs::rename(&tmp, link)?;
    Ok(())
}

/// The argv rewrites for the target's compiler, the directory of stand-in
/// links (`CONFIG/toolchain/TARGET/NAME` and `.../host-NAME`, kept per
/// target, not per session: a session start creates no files for them)
/// and the names it holds, for the toolchain rule library.
pub fn toolchain(target: &Target) -> Result<(Vec<ArgvMod>, PathBuf, Vec<String>)> {
    let mut mods = Vec::new();
    let mut names = Vec::new();
    let dir = crate::config::config_home()
        .join("toolchain")
        .join(&target.name);
    std::fs::create_dir_all(&dir)?;
    let words = |s: &str| -> Vec<Vec<u8>> {
        s.split_whitespace()
            .map(|w| w.as_bytes().to_vec())
            .collect()
    };
    let usr_bin = vec![b"/usr/bin".to_vec(), b"/bin".to_vec()];
    let compiler = target.get("COMPILER");
    if !compiler.is_empty() {
        let cpath = Path::new(compiler);
        let cdir = cpath.parent().unwrap_or(Path::new("/usr/bin"));
        let base = cpath.file_name().and_then(|n| n.to_str()).unwrap_or("gcc");
        let prefix = base.strip_suffix("gcc").unwrap_or("");
        let cdir_b = cdir.display().to_string().into_bytes();
        // Plain names get a stand-in file (so shells find them) and a rule;
        // triplet names exist on the host already.
        let mut add = |name: &str, tool: &Path, tail: Vec<Vec<u8>>, names: &mut Vec<String>| {
            if (!name.starts_with(prefix) || prefix.is_empty())
                && ensure_link(tool, &dir.join(name)).is_ok()
            {
                names.push(name.to_string());
            }
            let mut dirs = usr_bin.clone();
            if !dirs.contains(&cdir_b) {
                dirs.push(cdir_b.clone());
            }
            mods.push(ArgvMod {
                name: name.as_bytes().to_vec(),
                dirs,
                new_filename: tool.display().to_string().into_bytes(),
                add_tail: tail,
                disable_mapping: false,
                every_mode: false,
                launcher: false,
                chroot_mode: None,
            });
        };
        for (name, tool) in COMPILERS {
            let t = if *tool == "gcc" {
                cpath.to_path_buf()
            } else {
                cdir.join(format!("{prefix}{tool}"))
            };
            if t.exists() {
                add(name, &t, words(target.get("COMPILER_ARGS")), &mut names);
                if !prefix.is_empty() && *name == *tool {
                    add(
                        &format!("{prefix}{tool}"),
                        &t,
                        words(target.get("COMPILER_ARGS")),
                        &mut names,
                    );
                }
            }
        }
        for tool in BINUTILS {
            let t = cdir.join(format!("{prefix}{tool}"));
            if t.exists() {
                let tail = if *tool == "ld" {
                    words(target.get("LINKER_ARGS"))
                } else {
                    Vec::new()
                };
                add(tool, &t, tail.clone(), &mut names);
                if !prefix.is_empty() {
                    add(&format!("{prefix}{tool}"), &t, tail, &mut names);
                }
            }
        }
        // Compiler launchers: `ccache gcc` and friends get the cross
        // compiler's name and flags as their argument (see the planner's
        // `launched_compiler`); a masquerade directory's `gcc` becomes its
        // triplet name there, which the launcher resolves the same way.
        if !prefix.is_empty() {
            let mut lnch = usr_bin.clone();
            lnch.push(b"/usr/local/bin".to_vec());
            for name in LAUNCHERS {
                mods.push(ArgvMod {
                    name: name.as_bytes().to_vec(),
                    dirs: lnch.clone(),
                    launcher: true,
                    ..ArgvMod::default()
                });
            }
            for mdir in MASQUERADE_DIRS {
                for (name, tool) in COMPILERS {
                    let t = Path::new(mdir).join(format!("{prefix}{tool}"));
                    if t.exists() && cdir.join(format!("{prefix}{tool}")).exists() {
                        mods.push(ArgvMod {
                            name: name.as_bytes().to_vec(),
                            dirs: vec![mdir.as_bytes().to_vec()],
                            new_filename: t.display().to_string().into_bytes(),
                            add_tail: words(target.get("COMPILER_ARGS")),
                            ..ArgvMod::default()
                        });
                    }
                }
            }
        }
    }
    for tool in HOST_TOOLS {
        let host = Path::new("/usr/bin").join(tool);
        if host.exists() {
            let name = format!("host-{tool}");
            // A link dir we cannot write (another user's): go without.
            if ensure_link(&host, &dir.join(&name)).is_err() {
                continue;
            }
            names.push(name.clone());
            mods.push(ArgvMod {
                name: name.into_bytes(),
                dirs: usr_bin.clone(),
                new_filename: host.display().to_string().into_bytes(),
                add_tail: Vec::new(),
                disable_mapping: true,
                every_mode: false,
                launcher: false,
                chroot_mode: None,
            });
        }
    }
    // `fakeroot` in a session is sb2's own (virtual permissions of the
    // session, no second preload library fighting ours).
    if let Ok(fr) = crate::install::exe_dir().map(|d| d.join("sb2-fakeroot")) {
        for name in ["fakeroot", "fakeroot-sysv", "fakeroot-tcp"] {
            mods.push(ArgvMod {
                name: name.as_bytes().to_vec(),
                dirs: usr_bin.clone(),
                new_filename: fr.display().to_string().into_bytes(),
                add_tail: Vec::new(),
                disable_mapping: false,
                every_mode: true,
                launcher: false,
                chroot_mode: None,
            });
        }
    }
    // In the modes with a cross toolchain, a build dependency is met by a
    // host tool or a target package (see checkbuilddeps).
    if let Ok(cb) = crate::install::exe_dir().map(|d| d.join("sb2-checkbuilddeps")) {
        mods.push(ArgvMod {
            name: b"dpkg-checkbuilddeps".to_vec(),
            dirs: usr_bin.clone(),
            new_filename: cb.display().to_string().into_bytes(),
            add_tail: Vec::new(),
            disable_mapping: false,
            every_mode: false,
            launcher: false,
            chroot_mode: None,
        });
    }
    Ok((mods, dir, names))
}
