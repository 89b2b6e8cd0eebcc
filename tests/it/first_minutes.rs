//! A newcomer's first minutes with the command line (issue 19): one-line errors with no log
//! noise, a read-only store that still lists, flags kept where they matter, `--limit`
//! refused out of range (in the CLI and the tool), help that fits the subcommand.

use serde_json::json;

use crate::support::{BIN, Harness, Run, error_meta, person as command, run, text};

fn assert_one_error_line(run: &Run, needle: &str) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {}", run.stderr);
    assert!(
        lines[0].starts_with("error [") && lines[0].contains(needle),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(" ERROR ") && !run.stderr.contains(" WARN "));
}

#[tokio::test]
async fn an_unreachable_store_is_one_line_and_exit_3_in_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = format!("postgres://kling@127.0.0.1:{port}/kling");
    // (`status` asks CometAPI, not the store.)
    for args in [
        vec!["list"],
        vec!["generate", "--prompt", "a cat", "--aspect-ratio", "1:1"],
    ] {
        let mut args = args;
        args.extend(["--simulate", "--store", &store]);
        let result = run(command(dir.path()), &args).await;
        assert_eq!(result.code, 3, "{args:?}: {}", result.stderr);
        // The cause, not the driver's "error occurred while creating a new object".
        assert_one_error_line(&result, "error connecting to server: Connection refused");
    }
    let doctor = run(
        command(dir.path()),
        &["doctor", "--simulate", "--store", &store],
    )
    .await;
    assert_eq!(doctor.code, 3, "{}", doctor.stdout);
    assert!(doctor.stderr.is_empty(), "{}", doctor.stderr);
    assert!(!doctor.stdout.contains("doctor`"), "{}", doctor.stdout);
}

#[tokio::test]
async fn a_submit_left_by_a_crash_makes_no_log_noise_in_a_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let store = kling_omni_mcp::store::Store::open(kling_omni_mcp::store::StoreLocation::Sqlite(
        dir.path().join("tasks.sqlite3"),
    ))
    .await
    .unwrap();
    let task = kling_omni_mcp::store::NewTask {
        external_task_id: "kmcp-left-by-a-crash".into(),
        owner: kling_omni_mcp::store::Owner::server(),
        mode: "text_to_video".into(),
        prompt_head: "left behind".into(),
        model: "kling-video-o1".into(),
        duration: None,
        aspect_ratio: Some("1:1".into()),
    };
    let day_ago = kling_omni_mcp::store::now_ms() - 24 * 3600 * 1000;
    store.insert_submitting(&task, day_ago).await.unwrap();
    drop(store);
    // No key: the recovery in the background cannot look the submit up.
    let listed = run(command(dir.path()), &["list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(listed.stdout.contains("left behind"), "{}", listed.stdout);
    assert!(listed.stderr.is_empty(), "{}", listed.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_store_still_lists_and_doctor_says_it_cannot_be_written() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let made = run(
        command(dir.path()),
        &[
            "generate",
            "--simulate",
            "--prompt",
            "a read-only lighthouse",
            "--aspect-ratio",
            "1:1",
        ],
    )
    .await;
    assert_eq!(made.code, 0, "{}", made.stderr);
    let store = dir.path().join("tasks.sqlite3");
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(dir.path(), 0o755);
    mode(&store, 0o644);
    let mut wrapper: Vec<String> = Vec::new();
    if std::fs::OpenOptions::new()
        .append(true)
        .open(&store)
        .is_ok()
    {
        // Permission bits bind everyone but root: run the binary as `nobody` instead.
        let setpriv = std::process::Command::new("setpriv")
            .arg("--version")
            .output();
        if setpriv.is_err() {
            eprintln!("skipped: running as root without setpriv");
            return;
        }
        wrapper = ["--reuid=65534", "--regid=65534", "--clear-groups", BIN]
            .map(String::from)
            .to_vec();
    } else {
        mode(&store, 0o444);
        mode(dir.path(), 0o555);
    }
    let as_reader = || {
        let mut command = command(dir.path());
        if !wrapper.is_empty() {
            let std_command = command.as_std_mut();
            let mut replaced = tokio::process::Command::new("setpriv");
            replaced.args(&wrapper);
            for (key, value) in std_command.get_envs() {
                match value {
                    Some(value) => replaced.env(key, value),
                    None => replaced.env_remove(key),
                };
            }
            // The data directory must not need creating by a user who cannot write here.
            replaced
                .env("XDG_DATA_HOME", "/nonexistent-kling-data")
                .env("KLING_MCP_OUTPUT_DIR", "/nonexistent-kling-videos")
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            return replaced;
        }
        command
    };
    let listed = run(as_reader(), &["list"]).await;
    mode(dir.path(), 0o755);
    let doctor = run(as_reader(), &["doctor", "--simulate"]).await;
    let submit = run(
        as_reader(),
        &[
            "generate",
            "--simulate",
            "--prompt",
            "x",
            "--aspect-ratio",
            "1:1",
        ],
    )
    .await;
    mode(&store, 0o600);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains("a read-only lighthouse"),
        "{}",
        listed.stdout
    );
    assert!(
        doctor.stdout.contains(&format!(
            "✘ task store sqlite:{} cannot be written",
            store.display()
        )),
        "{}",
        doctor.stdout
    );
    assert!(
        !doctor.stdout.contains("is writable\n  fix"),
        "{}",
        doctor.stdout
    );
    assert_eq!(submit.code, 3, "{}", submit.stderr);
    assert_one_error_line(&submit, "store_unavailable");
}

#[tokio::test]
async fn limits_outside_1_to_100_are_refused_by_the_cli_and_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    for limit in ["0", "500", "ten"] {
        let result = run(command(dir.path()), &["list", "--limit", limit]).await;
        assert_eq!(result.code, 2, "{limit}: {}", result.stderr);
        assert_one_error_line(&result, "`--limit`");
        assert!(result.stderr.contains("1 to 100"), "{}", result.stderr);
    }
    let h = Harness::start().await;
    for limit in [0, 500] {
        let result = h.call("list_video_tasks", json!({"limit": limit})).await;
        assert_eq!(error_meta(&result)["field"], "limit", "{}", text(&result));
        assert!(text(&result).contains("1-100"), "{}", text(&result));
    }
    h.stop().await;
}

#[tokio::test]
async fn bad_values_are_one_line_and_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "generate",
        "--simulate",
        "--prompt",
        "x",
        "--aspect-ratio",
        "1:1",
    ];
    let cases: [(&[&str], &str); 3] = [
        (&["--duration", "abc"], "`--duration`"),
        (
            &["--image", "a.png:firstframe"],
            "unknown suffix `:firstframe` (use `:first_frame` or `:end_frame`",
        ),
        (&["--element", "abc"], "`--element`"),
    ];
    for (extra, needle) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let result = run(command(dir.path()), &args).await;
        assert_eq!(result.code, 2, "{args:?}: {}", result.stderr);
        assert_one_error_line(&result, needle);
    }
}

#[tokio::test]
async fn help_fits_the_subcommand_and_lists_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let list = run(command(dir.path()), &["list", "--help"]).await;
    assert_eq!(list.code, 0);
    assert!(!list.stdout.contains("HTTP transport"), "{}", list.stdout);
    assert!(!list.stdout.contains("--http"), "{}", list.stdout);
    let top = run(command(dir.path()), &["--help"]).await;
    for help in [&list.stdout, &top.stdout] {
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("130  interrupted"), "{help}");
    }
    assert!(top.stdout.contains("--http <ADDR>"), "{}", top.stdout);
}

#[tokio::test]
async fn config_carries_the_flags_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shared.sqlite3");
    let result = run(
        command(dir.path()),
        &[
            "config",
            "claude-desktop",
            "--simulate",
            "--store",
            store.to_str().unwrap(),
            "--allow-dir",
            "/srv/pictures",
        ],
    )
    .await;
    assert_eq!(result.code, 0, "{}", result.stderr);
    let block: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        block["mcpServers"]["kling-omni-mcp"]["args"],
        json!([
            "--simulate",
            "--store",
            store.to_str().unwrap(),
            "--output-dir",
            dir.path().join("videos").to_str().unwrap(),
            "--allow-dir",
            "/srv/pictures"
        ])
    );
}

#[tokio::test]
async fn a_no_wait_submit_says_how_to_follow_it_with_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        command(dir.path()),
        &[
            "generate",
            "--simulate",
            "--prompt",
            "a cat",
            "--aspect-ratio",
            "1:1",
        ],
    )
    .await;
    assert_eq!(result.code, 0, "{}", result.stderr);
    let hint = result
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Follow it with: kling-omni-mcp status sim-"))
        .unwrap_or_else(|| panic!("{}", result.stdout));
    assert!(hint.ends_with(" --wait --simulate"), "{}", result.stdout);
}

#[cfg(unix)]
#[tokio::test]
async fn the_server_started_in_a_terminal_says_what_it_is_waiting_for() {
    let dir = tempfile::tempdir().unwrap();
    // `script` gives the server a terminal for stdin; its stdin is empty, so the terminal
    // reports end of input and the server stops after the note.
    let inner = format!(
        "XDG_DATA_HOME={} KLING_MCP_STORE=off {BIN} --simulate",
        dir.path().display()
    );
    let output = tokio::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .env_remove("COMETAPI_KEY")
        .output()
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        screen.contains("waiting for an MCP client on stdin")
            && screen.contains("kling-omni-mcp generate --simulate --prompt"),
        "{screen}"
    );
}
