//! What the fuzz tests share: how many cases to run, and a realistic
//! ruletree (the repository's own rule files, compiled) to damage.

#![allow(dead_code)]

use proptest::test_runner::Config;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The proptest configuration of a fuzz target: `default` cases, sized
/// so that all targets together take a few seconds in CI's release build;
/// `SB2_FUZZ_SCALE=K` runs K times as many of every target, and
/// `PROPTEST_CASES=N` exactly N of each (longer runs by hand:
/// docs/fuzzing.md).
pub fn config(default: u32) -> Config {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u32>().ok());
    let cases = env("PROPTEST_CASES")
        .or_else(|| env("SB2_FUZZ_SCALE").map(|k| default.saturating_mul(k)))
        .unwrap_or(default);
    Config {
        cases,
        // Failures are reported with their minimal case; nothing is
        // written into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// A scratch directory of this test binary (cargo's target tmp dir, so
/// that runs do not pile up in /tmp), emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sb2-fuzz-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The repository's `rules/` directory.
pub fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository")
        .join("rules")
}

/// Every mode of `rules/modes`, in name order.
pub fn modes() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(rules_dir().join("modes"))
        .expect("rules/modes")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("fs_rules.lua").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The constants a session gives its rule files, with made-up paths.
pub fn constants() -> Vec<(String, String)> {
    [
        ("target_root", "/srv/target"),
        ("tools_root", "/srv/tools"),
        ("tools", "/srv/tools"),
        ("session_dir", "/tmp/sb2-fuzz-session"),
        ("sbox_workdir", "/home/u/src"),
        ("sbox_user_home_dir", "/home/u"),
        ("sbox_dir", "/usr"),
        ("sbox_rules_dir", "/usr/share/sb2/rules"),
        ("sbox_target", "fuzz"),
        ("sbox_cpu", "aarch64"),
        ("sbox_uname_machine", "aarch64"),
        ("sbox_mapmode", "simple"),
        ("sbox_mode_specific_options", ""),
        ("log_level", "warning"),
        ("log_file", "/tmp/sb2-fuzz.log"),
        ("toolchain_names", "gcc cc cpp"),
        ("toolchain_dir", "/usr/bin"),
        ("toolchain_prefix", "/usr/bin/aarch64-linux-gnu-"),
        ("toolchain_triplet", "aarch64-linux-gnu"),
        ("preload_entry", "/usr/lib/sb2/$PLATFORM/libsb2.so"),
        ("allow_write", "/tmp/sb2-fuzz-session\n/home/u/out"),
        ("violations_file", "/tmp/sb2-fuzz-session/violations"),
        ("target_elf_machine", "183"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The compile input of a session with every mode and the `net` rules.
#[cfg(feature = "compiler")]
pub fn input(net: &str) -> sb2_ruletree::compile::Input {
    let rules = rules_dir();
    sb2_ruletree::compile::Input {
        rules_dir: rules.clone(),
        modes: modes()
            .into_iter()
            .map(|m| {
                let f = rules.join("modes").join(&m).join("fs_rules.lua");
                (m, f)
            })
            .collect(),
        constants: constants(),
        argvmods: Vec::new(),
        net: Some((
            net.to_string(),
            rules.join("net").join(format!("{net}.lua")),
        )),
        placeholders: Vec::new(),
    }
}

/// A real session's ruletree: every mode of the repository's rules and
/// the `offline` network rules, compiled once.
#[cfg(feature = "compiler")]
pub fn real_tree() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let c = sb2_ruletree::compile::compile(&input("offline"))
            .unwrap_or_else(|e| panic!("compiling the repository's rules: {e}"));
        sb2_ruletree::format::write(&c.session).expect("format::write")
    })
}
