//! The binary as a command-line program: help, version, and the `--simulate` try-it mode.

use serde_json::json;

use crate::support::{BIN, Harness, Setup, person, run, structured};

#[test]
fn help_lists_flags_and_environment() {
    let output = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--simulate",
        "--base-url",
        "COMETAPI_KEY",
        "COMETAPI_BASE_URL",
        "RUST_LOG",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let output = std::process::Command::new(BIN)
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let version = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        version.trim(),
        format!("kling-omni-mcp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_base_url_stops_start_up_with_a_clear_message() {
    let output = std::process::Command::new(BIN)
        .env("COMETAPI_BASE_URL", "api.cometapi.com")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("COMETAPI_BASE_URL must be an http(s) URL"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn simulate_runs_a_whole_job_without_a_key() {
    let h = Harness::with(Setup {
        sim: None,
        key: None,
        args: vec!["--simulate".into()],
        ..Setup::default()
    })
    .await;
    let instructions = h.client.peer_info().unwrap().instructions.clone().unwrap();
    assert!(instructions.contains("SIMULATION MODE"));
    let done = h
        .run_job(json!({"prompt": "a lighthouse in a storm", "aspect_ratio": "16:9"}))
        .await;
    let out = structured(&done);
    assert_eq!(out["status"], "succeed");
    assert_eq!(out["simulated"], true);
    let url = out["videos"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/_sim/videos/"),
        "{url}"
    );
    h.stop().await;
}

/// The binary as a one-shot CLI command, against `sim` (or `--simulate` when `None`).
pub(crate) fn command(
    sim: Option<&kling_omni_mcp::simulator::Simulator>,
    store_path: &std::path::Path,
) -> tokio::process::Command {
    let mut command = person(store_path.parent().unwrap());
    command.env("KLING_MCP_STORE", store_path);
    match sim {
        Some(sim) => command
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("COMETAPI_KEY", crate::support::TEST_KEY),
        None => command.arg("--simulate"),
    };
    command
}

#[tokio::test]
async fn generate_waits_downloads_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let out = dir.path().join("out");
    let result = run(
        command(None, &store_path),
        &[
            "generate",
            "--prompt",
            "a lighthouse",
            "--aspect-ratio",
            "16:9",
            "--wait",
            "--download",
            out.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(result.code, 0, "{}", result.stderr);
    let json: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(json["status"], "succeed");
    let saved = json["local_files"][0]["path"].as_str().unwrap();
    assert!(saved.starts_with(out.to_str().unwrap()) && std::path::Path::new(saved).exists());
    assert!(
        result.stderr.contains("waiting for task"),
        "plain progress lines off a terminal: {}",
        result.stderr
    );

    let listed = run(command(None, &store_path), &["list"]).await;
    assert_eq!(listed.code, 0);
    assert!(
        listed.stdout.contains("succeed") && listed.stdout.contains("a lighthouse"),
        "{}",
        listed.stdout
    );
}

#[tokio::test]
async fn bad_input_exits_2_with_the_flag_and_the_fix_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    for (args, needle) in [
        (
            vec!["generate", "--prompt", "x", "--aspect-ratio", "4:3"],
            "`--aspect-ratio` unknown variant `4:3`",
        ),
        (
            vec!["generate", "--prompt", "x"],
            "`--aspect-ratio` is required",
        ),
        (
            vec![
                "generate",
                "--prompt",
                "x",
                "--aspect-ratio",
                "1:1",
                "--image",
                "/missing.png",
            ],
            "`--image 1`",
        ),
    ] {
        let result = run(command(None, &store_path), &args).await;
        assert_eq!(result.code, 2, "{args:?}: {}", result.stderr);
        assert!(
            result.stderr.contains(needle),
            "{args:?}: {}",
            result.stderr
        );
        assert!(result.stdout.is_empty());
    }
}

#[tokio::test]
async fn status_follows_a_task_and_failed_jobs_exit_1() {
    let sim = kling_omni_mcp::simulator::Simulator::start(
        kling_omni_mcp::simulator::SimConfig::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let submitted = run(
        command(Some(&sim), &store_path),
        &[
            "generate",
            "--prompt",
            "x [sim:fail]",
            "--aspect-ratio",
            "1:1",
            "--json",
        ],
    )
    .await;
    assert_eq!(submitted.code, 0, "{}", submitted.stderr);
    let task: serde_json::Value = serde_json::from_str(&submitted.stdout).unwrap();
    let id = task["task_id"].as_str().unwrap();
    let followed = run(command(Some(&sim), &store_path), &["status", id, "--wait"]).await;
    assert_eq!(followed.code, 1, "a failed job: {}", followed.stdout);
    assert!(
        followed.stdout.contains("✘ task") && followed.stdout.contains("content-safety"),
        "{}",
        followed.stdout
    );
}

#[tokio::test]
async fn doctor_tells_a_refused_key_from_an_unreachable_server() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let healthy = run(command(None, &store_path), &["doctor"]).await;
    assert_eq!(healthy.code, 0, "{}", healthy.stdout);
    assert!(!healthy.stdout.contains('✘'), "{}", healthy.stdout);
    let store_line = format!("✔ task store sqlite:{} is writable", store_path.display());
    assert!(healthy.stdout.contains(&store_line), "{}", healthy.stdout);
    assert!(
        healthy.stdout.contains("schema version 4 of 4"),
        "{}",
        healthy.stdout
    );

    let strict =
        kling_omni_mcp::simulator::Simulator::start(kling_omni_mcp::simulator::SimConfig {
            required_key: Some("sk-the-right-one".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let refused = run(command(Some(&strict), &store_path), &["doctor"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("✔ COMETAPI_KEY is set (sk-…cdef)"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("✘ the key is refused") && refused.stdout.contains("fix:"),
        "{}",
        refused.stdout
    );
    assert!(
        !refused.stdout.contains(crate::support::TEST_KEY),
        "the key is masked"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut unreachable = tokio::process::Command::new(BIN);
    unreachable
        .env("COMETAPI_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("COMETAPI_KEY", "sk-whatever-1234")
        .env("KLING_MCP_STORE", &store_path)
        .env("XDG_DATA_HOME", dir.path())
        .env("KLING_MCP_RETRY_BASE_MS", "5");
    let result = run(unreachable, &["doctor"]).await;
    assert_eq!(result.code, 4, "{}", result.stdout);
    assert!(
        result.stdout.contains("is not reachable"),
        "{}",
        result.stdout
    );
}

#[tokio::test]
async fn config_prints_a_block_for_every_client() {
    let mut all = String::new();
    for client in [
        "claude-desktop",
        "claude-code",
        "cursor",
        "vscode",
        "mcp-json",
    ] {
        let output = tokio::process::Command::new(BIN)
            .args(["config", client])
            .env("COMETAPI_KEY", "sk-must-not-appear")
            .output()
            .await
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(!stdout.contains("sk-must-not-appear"), "{client}");
        let binary = std::fs::canonicalize(BIN).unwrap();
        all.push_str(&format!(
            "## {client}\n{}\n",
            stdout.replace(binary.to_str().unwrap(), "<BINARY>")
        ));
    }
    insta::assert_snapshot!("client_configs", all);
}

#[cfg(unix)]
#[tokio::test]
async fn ctrl_c_stops_waiting_but_not_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let mut child = command(None, &store_path)
        .args([
            "generate",
            "--prompt",
            "slow [sim:polls=100000]",
            "--aspect-ratio",
            "1:1",
            "--wait",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut stderr, &mut line)
            .await
            .unwrap();
        seen.push_str(&line);
        if line.contains("processing") || line.is_empty() {
            break;
        }
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    let mut rest = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut rest)
        .await
        .unwrap();
    seen.push_str(&rest);
    assert_eq!(output.status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("keeps running. Resume with: kling-omni-mcp status"),
        "{seen}"
    );
}

#[tokio::test]
async fn doctor_names_a_postgres_store_without_its_password_and_says_when_it_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://kling:hunter2secret@127.0.0.1:{port}/kling");
    let mut doctor = command(None, &dir.path().join("unused.sqlite3"));
    doctor.env("KLING_MCP_STORE", &url);
    let result = run(doctor, &["doctor"]).await;
    assert_eq!(result.code, 3, "{}", result.stdout);
    assert!(
        result.stdout.contains(&format!(
            "✘ task store: the task store (postgres://kling@127.0.0.1:{port}/kling) is unavailable"
        )),
        "{}",
        result.stdout
    );
    assert!(
        !result.stdout.contains("hunter2secret"),
        "{}",
        result.stdout
    );
    assert!(
        !result.stderr.contains("hunter2secret"),
        "{}",
        result.stderr
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_terminal_gets_a_spinner() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let inner = format!(
        "KLING_MCP_POLL_MIN=0.3 XDG_DATA_HOME={} KLING_MCP_STORE={} {BIN} generate --simulate --prompt 'a cat [sim:polls=4]' --aspect-ratio 1:1 --wait",
        dir.path().display(),
        store_path.display()
    );
    let output = tokio::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env_remove("COMETAPI_KEY")
        .output()
        .await
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("task sim-") && screen.contains(": processing"),
        "{screen}"
    );
    assert!(
        screen.contains("\u{1b}["),
        "terminal control codes from the spinner: {screen}"
    );
    assert!(
        !screen.contains("waiting for task"),
        "no plain lines on a terminal: {screen}"
    );
    assert!(
        screen.contains("✔ task sim-") && screen.contains(": succeed"),
        "{screen}"
    );
}

#[tokio::test]
async fn a_dry_run_shows_local_images_by_size_not_as_megabytes_of_base64() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let mut image = crate::http_hardening::png(1280, 720);
    image.resize(2_000_000, 0);
    let path = dir.path().join("frame.png");
    std::fs::write(&path, &image).unwrap();
    let result = run(
        command(None, &store_path),
        &[
            "generate",
            "--prompt",
            "the frame comes alive",
            "--image",
            &format!("{}:first_frame", path.display()),
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(result.code, 0, "{}", result.stderr);
    let body: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    let shown = body["image_list"][0]["image_url"].as_str().unwrap();
    assert!(shown.starts_with("<base64 image data, "), "{shown}");
    assert!(
        result.stdout.len() < 2_000,
        "{} bytes printed",
        result.stdout.len()
    );
    assert_eq!(body["image_list"][0]["type"], "first_frame");
}
