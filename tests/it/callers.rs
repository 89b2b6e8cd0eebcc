//! Per-caller limits over HTTP: the session table (`--max-sessions`) cannot be filled by one
//! caller or by stateless requests, and `--max-calls` holds per caller in both protocol eras
//! and for resource reads. Run with `cargo test --test it callers::`.

use rmcp::model::{ErrorCode, ReadResourceRequestParams};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceError};
use serde_json::{Value, json};

use crate::http::{HttpServer, TOKEN, call, initialize};
use crate::support::{TestClient, assert_ok, error_meta, structured};

/// A stateless (2026-07-28) client of `server`, sending its own key when given.
async fn stateless_client(
    server: &HttpServer,
    key: Option<&str>,
) -> RunningService<RoleClient, TestClient> {
    let mut headers = std::collections::HashMap::new();
    if let Some(key) = key {
        headers.insert(
            reqwest::header::HeaderName::from_static("x-cometapi-key"),
            reqwest::header::HeaderValue::from_str(key).unwrap(),
        );
    }
    let config = StreamableHttpClientTransportConfig::with_uri(server.url.as_str())
        .auth_header(TOKEN)
        .custom_headers(headers);
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
    };
    TestClient::default()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap()
}

/// Submits a task that never finishes (the simulator answers `processing` to every poll).
async fn endless_task(client: &RunningService<RoleClient, TestClient>, name: &str) -> String {
    let prompt = format!("{name} [sim:polls=100000]");
    let submitted = call(
        client,
        "generate_video",
        json!({"prompt": prompt, "aspect_ratio": "1:1"}),
    )
    .await;
    structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Starts a long wait on `task_id` in the background; returns once it has polled, so it holds
/// a call slot (and keeps its session busy) from then on.
async fn hold_a_wait(
    server: &HttpServer,
    client: &RunningService<RoleClient, TestClient>,
    task_id: &str,
) -> tokio::task::JoinHandle<()> {
    let peer = client.peer().clone();
    let arguments = json!({"task_id": task_id, "wait_seconds": 50});
    let Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let wait = tokio::spawn(async move {
        let _ = peer
            .call_tool(
                rmcp::model::CallToolRequestParams::new("get_video_task").with_arguments(arguments),
            )
            .await;
    });
    server
        .sim
        .wait_until(|requests| requests.iter().any(|r| r.path.ends_with(task_id)))
        .await;
    wait
}

/// Before: every request without a session id counted as a session open, so idle
/// `initialize`s filling the table made every 2026-07-28 request answer 503.
#[tokio::test]
async fn a_table_full_of_idle_initializes_neither_locks_out_stateless_clients_nor_its_caller() {
    let server = HttpServer::start(&["--max-sessions", "3"]).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let opened = server.post(&auth, initialize()).await;
        assert_eq!(opened.status(), 200);
        let id = opened.headers()["mcp-session-id"].to_str().unwrap();
        sessions.push(id.to_owned());
    }
    // The table is full; a stateless client needs no session and is served.
    let modern = stateless_client(&server, None).await;
    assert_ok(&call(&modern, "list_video_tasks", json!({})).await);
    // The same caller opening one more gives up its least recently used idle session.
    assert_eq!(server.post(&auth, initialize()).await.status(), 200);
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}).to_string();
    let on = |id: &str| {
        let headers = [
            ("authorization", bearer.clone()),
            ("mcp-session-id", id.to_owned()),
            ("mcp-protocol-version", "2025-11-25".to_owned()),
        ];
        let ping = ping.clone();
        let server = &server;
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server.post(&headers, ping).await.status().as_u16()
        }
    };
    assert_eq!(
        on(&sessions[0]).await,
        404,
        "the oldest idle session made way"
    );
    assert_eq!(on(&sessions[1]).await, 200);
    modern.cancel().await.unwrap();
}

/// Before: one caller holding every session (busy ones included) kept all others out.
#[tokio::test]
async fn one_caller_cannot_keep_another_out_of_the_session_table() {
    let server = HttpServer::start(&["--max-sessions", "2", "--allow-client-keys"]).await;
    let first = server.client().await;
    let second = server.client().await;
    // Both of the server-key caller's sessions run a long wait: neither is idle.
    let task = endless_task(&first, "first").await;
    let _first_wait = hold_a_wait(&server, &first, &task).await;
    let task = endless_task(&second, "second").await;
    let _second_wait = hold_a_wait(&server, &second, &task).await;
    // Another caller (its own key) still gets a session, taken from the one over its share...
    let other = server.client_with_key(Some("sk-another-caller")).await;
    assert_ok(&call(&other, "list_video_tasks", json!({})).await);
    // ...while the first caller, at its share with its session busy, is refused one more.
    let bearer = format!("Bearer {TOKEN}");
    let refused = server
        .post(&[("authorization", bearer.as_str())], initialize())
        .await;
    assert_eq!(refused.status(), 503);
    let message = refused.text().await.unwrap();
    assert!(message.contains("for this caller"), "{message}");
    other.cancel().await.unwrap();
}

/// Before: each stateless request got a fresh server with its own `--max-calls` slots, so a
/// caller could run any number of waits (and whole-file resource reads) at once.
#[tokio::test]
async fn max_calls_holds_per_caller_for_stateless_calls_and_resource_reads() {
    let server = HttpServer::start(&["--max-calls", "2", "--allow-client-keys"]).await;
    let client = stateless_client(&server, None).await;
    let first = endless_task(&client, "one").await;
    let second = endless_task(&client, "two").await;
    let waits = [
        hold_a_wait(&server, &client, &first).await,
        hold_a_wait(&server, &client, &second).await,
    ];
    let refused = call(&client, "list_video_tasks", json!({})).await;
    let meta = error_meta(&refused);
    assert_eq!(meta["kind"], "too_many_calls", "{refused:?}");
    assert_eq!(meta["retryable"], true);
    assert!(
        meta["message"].as_str().unwrap().contains("--max-calls"),
        "{meta}"
    );
    // A resource read counts too: a JSON-RPC error that says so, not the read.
    let read = client
        .read_resource(ReadResourceRequestParams::new("file:///nowhere/video.mp4"))
        .await
        .unwrap_err();
    let ServiceError::McpError(error) = read else {
        panic!("expected a JSON-RPC error, got {read:?}")
    };
    assert_eq!(error.code, ErrorCode(-32000), "{error:?}");
    assert_eq!(error.data.as_ref().unwrap()["kind"], "too_many_calls");
    // Another caller has its own slots.
    let other = stateless_client(&server, Some("sk-another-caller")).await;
    assert_ok(&call(&other, "list_video_tasks", json!({})).await);
    for wait in waits {
        wait.abort();
    }
    other.cancel().await.unwrap();
    client.cancel().await.unwrap();
}

/// Before: each 2025-11-25 session had its own `--max-calls` slots, so opening sessions
/// bought calls.
#[tokio::test]
async fn sessions_of_one_caller_share_its_max_calls() {
    let server = HttpServer::start(&["--max-calls", "1"]).await;
    let first = server.client().await;
    let second = server.client().await;
    let task = endless_task(&first, "held").await;
    let wait = hold_a_wait(&server, &first, &task).await;
    let refused = call(&second, "list_video_tasks", json!({})).await;
    assert_eq!(error_meta(&refused)["kind"], "too_many_calls");
    wait.abort();
    first.cancel().await.unwrap();
    second.cancel().await.unwrap();
}
