//! The rule language end to end: every action, filter and condition of
//! docs/rules.md decides what a real program (cat, head, test) opens.

use sb2_tests::*;

#[test]
fn rules_every_action_filter_and_condition() {
    let w = World::new("rules");
    let d = w.dir.display().to_string();
    for (f, c) in [
        ("a/file", "A"),
        ("a/only_a", "A"),
        ("a/prefix", "P"),
        ("a/v/env/file", "ENV"),
        ("b/file", "B"),
        ("c/file", "C"),
        ("d/onlyd", "D"),
        ("e/v/cond/onlye", "E"),
    ] {
        let p = w.dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{c}\n")).unwrap();
    }
    let rules = w.write(
        "rules.lua",
        &format!(
            r#"local W = "{d}"
fs_mapping_rules = {{
  {{ rules = import_from_fs_rule_library("sb2_own"), dir = "/" }},
  {{ path = "/v/set", set_path = W .. "/a/file" }},
  {{ dir = "/v/env", map_to_value_of_env_var = "SB2T_ROOT" }},
  {{ dir = "/v/renv", replace_by_value_of_env_var = "SB2T_ROOT" }},
  {{ dir = "/v/bin", binary_name = "cat", replace_by = W .. "/a" }},
  {{ dir = "/v/bin", replace_by = W .. "/b" }},
  {{ dir = "/v/class", func_class = FUNC_CLASS_STAT, replace_by = W .. "/a" }},
  {{ dir = "/v/class", replace_by = W .. "/b" }},
  {{ dir = "/v/cond", actions = {{
      {{ if_env_var_is_not_empty = "SB2T_A", replace_by = W .. "/a" }},
      {{ if_active_exec_policy_is = "Special", replace_by = W .. "/b" }},
      {{ if_redirect_force_is_active = "/v/cond", replace_by = W .. "/c" }},
      {{ if_exists_then_replace_by = W .. "/d" }},
      {{ if_exists_in = W .. "/e", then_actions = {{ {{ map_to = W .. "/e" }} }} }},
      {{ replace_by = W .. "/b" }},
  }} }},
  {{ prefix = "/v/pre", replace_by = W .. "/a/pre" }},
  {{ dir = "/v/sub", rules = {{
      {{ path = "/v/sub/x", binary_name = "nobody", replace_by = W .. "/c/file" }},
  }} }},
  {{ dir = "/v/sub", replace_by = W .. "/b" }},
  {{ dir = "/", use_orig_path = true }},
}}
"#
        ),
    );
    let script = format!(
        "cat /v/set; SB2T_ROOT={d}/a cat /v/env/file; SB2T_ROOT={d}/a cat /v/renv/file; \
         cat /v/bin/file; head -1 /v/bin/file; test -e /v/class/only_a && echo stat-sees-a; cat /v/class/file; \
         SB2T_A=1 cat /v/cond/file; __SB2_EXEC_POLICY_NAME=Special cat /v/cond/file; \
         SBOX_REDIRECT_FORCE=/x:/v/cond cat /v/cond/file; cat /v/cond/onlyd; cat /v/cond/onlye; cat /v/cond/file; \
         cat /v/prefix; cat /v/sub/file"
    );
    let o = w.sh(&["-M", rules.to_str().unwrap()], &script);
    assert_eq!(
        stdout(&o),
        "A\nENV\nA\nA\nB\nstat-sees-a\nB\nA\nB\nC\nD\nE\nB\nP\nB\n",
        "{}",
        text(&o)
    );
}

#[test]
fn rules_show_explains_filters_and_origin() {
    let w = World::new("rulesshow");
    let rules = w.write(
        "r.lua",
        "fs_mapping_rules = {\n  { dir = \"/v\", func_class = FUNC_CLASS_STAT, binary_name = \"ls\", map_to = \"/x\", name = \"ls-stat\" },\n  { dir = \"/\", use_orig_path = true },\n}\n",
    );
    let o = w.sb2(&[
        "-M",
        rules.to_str().unwrap(),
        "sb2-show",
        "-b",
        "ls",
        "-f",
        "stat",
        "path",
        "/v/a",
    ]);
    let s = stdout(&o);
    assert!(s.contains("/v/a => /x/v/a"), "{}", text(&o));
    assert!(
        s.contains("func_class=STAT")
            && s.contains("binary_name=ls")
            && s.contains("name=\"ls-stat\""),
        "{s}"
    );
    assert!(s.contains(&format!("[{}:2]", rules.display())), "{s}");
    let o = w.sb2(&[
        "-M",
        rules.to_str().unwrap(),
        "sb2-show",
        "-b",
        "cat",
        "path",
        "/v/a",
    ]);
    assert!(stdout(&o).contains("/v/a => /v/a"), "{}", text(&o));
}
