//! Man pages and shell completions of every sb2 tool, made from the same
//! clap definitions that parse their command lines (so an option cannot
//! be documented differently from how it works), plus the written sections
//! a man page needs and clap cannot know: the modes, the rule language in
//! brief, exit status, files and environment. `scripts/install` runs
//! `sb2-gendocs DIR` and installs what it writes.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Arg, ArgAction, Command, CommandFactory};
use clap_complete::Shell;
use std::path::Path;

/// Every installed tool's command line. sb2-fakeroot and
/// sb2-checkbuilddeps parse theirs by hand (fakeroot's and
/// dpkg-checkbuilddeps's own syntax); they are described here.
pub fn commands() -> Vec<Command> {
    vec![
        crate::session::Args::command(),
        crate::init::Args::command(),
        crate::configure::Args::command(),
        crate::show::Args::command(),
        crate::logz::Args::command(),
        crate::mkroot::Args::command(),
        Command::new("sb2-fakeroot")
            .about("fakeroot's command line on the session's virtual permissions (what `fakeroot` runs in a session)")
            .arg(Arg::new("save").short('s').long("save-file").value_name("FILE").help("Save the virtual permissions to FILE when the command ends"))
            .arg(Arg::new("load").short('i').long("load-file").value_name("FILE").help("Load the virtual permissions from FILE first"))
            .arg(Arg::new("lib").short('l').long("lib").value_name("LIB").help("Accepted for compatibility, ignored"))
            .arg(Arg::new("faked").long("faked").value_name("FAKED").help("Accepted for compatibility, ignored"))
            .arg(Arg::new("unknown").short('u').long("unknown-is-real").action(ArgAction::SetTrue).help("Accepted for compatibility, ignored"))
            .arg(Arg::new("fdbase").short('b').long("fd-base").value_name("FD").help("Accepted for compatibility, ignored"))
            .arg(Arg::new("command").num_args(0..).trailing_var_arg(true).value_name("COMMAND")),
        Command::new("sb2-checkbuilddeps")
            .about("dpkg-checkbuilddeps in a cross session: a build dependency is met by a target package or a host tool (what `dpkg-checkbuilddeps` runs in a session with a cross toolchain)")
            .arg(Arg::new("args").num_args(0..).trailing_var_arg(true).allow_hyphen_values(true).value_name("DPKG-CHECKBUILDDEPS ARGS")),
    ]
}

/// One `.SH` section: a title and paragraphs; a paragraph `TAG\tTEXT` is
/// a tagged one (`.TP`).
fn section(out: &mut String, title: &str, paras: &[&str]) {
    out.push_str(&format!(".SH \"{title}\"\n"));
    for p in paras {
        match p.split_once('\t') {
            Some((tag, text)) => {
                out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(tag), esc(text)))
            }
            None => out.push_str(&format!(".PP\n{}\n", esc(p))),
        }
    }
}

/// Text safe in roff: backslashes doubled, no line starting with a dot or
/// quote.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The written sections of each page.
fn extra(name: &str) -> String {
    let mut s = String::new();
    if name == "sb2" {
        section(&mut s, "MODES", &[
            "A mode is a set of rule files (share/sb2/rules/modes/MODE): how paths map and how programs start. The target's default is set by sb2-init -m; -m picks another.",
            "simple\tHost programs; headers and libraries from the target root; a program only the target has is the target's; the package database is the target's.",
            "emulate\tThe target root as /, read-only unless root is simulated (-R); programs are the target's (through qemu for another architecture).",
            "emulate+toolchain\tAs emulate, with the host's cross compiler.",
            "tools\tEverything from the tools root.",
            "accel, devel\tPrograms from the tools root or host, headers and libraries from the target.",
            "install, sdk-install\tPackage management in the target (sb2 -t T -m install -R -- apt-get install PKG): the host's apt and dpkg run on the target where that is safe.",
            "nomap\tNo mapping; virtual permissions, network rules and the trace still work.",
        ]);
        section(&mut s, "RULES", &[
            "fs_rules.lua sets fs_mapping_rules, a list tried in order: each rule selects paths (path, dir, prefix, optionally func_class or binary_name) and says what they become (map_to, replace_by, use_orig_path, union_dir, or a list of actions with if_exists_then_map_to conditions), and may make them read-only (protection). exec_rules.lua sets exec_policies and exec_policy_selection: how a host-machine program at a mapped path is started. A bad rule file is reported with its file and line. sb2-show path P shows what P maps to and which rule decided.",
        ]);
        section(&mut s, "EXIT STATUS", &[
            "The command's own; 128+N if signal N ended it; 127 command not found; 126 cannot execute; 125 an error of sb2 itself (a bad option, an unknown target or mode, a rule file error); 86 with --strict when the command succeeded but made access violations.",
        ]);
        section(&mut s, "FILES", &[
            "$XDG_CONFIG_HOME/sb2/targets/NAME/config\tA target, written by sb2-init (~/.config/sb2 by default).",
            "PREFIX/lib/sb2/libsb2.so\tThe preload library, found from the sb2 binary's own location.",
            "PREFIX/share/sb2/rules\tThe rule files of every mode and network mode.",
            "$TMPDIR/sb2-*\tA session's directory: its compiled rules, virtual permissions and private /tmp; removed when the session ends (kept with -S).",
            "$XDG_CACHE_HOME/sb2/ruletree\tCompiled rules reused by later sessions with the same rules, target, options and sb2 (~/.cache/sb2/ruletree by default); an entry is used only while every file and path the rules looked at is unchanged. Safe to delete.",
        ]);
        section(
            &mut s,
            "ENVIRONMENT",
            &[
                "SBOX_TARGET\tThe target when -t is not given and no default is set.",
                "SB2_SESSION_DIR\tSet in a session; sb2 inside a session runs the command in it.",
                "SBOX_DISABLE_MAPPING\tNon-empty: the process and its children run unmapped.",
                "SB2_RULES_DIR, SB2_LIBSB2\tOverride where the rule files and libsb2.so are.",
                "SB2_LOG_DIR\tWhere -L logs go.",
                "SB2_NO_CACHE\tSet (not empty or 0): compile the session's rules afresh and leave the ruletree cache alone, as --no-cache.",
                "XDG_CACHE_HOME\tWhere the ruletree cache is (sb2/ruletree below it; ~/.cache by default).",
            ],
        );
    } else {
        section(&mut s, "SEE ALSO", &["sb2(1), sb2-init(1), sb2-mkroot(1)"]);
    }
    s
}

/// Writes man1/NAME.1 and completions/{bash,zsh,fish}/... for every tool
/// into `dir`.
pub fn write(dir: &Path) -> Result<()> {
    let man = dir.join("man1");
    std::fs::create_dir_all(&man)?;
    for mut cmd in commands() {
        let name = cmd.get_name().to_string();
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        page.extend_from_slice(extra(&name).as_bytes());
        let f = man.join(format!("{name}.1"));
        std::fs::write(&f, page).with_context(|| format!("writing {}", f.display()))?;
        for (shell, sub, file) in [
            (Shell::Bash, "bash", name.clone()),
            (Shell::Zsh, "zsh", format!("_{name}")),
            (Shell::Fish, "fish", format!("{name}.fish")),
        ] {
            let d = dir.join("completions").join(sub);
            std::fs::create_dir_all(&d)?;
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, name.clone(), &mut text);
            if name == "sb2" {
                text = dynamic(shell, text)?;
            }
            std::fs::write(d.join(&file), text)?;
        }
    }
    Ok(())
}

/// sb2's completion with `-t` completing the configured targets and `-m`
/// the modes of the installed rules, asked when the completion runs (clap
/// writes the options; the values are the user's).
fn dynamic(shell: Shell, text: Vec<u8>) -> Result<Vec<u8>> {
    let mut text = String::from_utf8(text)?;
    match shell {
        Shell::Bash => text.push_str(BASH_DYNAMIC),
        Shell::Zsh => {
            for (from, to) in [
                (":TARGET:_default'", ":TARGET:_sb2_targets'"),
                (":MODE:_default'", ":MODE:_sb2_modes'"),
            ] {
                if !text.contains(from) {
                    bail!("zsh completion: clap no longer writes {from}");
                }
                text = text.replacen(from, to, 1);
            }
            let body = text
                .strip_prefix("#compdef sb2\n")
                .ok_or_else(|| anyhow!("zsh completion: no #compdef line"))?;
            text = format!("#compdef sb2\n{ZSH_DYNAMIC}{body}");
        }
        Shell::Fish => text.push_str(FISH_DYNAMIC),
        _ => {}
    }
    Ok(text.into_bytes())
}

/// The installed modes: the rules next to the sb2 that is on PATH.
const ZSH_DYNAMIC: &str = r#"
_sb2_targets() {
    compadd -- host ${(f)"$(sb2-config -l 2>/dev/null)"}
}
_sb2_modes() {
    local sb2=${commands[sb2]}
    compadd -- ${(f)"$(ls ${sb2:h}/../share/sb2/rules/modes 2>/dev/null)"}
}
"#;

const FISH_DYNAMIC: &str = r#"
# Targets and modes come from the user's configuration and the installed
# rule files, when the completion runs.
complete -c sb2 -s t -x -a 'host (sb2-config -l 2>/dev/null)'
complete -c sb2 -s m -x -a '(ls (dirname (command -s sb2))/../share/sb2/rules/modes 2>/dev/null)'
"#;

/// Completes `sb2 -t` with the configured targets and `-m` with the modes
/// of the installed rules, then defers to clap's completion.
const BASH_DYNAMIC: &str = r#"
# Targets and modes come from the user's configuration and the installed
# rule files, when the completion runs.
_sb2_dynamic() {
    local cur prev rules
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
    -t)
        COMPREPLY=($(compgen -W "host $(sb2-config -l 2>/dev/null)" -- "$cur"))
        return 0
        ;;
    -m)
        rules="$(dirname "$(command -v sb2)")/../share/sb2/rules/modes"
        COMPREPLY=($(compgen -W "$(ls "$rules" 2>/dev/null)" -- "$cur"))
        return 0
        ;;
    esac
    _sb2 "$@"
}
complete -F _sb2_dynamic -o bashdefault -o default sb2
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn every_tool_has_a_page_with_the_written_sections() {
        let dir = std::env::temp_dir().join(format!("sb2-docs-{}", std::process::id()));
        super::write(&dir).unwrap();
        let sb2 = std::fs::read_to_string(dir.join("man1/sb2.1")).unwrap();
        for s in [
            "MODES",
            "RULES",
            "EXIT STATUS",
            "FILES",
            "ENVIRONMENT",
            "allow\\-write",
            "no\\-cache",
            "SB2_NO_CACHE",
            "sb2/ruletree",
        ] {
            assert!(sb2.contains(s), "{s}");
        }
        for t in super::commands() {
            assert!(dir.join(format!("man1/{}.1", t.get_name())).exists());
            assert!(dir
                .join(format!("completions/bash/{}", t.get_name()))
                .exists());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
