//! The ruletree cache (`$XDG_CACHE_HOME/sb2/ruletree`): a second session
//! with the same inputs reuses the compiled rules; any changed input (a
//! rule file or library, the target, an option, a file or path the rules
//! looked at) gives a fresh tree that behaves differently; a damaged entry
//! is rebuilt; sessions sharing an entry each get their own directory.
//! `sb2 -L LEVEL` says where the ruletree came from, which is what these
//! tests watch, besides what the session then does.

use sb2_tests::*;
use std::path::PathBuf;
use std::process::Output;

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `sb2 -L info ARGS...`, checked to succeed; (stdout, where the rules
/// came from: "cached", "compiled" (and stored) or "uncached").
fn run(w: &World, args: &[&str]) -> (String, &'static str) {
    let mut a = vec!["-L", "info"];
    a.extend_from_slice(args);
    let o = w.sb2(&a);
    assert!(o.status.success(), "sb2 {a:?}: {}", text(&o));
    let e = err(&o);
    let how = if e.contains("sb2: ruletree: cached (") {
        "cached"
    } else if e.contains("sb2: ruletree: compiled") && e.contains("cached in ") {
        "compiled"
    } else if e.contains("sb2: ruletree: compiled, not cached") {
        "uncached"
    } else {
        panic!(
            "sb2 {a:?} does not say where its ruletree came from: {}",
            text(&o)
        )
    };
    (stdout(&o), how)
}

fn cache_dir(w: &World) -> PathBuf {
    w.dir.join("cache/sb2/ruletree")
}

fn entries(w: &World) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache_dir(w))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn cache_a_second_session_reuses_the_compiled_rules() {
    let w = World::new("cache-reuse");
    let (_, how) = run(&w, &["true"]);
    assert_eq!(how, "compiled");
    assert_eq!(entries(&w).len(), 1);
    let (_, how) = run(&w, &["true"]);
    assert_eq!(how, "cached");
    // Bypassed on request, and nothing stored.
    let (_, how) = run(&w, &["--no-cache", "true"]);
    assert_eq!(how, "uncached");
    let o = w
        .cmd(bin_dir().join("sb2"))
        .env("SB2_NO_CACHE", "1")
        .args(["-L", "info", "true"])
        .output()
        .unwrap();
    assert!(
        err(&o).contains("ruletree: compiled, not cached"),
        "{}",
        text(&o)
    );
    assert_eq!(entries(&w).len(), 1);
}

#[test]
fn cache_a_changed_rule_file_or_library_gives_a_fresh_tree() {
    let w = World::new("cache-rules");
    // A copy of the shipped rules with a library of our own.
    let rules = w.dir.join("rules");
    let o = std::process::Command::new("cp")
        .arg("-r")
        .arg(repo().join("rules"))
        .arg(&rules)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let lib = rules.join("lib/cachetest.lua");
    let set_lib = |to: &str| {
        std::fs::write(
            &lib,
            format!("return {{ {{ dir = \"/lib-probe\", replace_by = \"{to}\" }} }}\n"),
        )
        .unwrap()
    };
    set_lib("/lib-one");
    let rule = |to: &str| {
        format!(
            "fs_mapping_rules = {{\n  {{ dir = \"/rule-probe\", replace_by = \"{to}\" }},\n  {{ dir = \"/\", rules = import_from_fs_rule_library(\"cachetest\") }},\n  {{ dir = \"/\", use_orig_path = true }},\n}}\n"
        )
    };
    let f = w.write("rules.lua", &rule("/rule-one"));
    let show = |w: &World| {
        let o = w
            .cmd(bin_dir().join("sb2"))
            .env("SB2_RULES_DIR", &rules)
            .args(["-L", "info", "-M", f.to_str().unwrap()])
            .args(["sb2-show", "which", "/rule-probe", "/lib-probe"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        (stdout(&o), err(&o))
    };
    let (out, e) = show(&w);
    assert_eq!(out, "/rule-one\n/lib-one\n", "{e}");
    let (out, e) = show(&w);
    assert!(e.contains("ruletree: cached"), "{e}");
    assert_eq!(out, "/rule-one\n/lib-one\n");
    w.write("rules.lua", &rule("/rule-two"));
    let (out, e) = show(&w);
    assert!(
        e.contains("entry replaced") && e.contains("rules.lua changed"),
        "{e}"
    );
    assert_eq!(out, "/rule-two\n/lib-one\n");
    set_lib("/lib-two");
    let (out, e) = show(&w);
    assert!(e.contains("cachetest.lua changed"), "{e}");
    assert_eq!(out, "/rule-two\n/lib-two\n");
    let (_, e) = show(&w);
    assert!(e.contains("ruletree: cached"), "{e}");
}

#[test]
fn cache_a_changed_filesystem_fact_gives_a_fresh_tree() {
    let w = World::new("cache-probe");
    let flag = w.dir.join("flag");
    let data = w.dir.join("data");
    std::fs::write(&data, "/from-file-one").unwrap();
    let f = w.write(
        "rules.lua",
        &format!(
            "local f = io.open(\"{data}\", \"rb\")\nlocal to = f:read(\"a\")\nf:close()\n\
             fs_mapping_rules = {{\n  {{ dir = \"/exists\", replace_by = sblib.path_exists(\"{flag}\") and \"/yes\" or \"/no\" }},\n  {{ dir = \"/content\", replace_by = to }},\n  {{ dir = \"/\", use_orig_path = true }},\n}}\n",
            data = data.display(),
            flag = flag.display()
        ),
    );
    let m = f.to_str().unwrap();
    let args = ["-M", m, "sb2-show", "which", "/exists", "/content"];
    assert_eq!(run(&w, &args), ("/no\n/from-file-one\n".into(), "compiled"));
    assert_eq!(run(&w, &args), ("/no\n/from-file-one\n".into(), "cached"));
    std::fs::write(&flag, "").unwrap();
    assert_eq!(
        run(&w, &args),
        ("/yes\n/from-file-one\n".into(), "compiled")
    );
    // Same size, written within the same second: the contents decide.
    std::fs::write(&data, "/from-file-two").unwrap();
    assert_eq!(
        run(&w, &args),
        ("/yes\n/from-file-two\n".into(), "compiled")
    );
    assert_eq!(run(&w, &args), ("/yes\n/from-file-two\n".into(), "cached"));
}

#[test]
fn cache_a_changed_target_or_option_gives_a_fresh_tree() {
    let w = World::new("cache-target");
    let root1 = w.dir.join("root1");
    let root2 = w.dir.join("root2");
    for r in [&root1, &root2] {
        std::fs::create_dir_all(r.join("usr/include")).unwrap();
    }
    let which = ["sb2-show", "which", "/usr/include/stdio.h"];
    let mut args = vec!["-t", "t"];
    args.extend(which);
    w.init_target(&root1, "t", &[]);
    let want1 = format!("{}/usr/include/stdio.h\n", root1.display());
    assert_eq!(run(&w, &args), (want1.clone(), "compiled"));
    assert_eq!(run(&w, &args), (want1, "cached"));
    // The same target name, another root.
    w.init_target(&root2, "t", &[]);
    let want2 = format!("{}/usr/include/stdio.h\n", root2.display());
    assert_eq!(run(&w, &args), (want2.clone(), "compiled"));
    assert_eq!(run(&w, &args), (want2.clone(), "cached"));
    // Target options: the machine uname reports, the default mode.
    w.init_target(&root2, "t", &["-M", "armv9cache"]);
    assert_eq!(
        run(&w, &["-t", "t", "uname", "-m"]),
        ("armv9cache\n".into(), "compiled")
    );
    w.init_target(&root2, "t", &["-M", "armv8cache"]);
    assert_eq!(
        run(&w, &["-t", "t", "uname", "-m"]),
        ("armv8cache\n".into(), "compiled")
    );
    w.init_target(&root2, "t", &["-m", "nomap"]);
    assert_eq!(
        run(&w, &args),
        ("/usr/include/stdio.h\n".into(), "compiled")
    );
    w.init_target(&root2, "t", &[]);
    assert_eq!(run(&w, &args), (want2, "cached"));
    // -m: another mode maps differently.
    let mut em = vec!["-t", "t", "-m", "emulate"];
    em.extend(which);
    let (out, how) = run(&w, &em);
    assert_eq!(how, "compiled");
    assert_eq!(out, format!("{}/usr/include/stdio.h\n", root2.display()));
    // -m nomap is what the target's default mode nomap compiled above:
    // the same inputs, so the same entry.
    let mut nomap = vec!["-t", "t", "-m", "nomap"];
    nomap.extend(which);
    assert_eq!(run(&w, &nomap), ("/usr/include/stdio.h\n".into(), "cached"));
    // -n: another network mode.
    require("python3");
    let bind = "import socket\ntry:\n socket.socket().bind(('127.0.0.1', 0)); print('bound')\nexcept OSError as e: print('refused')";
    let net = |mode: &str| run(&w, &["-n", mode, "python3", "-c", bind]);
    assert_eq!(net("offline"), ("refused\n".into(), "compiled"));
    assert_eq!(net("offline"), ("refused\n".into(), "cached"));
    assert_eq!(net("localhost"), ("bound\n".into(), "compiled"));
    // --allow-write: the directory allowed changes what a write may do.
    let a = w.dir.join("a");
    let b = w.dir.join("b");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let touch = |allow: &PathBuf| {
        let o = w.sb2(&[
            "-q",
            "--allow-write",
            allow.to_str().unwrap(),
            "touch",
            b.join("x").to_str().unwrap(),
        ]);
        o.status.success()
    };
    assert!(!touch(&a), "b is not writable with --allow-write a");
    assert!(!touch(&a), "nor from the cache");
    assert!(touch(&b), "b is writable with --allow-write b");
}

#[test]
fn cache_a_damaged_entry_is_rebuilt() {
    let w = World::new("cache-damage");
    let args = ["sh", "-c", "echo ok"];
    assert_eq!(run(&w, &args), ("ok\n".into(), "compiled"));
    let [entry] = entries(&w).try_into().expect("one entry");
    let good = std::fs::read(&entry).unwrap();
    let flipped = {
        let mut b = good.clone();
        let i = b.len() / 2;
        b[i] ^= 0x5a;
        b[i + 1] ^= 0xa5;
        b
    };
    for (what, bytes) in [
        ("truncated", good[..good.len() / 3].to_vec()),
        ("checksum mismatch", flipped),
        ("not a cache entry", b"garbage".repeat(20)),
        ("another version", {
            let mut b = good.clone();
            b[8] = b[8].wrapping_add(1);
            b
        }),
    ] {
        std::fs::write(&entry, &bytes).unwrap();
        let o = w.sb2(&["-L", "info", "sh", "-c", "echo ok"]);
        assert!(o.status.success(), "{what}: {}", text(&o));
        assert_eq!(stdout(&o), "ok\n");
        assert!(
            err(&o).contains(&format!("entry replaced: {what}")),
            "{what}: {}",
            text(&o)
        );
        assert_eq!(std::fs::read(&entry).unwrap().len(), good.len(), "{what}");
        assert_eq!(run(&w, &args), ("ok\n".into(), "cached"), "{what}");
    }
}

#[test]
fn cache_sessions_sharing_an_entry_each_have_their_own_tmp() {
    let w = World::new("cache-tmp");
    let s1 = w.dir.join("s1");
    let s2 = w.dir.join("s2");
    let show = |s: &PathBuf| {
        run(
            &w,
            &[
                "-m",
                "emulate",
                "-W",
                s.to_str().unwrap(),
                "sh",
                "-c",
                "echo $SB2_SESSION_DIR > /tmp/mine; sb2-show which /tmp/mine; cat /tmp/mine",
            ],
        )
    };
    let (out, how) = show(&s1);
    assert_eq!(how, "compiled");
    let d1 = s1.display();
    assert_eq!(out, format!("{d1}/tmp/mine\n{d1}\n"));
    let (out, how) = show(&s2);
    assert_eq!(how, "cached");
    let d2 = s2.display();
    assert_eq!(out, format!("{d2}/tmp/mine\n{d2}\n"));
    // The log file, also per session, is this session's.
    let o = w.sb2(&["-L", "debug", "cat", "/etc/hostname"]);
    assert!(err(&o).contains("ruletree: compiled"), "{}", text(&o));
    let o = w.sb2(&["-L", "debug", "cat", "/etc/hostname"]);
    assert!(err(&o).contains("ruletree: cached"), "{}", text(&o));
    let logs: Vec<_> = std::fs::read_dir(w.home.join(".local/state/sb2"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let with_cat = logs.iter().filter(|l| l.contains("hostname")).count();
    assert!(with_cat >= 2, "each session logs to its own file: {logs:?}");
}
