//! How every sb2 tool treats its command line: a bad one fails like a Unix
//! tool's, with one line on stderr that names the option and gives a hint,
//! and exit status [`EXIT_SB2_ERROR`] (125), the status wrapper tools such
//! as `env` and `timeout` use for their own errors, so that it cannot be
//! mistaken for the status of the command a wrapper ran. `--help` and
//! `--version` print to stdout and exit 0.
//!
//! clap's own error text is several lines (usage, tips) and exits 2; the
//! tools go through [`parse`] instead of `Parser::parse` to get the line
//! and status above.

use crate::EXIT_SB2_ERROR;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::fmt;

/// A usage error found after clap parsed the line (a missing operand, an
/// unknown subcommand word): reported like clap's, with exit status 125.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`] as an `anyhow::Error`, for `return Err(usage(...))`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Parses the process's arguments; on `--help`/`--version` prints and
/// exits 0, on a bad command line prints one line and exits 125.
pub fn parse<P: clap::Parser>(tool: &str) -> P {
    P::try_parse().unwrap_or_else(|e| clap_exit(tool, &e))
}

/// Ends the process for a clap error (see the module doc).
pub fn clap_exit(tool: &str, e: &clap::Error) -> ! {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // A closed stdout (`sb2 --help | true`) is no reason to fail.
        let _ = e.print();
        std::process::exit(0);
    }
    usage_exit(tool, &one_line(e))
}

/// Prints `TOOL: MSG; see 'TOOL --help'` and exits 125.
pub fn usage_exit(tool: &str, msg: &str) -> ! {
    eprintln!("{tool}: {msg}; see '{tool} --help'");
    std::process::exit(EXIT_SB2_ERROR)
}

/// Ends the process with the outcome of a tool's run: its status, 125 for
/// a usage error, `failure` for any other error.
pub fn finish(tool: &str, r: anyhow::Result<i32>, failure: i32) -> ! {
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => match e.downcast_ref::<UsageError>() {
            Some(u) => usage_exit(tool, &u.0),
            None => {
                eprintln!("{tool}: {e:#}");
                std::process::exit(failure)
            }
        },
    }
}

/// Makes a closed pipe end the tool quietly (`sb2-logz log | head`), as it
/// does other command-line tools, instead of a panic on the next print.
pub fn default_sigpipe() {
    // SAFETY: restoring the default disposition of one signal at start-up,
    // before any thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// A clap error as one line without the tool name: what is wrong, naming
/// the option, and clap's suggestion if it has one.
pub fn one_line(e: &clap::Error) -> String {
    let s = |k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    // clap names an option with its value placeholder ("-t <TARGET>").
    let arg = s(ContextKind::InvalidArg).unwrap_or("?");
    let name = arg.split(' ').next().unwrap_or(arg);
    let mut msg = match (e.kind(), s(ContextKind::InvalidValue)) {
        (ErrorKind::UnknownArgument, _) if arg.starts_with('-') => {
            format!("unexpected option '{arg}'")
        }
        (ErrorKind::UnknownArgument, _) => format!("unexpected argument '{arg}'"),
        (ErrorKind::InvalidValue, Some("")) => format!("option '{name}' needs a value"),
        (ErrorKind::InvalidValue, Some(v)) => format!("invalid value '{v}' for '{name}'"),
        (ErrorKind::ArgumentConflict, _) => match s(ContextKind::PriorArg) {
            Some(p) => format!("'{name}' cannot be used with '{}'", first_word(p)),
            None => format!("'{name}' cannot be used with the other options given"),
        },
        (ErrorKind::InvalidSubcommand, _) => format!(
            "unknown command '{}'",
            s(ContextKind::InvalidSubcommand).unwrap_or("?")
        ),
        (ErrorKind::MissingSubcommand, _)
        | (ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand, _) => {
            "a command is required".to_owned()
        }
        _ => clap_first_line(e),
    };
    let did_you_mean = [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(v)) => Some(v.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    });
    if let Some(d) = did_you_mean {
        msg.push_str(&format!(" (did you mean '{d}'?)"));
    } else if let Some(ContextValue::StyledStrs(tips)) = e.get(ContextKind::Suggested) {
        if let Some(t) = tips.first() {
            msg.push_str(&format!(" ({t})"));
        }
    }
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        if !valid.is_empty() {
            msg.push_str(&format!("; valid values: {}", valid.join(", ")));
        }
    }
    msg
}

fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or(s)
}

/// clap's own message, for the kinds not worded above, on one line: its
/// first paragraph (a list of missing options is on the lines after the
/// first) without the "error: " prefix.
fn clap_first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let para: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = para.join(" ");
    match line.strip_prefix("error: ") {
        Some(l) => l.to_owned(),
        None if line.is_empty() => "bad command line".to_owned(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    #[command(name = "t")]
    struct T {
        #[arg(short = 't', value_name = "TARGET")]
        target: Option<String>,
        #[arg(long = "allow-write", value_name = "DIR")]
        allow_write: Vec<String>,
        #[arg(short = 'e', conflicts_with = "mode")]
        emulate: bool,
        #[arg(short = 'm')]
        mode: Vec<String>,
        #[arg(short = 'L', value_parser = ["error", "debug"])]
        level: Option<String>,
        #[arg(long, requires = "level")]
        tree: Option<String>,
        #[arg(trailing_var_arg = true)]
        command: Vec<String>,
    }

    fn err(args: &[&str]) -> String {
        let e = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .expect_err("a bad command line");
        one_line(&e)
    }

    #[test]
    fn each_error_is_one_line_naming_the_option() {
        let m = err(&["--allow-writes", "/tmp", "true"]);
        assert_eq!(
            m,
            "unexpected option '--allow-writes' (did you mean '--allow-write'?)"
        );
        let m = err(&["-X", "foo"]);
        assert!(m.starts_with("unexpected option '-X' ("), "{m}");
        assert_eq!(err(&["-t"]), "option '-t' needs a value");
        assert_eq!(err(&["-e", "-m", "x"]), "'-e' cannot be used with '-m'");
        assert_eq!(
            err(&["-L", "loud"]),
            "invalid value 'loud' for '-L'; valid values: error, debug"
        );
        assert_eq!(
            err(&["--tree", "x"]),
            "the following required arguments were not provided: -L <LEVEL>"
        );
        for a in [&["-X"][..], &["-t"], &["-L", "x"], &["-e", "-m", "y"]] {
            assert!(!err(a).contains('\n'), "{a:?}");
        }
    }

    #[test]
    fn options_after_the_command_are_the_commands() {
        let t = T::try_parse_from(["t", "make", "-j4", "--", "-X"]).expect("valid");
        assert_eq!(t.command, ["make", "-j4", "--", "-X"]);
        let t = T::try_parse_from(["t", "--", "-weird"]).expect("valid");
        assert_eq!(t.command, ["-weird"]);
    }
}
