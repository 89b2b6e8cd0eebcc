use std::time::Duration;

use super::*;

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("kling-omni-mcp").chain(args.iter().copied())).unwrap()
}

fn to_config(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
    cli.into_config(env)
}

#[test]
fn defaults_point_at_cometapi_without_a_key() {
    let config = to_config(cli(&[]), |_| None).unwrap();
    assert_eq!(config.base_url.as_str(), "https://api.cometapi.com/");
    assert!(config.api_key.is_none());
    assert!(!config.simulate);
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    assert_eq!(config.allowed_roots.dirs(), [cwd]);
}

#[test]
fn key_comes_from_the_environment_and_is_redacted() {
    let config = to_config(cli(&["--simulate"]), |name| {
        (name == "COMETAPI_KEY").then(|| "sk-secret-value-123".to_owned())
    })
    .unwrap();
    assert!(config.api_key.is_some());
    assert!(config.simulate);
    assert!(!format!("{config:?}").contains("sk-secret"));
}

#[test]
fn durations_and_paths_come_from_flags() {
    let config = to_config(
        cli(&[
            "--max-wait",
            "5",
            "--poll-min",
            "0.05",
            "--journal",
            "off",
            "--output-dir",
            "/tmp/out",
            "--retry-base-ms",
            "10",
        ]),
        |_| None,
    )
    .unwrap();
    assert_eq!(config.jobs.max_wait, Duration::from_secs(5));
    assert_eq!(config.jobs.schedule.min, Duration::from_millis(50));
    assert_eq!(config.jobs.retry.base, Duration::from_millis(10));
    assert_eq!(config.jobs.output_dir, PathBuf::from("/tmp/out"));
    assert_eq!(
        config.store.kind(),
        "memory",
        "--journal off still means memory only"
    );
    assert_eq!(config.deprecations.len(), 1);
    assert!(config.legacy_journal.is_none());
    let err = to_config(cli(&["--max-wait=-1"]), |_| None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--max-wait must be between 0.001 and 3600 seconds, got -1"
    );
    let defaults = to_config(cli(&[]), |_| None).unwrap();
    assert!(
        defaults
            .store
            .sqlite_path()
            .unwrap()
            .ends_with("tasks.sqlite3")
    );
    assert!(defaults.legacy_journal.unwrap().ends_with("tasks.jsonl"));
    assert!(defaults.deprecations.is_empty());
    assert_eq!(defaults.create_timeout, Duration::from_secs(60));
}

#[test]
fn bad_base_urls_are_refused_with_an_example() {
    for bad in ["api.cometapi.com", "ftp://x", "", "http://"] {
        let err = to_config(cli(&["--base-url", bad]), |_| None).unwrap_err();
        assert!(
            err.to_string().contains("https://api.cometapi.com"),
            "{bad}"
        );
    }
}

#[test]
fn allowed_dirs_come_from_flags_and_the_environment() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let list = std::env::join_paths([b.path()])
        .unwrap()
        .into_string()
        .unwrap();
    let config = to_config(cli(&["--allow-dir", a.path().to_str().unwrap()]), |name| {
        (name == "KLING_MCP_ALLOWED_DIRS").then(|| list.clone())
    })
    .unwrap();
    let expected = [
        a.path().canonicalize().unwrap(),
        b.path().canonicalize().unwrap(),
    ];
    assert_eq!(config.allowed_roots.dirs(), expected);
}

#[test]
fn the_store_takes_every_documented_form_and_a_journal_is_imported() {
    let store = |args: &[&str]| to_config(cli(args), |_| None).map(|c| c.store.to_string());
    assert_eq!(store(&["--store", "off"]).unwrap(), "memory only");
    assert_eq!(store(&["--store", "/d/t.db"]).unwrap(), "sqlite:/d/t.db");
    assert_eq!(store(&["--store", "sqlite:t.db"]).unwrap(), "sqlite:t.db");
    assert_eq!(
        store(&["--store", "postgresql://u:pw@h:5433/k"]).unwrap(),
        "postgres://u@h:5433/k"
    );
    let err = store(&["--store", "mysql://h/k"]).unwrap_err().to_string();
    assert!(err.contains("--store"), "{err}");
    let config = to_config(
        cli(&["--journal", "/old/tasks.jsonl", "--store", "/s.db"]),
        |_| None,
    )
    .unwrap();
    assert_eq!(
        config.legacy_journal.unwrap(),
        PathBuf::from("/old/tasks.jsonl")
    );
    assert!(config.deprecations[0].contains("KLING_MCP_STORE"));
    let memory = to_config(
        cli(&["--journal", "/old/tasks.jsonl", "--store", "off"]),
        |_| None,
    )
    .unwrap();
    assert!(
        memory.legacy_journal.is_none(),
        "never imported into (and renamed for) memory"
    );
}

#[test]
fn the_call_deadline_follows_max_wait_and_stays_under_a_minute() {
    let deadline = |args: &[&str]| to_config(cli(args), |_| None).map(|c| c.jobs.call_deadline);
    assert_eq!(deadline(&[]).unwrap(), Duration::from_secs(55));
    assert_eq!(
        deadline(&["--max-wait", "2"]).unwrap(),
        Duration::from_secs(7)
    );
    assert_eq!(
        deadline(&["--max-wait", "58"]).unwrap(),
        Duration::from_secs(55),
        "the default never reaches the clients' 60 s"
    );
    assert_eq!(
        deadline(&["--call-deadline", "3.5"]).unwrap(),
        Duration::from_millis(3500)
    );
    for bad in ["60", "90", "0", "-1"] {
        let err = deadline(&[&format!("--call-deadline={bad}")]).unwrap_err();
        assert!(err.to_string().contains("under 60"), "{err}");
    }
}

#[test]
fn the_player_is_on_by_default_and_no_player_turns_it_off() {
    let config = to_config(cli(&[]), |_| None).unwrap();
    assert_eq!(config.player_origins, Some(Vec::new()));
    let config = to_config(cli(&["--no-player"]), |_| None).unwrap();
    assert_eq!(config.player_origins, None);
    let config = to_config(
        cli(&["--player-origins", "https://a.example, https://*.b.example"]),
        |_| None,
    )
    .unwrap();
    let expected = ["https://a.example", "https://*.b.example"].map(String::from);
    assert_eq!(config.player_origins, Some(expected.to_vec()));
    let refused = to_config(cli(&["--player-origins", "https://a.example/x"]), |_| None);
    assert!(matches!(refused, Err(ConfigError::BadPlayerOrigin(_))));
}

/// Every duration flag is bounded: a value past what a deadline can hold (`1e19` aborted the
/// process on the first connection) is refused at start, naming the flag and its range.
#[test]
fn every_duration_flag_refuses_values_outside_its_range() {
    use crate::config::{DURATION_FLAGS, Unit};
    use clap::CommandFactory;
    // Every SECS or MS flag of the grammar is in the table (so a new one gets a range).
    let command = Cli::command();
    let timed: Vec<String> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_value_names()
                .is_some_and(|names| names.iter().any(|n| *n == "SECS" || *n == "MS"))
        })
        .filter_map(|arg| arg.get_long().map(str::to_owned))
        .collect();
    let listed: Vec<&str> = DURATION_FLAGS.iter().map(|f| f.flag).collect();
    for flag in &timed {
        assert!(listed.contains(&flag.as_str()), "--{flag} has no range");
    }
    assert_eq!(timed.len(), listed.len(), "{timed:?} vs {listed:?}");
    // `--http` so the HTTP flags are read too.
    let config = |flag: &str, value: &str| {
        let arg = format!("--{flag}={value}");
        let args = ["--http", "127.0.0.1:0", arg.as_str()];
        to_config(cli(&args), |_| None).map(|_| ())
    };
    for bound in DURATION_FLAGS {
        let flag = bound.flag;
        let (min, max) = match bound.unit {
            Unit::Seconds => (bound.min.to_string(), bound.max.to_string()),
            Unit::Millis => (
                format!("{}", bound.min as u64),
                format!("{}", bound.max as u64),
            ),
        };
        assert!(config(flag, &min).is_ok(), "--{flag} {min}");
        assert!(config(flag, &max).is_ok(), "--{flag} {max}");
        let above = match bound.unit {
            Unit::Seconds => format!("{}", bound.max + 1.0),
            Unit::Millis => format!("{}", bound.max as u64 + 1),
        };
        for bad in ["10000000000000000000", "0", above.as_str()] {
            let err = config(flag, bad).unwrap_err().to_string();
            assert!(
                err.contains(&format!("--{flag} must be")),
                "{flag} {bad}: {err}"
            );
            assert!(!err.contains('\n'), "one line: {err}");
            if flag != "call-deadline" {
                assert!(err.contains(&format!("between {min} and {max}")), "{err}");
            }
        }
    }
    for bad in ["-1", "NaN", "inf", "1e19"] {
        let err = config("idle-timeout", bad).unwrap_err().to_string();
        assert!(
            err.contains("--idle-timeout must be between"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn an_empty_or_blank_token_variable_is_refused_not_taken_as_no_auth() {
    for blank in ["", "   ", "\t\n"] {
        let env = |name: &str| (name == "KLING_MCP_HTTP_TOKEN").then(|| blank.to_owned());
        let err = to_config(cli(&["--http", "127.0.0.1:8787"]), env).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, ConfigError::EmptyToken(_)), "{message}");
        assert!(
            message.contains("KLING_MCP_HTTP_TOKEN is set but empty"),
            "{message}"
        );
    }
    // Unset is no token (loopback only); a real one is trimmed and kept.
    let unset = to_config(cli(&["--http", "127.0.0.1:8787"]), |_| None).unwrap();
    assert!(unset.http.unwrap().token.is_none());
    let env = |name: &str| (name == "KLING_MCP_HTTP_TOKEN").then(|| " s3cret\n".to_owned());
    let set = to_config(cli(&["--http", "127.0.0.1:8787"]), env).unwrap();
    let token = set.http.unwrap().token.unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "s3cret");
}
