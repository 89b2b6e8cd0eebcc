//! The API key never appears on stdout, stderr or in any result; stdout carries only JSON-RPC.

use std::process::Stdio;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{BIN, Harness, Setup, text};

const MARKER_KEY: &str = "sk-LEAKCHECK-7f3a9c1e5b2d4a60";

#[tokio::test]
async fn the_key_appears_nowhere_in_results_or_logs() {
    let h = Harness::with(Setup {
        key: Some(MARKER_KEY),
        sim: Some(SimConfig {
            required_key: Some("sk-other".into()),
            ..SimConfig::default()
        }),
        ..Setup::default()
    })
    .await;
    let mut seen = String::new();
    for (tool, args) in [
        (
            "generate_video",
            json!({"prompt": "p", "aspect_ratio": "1:1"}),
        ),
        ("get_video_task", json!({"task_id": "1"})),
        ("generate_video", json!({"prompt": 1})),
    ] {
        let result = h.call(tool, args).await;
        seen.push_str(&serde_json::to_string(&result).unwrap());
        seen.push_str(&text(&result));
    }
    // The key did reach the upstream (that is its job) ...
    assert_eq!(
        h.sim().requests()[0].authorization.as_deref(),
        Some(format!("Bearer {MARKER_KEY}").as_str())
    );
    let stderr = h.stop().await;
    assert!(stderr.contains("DEBUG"), "debug logging was on: {stderr}");
    // ... and nowhere else.
    assert!(!seen.contains("LEAKCHECK"), "{seen}");
    assert!(!stderr.contains("LEAKCHECK"), "{stderr}");
}

#[tokio::test]
async fn stdout_is_only_json_rpc_even_with_debug_logs() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .env("COMETAPI_KEY", MARKER_KEY)
        .env("COMETAPI_BASE_URL", sim.url().as_str())
        .env("RUST_LOG", "trace")
        .env("KLING_MCP_STORE", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "generate_video",
            "arguments": {"prompt": "a cat", "aspect_ratio": "1:1"}}}),
    ];
    for message in &messages {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut replies = Vec::new();
    while replies.len() < 3 {
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("reply in time")
            .unwrap()
            .expect("stdout open");
        assert!(!line.contains("LEAKCHECK"));
        let reply: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON-RPC: {line}"));
        assert_eq!(reply["jsonrpc"], "2.0", "{line}");
        replies.push(reply);
    }
    assert_eq!(
        replies[2]["result"]["structuredContent"]["status"],
        "submitted"
    );
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("LEAKCHECK"));
    assert!(!stderr.contains("\u{1b}["), "no ANSI colour codes in logs");
}
