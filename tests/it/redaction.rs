//! An upstream that echoes the key (in a 401 body, a code-1000 error, an HTML 5xx page, a
//! failed task's message) never gets it into tool results, logs, the task store's CLI views, or
//! forged log lines; nor does a base URL's password.

use kling_omni_mcp::simulator::{Endpoint, Fault, SimConfig, Simulator};
use serde_json::json;

use crate::support::{BIN, Harness, Setup, structured, text};

const KEY: &str = "sk-ECHOED-5b7d1c9e3f2a4b6d";

fn echoing(required_key: Option<&str>) -> SimConfig {
    SimConfig {
        echo_key: true,
        finish_after_polls: 1,
        required_key: required_key.map(str::to_owned),
        ..SimConfig::default()
    }
}

/// Asserts that `what` shows neither the key nor a line forged by the echoed newline.
fn assert_clean(label: &str, what: &str) {
    assert!(!what.contains("ECHOED"), "{label} shows the key: {what}");
    assert!(
        !what
            .lines()
            .any(|l| l.starts_with("received Authorization")),
        "{label} has a forged line: {what}"
    );
}

#[tokio::test]
async fn echoed_keys_are_redacted_in_results_logs_and_the_cli() {
    let sim = Simulator::start(echoing(None)).await.unwrap();
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(sim.url().to_string()),
        key: Some(KEY),
        ..Setup::default()
    })
    .await;
    let mut seen = String::new();
    // (b) a code-1000 error, (c) an HTML 5xx page, and the gateway's invalid-token body.
    for prompt in [
        "a [sim:error=1000]",
        "a [sim:error=html]",
        "a [sim:error=token]",
    ] {
        let result = h
            .call(
                "generate_video",
                json!({"prompt": prompt, "aspect_ratio": "1:1"}),
            )
            .await;
        assert_eq!(result.is_error, Some(true), "{prompt}");
        seen.push_str(&serde_json::to_string(&result).unwrap());
    }
    // An HTML 502 on create is ambiguous: it is looked up, then reported (and stored).
    sim.inject(Endpoint::Create, Fault::HtmlError, 1);
    let uncertain = h
        .call(
            "generate_video",
            json!({"prompt": "b", "aspect_ratio": "1:1"}),
        )
        .await;
    seen.push_str(&serde_json::to_string(&uncertain).unwrap());
    // (d) a failed task's status message.
    let failed = h
        .run_job(json!({"prompt": "c [sim:fail]", "aspect_ratio": "1:1"}))
        .await;
    assert_eq!(structured(&failed)["status"], "failed");
    assert!(text(&failed).contains("[redacted]"), "{}", text(&failed));
    let task_id = structured(&failed)["task_id"].as_str().unwrap().to_owned();
    seen.push_str(&serde_json::to_string(&failed).unwrap());
    let listed = h.call("list_video_tasks", json!({})).await;
    seen.push_str(&serde_json::to_string(&listed).unwrap());
    let (stderr, data) = h.shutdown().await;
    // The key did reach the upstream, and the upstream did echo it.
    assert_eq!(
        sim.requests()[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_clean("tool results", &seen);
    assert_clean("server stderr", &stderr);

    for args in [vec!["status", task_id.as_str()], vec!["list"]] {
        let output = tokio::process::Command::new(BIN)
            .args(&args)
            .env("COMETAPI_KEY", KEY)
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("KLING_MCP_STORE", data.path().join("tasks.sqlite3"))
            .env("XDG_DATA_HOME", data.path())
            .env("RUST_LOG", "debug")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_clean(&format!("{args:?} stdout"), &stdout);
        assert_clean(&format!("{args:?} stderr"), &stderr);
    }
}

#[tokio::test]
async fn a_key_echoed_in_a_401_body_is_redacted() {
    let sim = Simulator::start(echoing(Some("sk-the-right-one")))
        .await
        .unwrap();
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(sim.url().to_string()),
        key: Some(KEY),
        ..Setup::default()
    })
    .await;
    let mut seen = String::new();
    for (tool, args) in [
        (
            "generate_video",
            json!({"prompt": "a", "aspect_ratio": "1:1"}),
        ),
        ("get_video_task", json!({"task_id": "880000000000000001"})),
    ] {
        let result = h.call(tool, args).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        assert!(text(&result).contains("[redacted]"), "{}", text(&result));
        seen.push_str(&serde_json::to_string(&result).unwrap());
    }
    let stderr = h.stop().await;
    assert_clean("tool results", &seen);
    assert_clean("server stderr", &stderr);
}

#[tokio::test]
async fn a_base_url_password_is_never_shown() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let with_password = sim
        .url()
        .as_str()
        .replace("http://", "http://user:pw-SECRET-9d2e@");
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(with_password),
        ..Setup::default()
    })
    .await;
    // Nothing listens on the simulator's port once it is dropped: a network error, whose
    // message names the URL.
    drop(sim);
    let result = h
        .call("get_video_task", json!({"task_id": "880000000000000001"}))
        .await;
    assert_eq!(result.is_error, Some(true));
    let shown = serde_json::to_string(&result).unwrap();
    let stderr = h.stop().await;
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!stderr.contains("SECRET"), "{stderr}");
    assert!(stderr.contains("kling-omni-mcp starting"), "{stderr}");
}
