//! The binary as a command-line program: help, version, and the `--simulate` try-it mode.

use serde_json::json;

use crate::support::{BIN, Harness, Setup, structured};

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
