//! Reading the command line: a value clap cannot parse is refused like every other bad value
//! (one line naming the flag, with the fix, exit 2), and `--help` ends with the exit codes.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::{Cli, Exit};

/// The exit codes, as `--help` shows them (the same table as the README).
pub(super) const EXIT_CODES: &str = "Exit codes:
  0    ok
  1    the video task failed
  2    bad input
  3    key or setup problem (also the task store)
  4    CometAPI unreachable or erroring (also submit_uncertain)
  5    spend limit reached (--max-videos-per-day, --max-seconds-per-day); nothing was sent
  130  interrupted (Ctrl-C); the task keeps running";

/// The parsed command line; `Err` after printing help, the version, or the one-line error.
pub fn parse_command_line() -> Result<Cli, Exit> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = command()
        .try_get_matches_from(&args)
        .and_then(|matches| <Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(cli),
        Err(err) => match one_line(&err, &args) {
            Some(line) => {
                eprintln!("{line}");
                Err(Exit::BadInput)
            }
            None => {
                // Help and version go to stdout and exit 0; the rest of clap's errors (unknown
                // flags, missing values) already say what to do.
                let _ = err.print();
                Err(match err.exit_code() {
                    0 => Exit::Ok,
                    _ => Exit::BadInput,
                })
            }
        },
    }
}

/// The global flags each subcommand has no use for: hidden from its help (still accepted, so
/// a shell alias that always adds them keeps working).
const UNUSED_GLOBALS: &[(&str, &[&str])] = &[
    (
        "list",
        &[
            "allow_dirs",
            "output_dir",
            "allow_private_downloads",
            "max_videos_per_task",
            "max_download_bytes",
        ],
    ),
    ("status", &["allow_dirs"]),
    (
        "balance",
        &[
            "allow_dirs",
            "output_dir",
            "allow_private_downloads",
            "max_videos_per_task",
            "max_download_bytes",
        ],
    ),
    (
        "doctor",
        &[
            "allow_dirs",
            "allow_private_downloads",
            "max_videos_per_task",
            "max_download_bytes",
        ],
    ),
    (
        "config",
        &[
            "base_url",
            "allow_private_downloads",
            "max_videos_per_task",
            "max_download_bytes",
        ],
    ),
];

/// The command line's grammar, each subcommand's help showing only the flags it uses.
pub(super) fn command() -> clap::Command {
    let mut command = <Cli as clap::CommandFactory>::command();
    // A subcommand that defines a global flag itself does not get the parent's copy: give it
    // the same flag, hidden.
    for (name, unused) in UNUSED_GLOBALS {
        let hidden: Vec<clap::Arg> = command
            .get_arguments()
            .filter(|arg| unused.contains(&arg.get_id().as_str()))
            .map(|arg| arg.clone().hide(true))
            .collect();
        command = command.mut_subcommand(*name, |sub| sub.args(hidden));
    }
    command
}

/// `error [invalid_request]: `--duration` is "abc": … (fix: …)` for a value that does not
/// parse; `None` for the errors clap words well enough itself.
fn one_line(err: &clap::Error, args: &[std::ffi::OsString]) -> Option<String> {
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let text = |kind| match err.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    // "--duration <DURATION>" → "--duration".
    let flag = text(ContextKind::InvalidArg)?
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let value = text(ContextKind::InvalidValue)?;
    let problem = match (
        std::error::Error::source(err),
        err.get(ContextKind::ValidValue),
    ) {
        (Some(source), _) => source.to_string(),
        (None, Some(ContextValue::Strings(valid))) => format!("use one of: {}", valid.join(", ")),
        (None, _) => "not a valid value".to_owned(),
    };
    Some(format!(
        "error [invalid_request]: `{flag}` is \"{value}\": {problem} (fix: see `{} --help`)",
        command_of(args)
    ))
}

/// The command whose help explains the flag: `kling-omni-mcp list` when the arguments name
/// that subcommand (the first one they name).
fn command_of(args: &[std::ffi::OsString]) -> String {
    let cli = <Cli as clap::CommandFactory>::command();
    let named = args.iter().skip(1).find_map(|arg| {
        cli.get_subcommands()
            .find(|sub| arg.to_str() == Some(sub.get_name()))
    });
    match named {
        Some(sub) => format!("kling-omni-mcp {}", sub.get_name()),
        None => "kling-omni-mcp".to_owned(),
    }
}

/// `list --limit`: 1 to 100 (refused, not clamped: a person asking for 500 would otherwise
/// believe they saw everything).
pub(super) fn limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err("give a whole number from 1 to 100".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(args: &[&str]) -> String {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        let err = command()
            .try_get_matches_from(&args)
            .err()
            .map(|err| one_line(&err, &args));
        match err {
            Some(Some(line)) => line,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn values_clap_cannot_parse_get_one_line_with_the_flag_and_the_fix() {
        assert_eq!(
            refused(&["kling-omni-mcp", "list", "--limit", "0"]),
            "error [invalid_request]: `--limit` is \"0\": give a whole number from 1 to 100 (fix: see `kling-omni-mcp list --help`)"
        );
        assert!(refused(&["kling-omni-mcp", "list", "--limit", "500"]).contains("`--limit`"));
        let element = refused(&[
            "kling-omni-mcp",
            "generate",
            "--prompt",
            "x",
            "--element",
            "abc",
        ]);
        assert!(
            element.starts_with("error [invalid_request]: `--element` is \"abc\": ")
                && element.ends_with("(fix: see `kling-omni-mcp generate --help`)"),
            "{element}"
        );
        let client = refused(&["kling-omni-mcp", "config", "zed"]);
        assert!(client.contains("claude-desktop"), "{client}");
        assert!(!client.contains('\n'), "{client}");
    }

    #[test]
    fn each_subcommand_help_shows_the_flags_it_uses() {
        // As a person sees it: `kling-omni-mcp SUBCOMMAND --help`.
        let help =
            |name: &str| match command().try_get_matches_from(["kling-omni-mcp", name, "--help"]) {
                Err(err) => err.to_string(),
                Ok(_) => panic!("no help for {name}"),
            };
        let list = help("list");
        for unused in [
            "--allow-dir",
            "--output-dir",
            "--max-download-bytes",
            "--http",
        ] {
            assert!(!list.contains(unused), "{unused} in list's help: {list}");
        }
        assert!(
            list.contains("--store") && list.contains("--simulate"),
            "{list}"
        );
        let generate = help("generate");
        for used in ["--allow-dir", "--output-dir", "--max-download-bytes"] {
            assert!(
                generate.contains(used),
                "{used} missing from generate's help"
            );
        }
        // Hidden, not removed: the value still reaches the settings.
        let matches = command()
            .try_get_matches_from([
                "kling-omni-mcp",
                "list",
                "--allow-dir",
                "/srv",
                "--max-download-bytes",
                "7",
            ])
            .unwrap();
        let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
        assert_eq!(cli.allow_dirs, [std::path::PathBuf::from("/srv")]);
        assert_eq!(cli.downloads.max_download_bytes, 7);
    }

    #[test]
    fn limits_inside_the_range_pass() {
        assert_eq!(limit("1"), Ok(1));
        assert_eq!(limit("100"), Ok(100));
        assert!(limit("0").is_err() && limit("101").is_err() && limit("x").is_err());
    }
}
