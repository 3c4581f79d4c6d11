//! The installed sb2 (`scripts/install --prefix DIR`, as an ordinary
//! user): an FHS tree that works without the source tree (it is moved
//! after installing, and its own rule files are the ones used), man pages
//! that render, and bash completion of `sb2 -t` with the configured
//! targets.

use sb2_tests::*;
use std::path::Path;

fn install(w: &World, prefix: &Path) {
    let o = w
        .cmd("sh")
        .arg(repo().join("scripts/install"))
        .arg("--prefix")
        .arg(prefix)
        .arg("--no-build")
        .env("CARGO_TARGET_DIR", bin_dir().parent().unwrap())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn installed_tree_runs_sessions_from_its_own_files_and_documents_itself() {
    require("man");
    require("bash");
    let w = World::new("install");
    let first = w.dir.join("first");
    install(&w, &first);
    for f in [
        "bin/sb2",
        "bin/sb2-mkroot",
        "bin/sb2-checkbuilddeps",
        "lib/sb2/libsb2.so",
        "share/sb2/rules/modes/simple/fs_rules.lua",
        "share/man/man1/sb2.1",
        "share/bash-completion/completions/sb2",
        "share/zsh/site-functions/_sb2",
        "share/fish/vendor_completions.d/sb2.fish",
    ] {
        assert!(first.join(f).exists(), "{f} not installed");
    }
    // Moved as a whole: it finds its library and rules from its own place.
    let prefix = w.dir.join("moved");
    std::fs::rename(&first, &prefix).unwrap();
    // The installed rules, not the source tree's, decide: an extra rule
    // only the installed simple mode has.
    let simple = prefix.join("share/sb2/rules/modes/simple/fs_rules.lua");
    let mut rules = std::fs::read_to_string(&simple).unwrap();
    rules.push_str("\ntable.insert(fs_mapping_rules, 1, { path = \"/sb2-installed\", replace_by = \"/etc/hostname\" })\n");
    std::fs::write(&simple, rules).unwrap();
    let path = format!("{}:/usr/bin:/bin", prefix.join("bin").display());
    let o = w
        .cmd(prefix.join("bin/sb2"))
        .env("PATH", &path)
        .args([
            "sh",
            "-c",
            "cat /sb2-installed >/dev/null && grep -o '[^ ]*libsb2.so' /proc/self/maps | head -1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o)
            .trim_end()
            .ends_with(&format!("{}/lib/sb2/libsb2.so", prefix.display())),
        "{}",
        text(&o)
    );
    // Every page renders.
    for e in std::fs::read_dir(prefix.join("share/man/man1")).unwrap() {
        let page = e.unwrap().path();
        let o = w
            .cmd("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let out = stdout(&o);
        assert!(
            o.status.success() && out.contains("NAME") && out.contains("SYNOPSIS"),
            "{}: {}",
            page.display(),
            text(&o)
        );
    }
    let o = w
        .cmd("man")
        .arg("-l")
        .arg(prefix.join("share/man/man1/sb2.1"))
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    for s in ["MODES", "EXIT STATUS", "ENVIRONMENT", "--allow-write"] {
        assert!(stdout(&o).contains(s), "{s}: {}", text(&o));
    }
    // `sb2 -t <TAB>` offers the configured targets.
    let root = w.dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    w.init_target(&root, "mytarget", &["-A", std::env::consts::ARCH]);
    let o = w
        .cmd("bash")
        .env("PATH", &path)
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(sb2 -t my); COMP_CWORD=2; _sb2_dynamic sb2 my -t; printf '%s\\n' \"${{COMPREPLY[@]}}\"; \
             COMP_WORDS=(sb2 -m emu); COMP_CWORD=2; _sb2_dynamic sb2 emu -m; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            prefix.join("share/bash-completion/completions/sb2").display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        "mytarget\nemulate\nemulate+toolchain\n",
        "{}",
        text(&o)
    );
    // fish and zsh: the same values from their completion files.
    require("fish");
    require("zsh");
    let o = w
        .cmd("fish")
        .env("PATH", &path)
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'sb2 -t my'; complete -C 'sb2 -m emu'",
            prefix
                .join("share/fish/vendor_completions.d/sb2.fish")
                .display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        "mytarget\nemulate\nemulate+toolchain\n",
        "{}",
        text(&o)
    );
    // zsh's compadd replaced by one that prints its candidates.
    let o = w
        .cmd("zsh")
        .env("PATH", &path)
        .arg("-fc")
        .arg(format!(
            "autoload -U compinit; compinit -u -D; source {}; \
             compadd() {{ while [[ $1 != -- ]]; do shift; done; shift; print -l -- \"$@\" }}; \
             _sb2_targets; _sb2_modes",
            prefix.join("share/zsh/site-functions/_sb2").display()
        ))
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.starts_with("host\nmytarget\n") && out.contains("\nemulate+toolchain\n"),
        "{}",
        text(&o)
    );
}

#[test]
fn debian_package_of_sb2_builds_installs_with_dpkg_and_works() {
    require("dpkg-buildpackage");
    require("dh");
    let w = World::new("sb2-deb");
    // The packaging needs only these of the tree; the programs are the
    // ones this test suite runs (SB2_PREBUILT: no second cargo build).
    let src = w.work.join("sb2");
    std::fs::create_dir_all(&src).unwrap();
    for d in ["debian", "scripts", "rules"] {
        let o = w
            .cmd("cp")
            .arg("-R")
            .arg(repo().join(d))
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = w
        .cmd("dpkg-buildpackage")
        .args(["-b", "-uc", "-us"])
        .env("SB2_PREBUILT", bin_dir())
        .current_dir(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let deb = w.built("sb2_", ".deb");
    let o = w.cmd("dpkg-deb").arg("-c").arg(&deb).output().unwrap();
    for f in [
        "./usr/bin/sb2\n",
        "./usr/lib/sb2/libsb2.so\n",
        "./usr/share/man/man1/sb2.1.gz\n",
    ] {
        assert!(
            stdout(&o)
                .lines()
                .any(|l| format!("{}\n", l.split_whitespace().last().unwrap_or("")) == f),
            "{f}: {}",
            text(&o)
        );
    }
    // dpkg installs it (into a Debian root of the host's architecture, as
    // the virtual root), and the sb2 it installed runs a session.
    let cached = std::env::var_os("SB2_TEST_AMD64_ROOTFS")
        .expect("SB2_TEST_AMD64_ROOTFS (scripts/test makes it)");
    let root = w.dir.join("root");
    let o = w
        .cmd("cp")
        .arg("-a")
        .arg(&cached)
        .arg(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    w.init_target(&root, "deb", &[]);
    let o = w
        .cmd(bin_dir().join("sb2"))
        .args(["-t", "deb", "-m", "install", "-R", "--", "dpkg", "-i"])
        .arg(&deb)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = w
        .cmd("dpkg-query")
        .arg(format!("--admindir={}/var/lib/dpkg", root.display()))
        .args(["-W", "-f", "${Status}", "sb2"])
        .output()
        .unwrap();
    assert_eq!(stdout(&o), "install ok installed", "{}", text(&o));
    let o = w
        .cmd(root.join("usr/bin/sb2"))
        .env("PATH", "/usr/bin:/bin")
        .args([
            "sh",
            "-c",
            "grep -o '[^ ]*libsb2.so' /proc/self/maps | head -1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o).trim(),
        format!("{}/usr/lib/sb2/libsb2.so", root.display()),
        "{}",
        text(&o)
    );
}
