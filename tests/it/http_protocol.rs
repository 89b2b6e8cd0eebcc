//! What an HTTP client meets at the edges: `localhost` as an address, a body that is not
//! JSON, ending a session under both protocol eras, refusals in the log, a port in use.

use std::process::Stdio;
use std::sync::Arc;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::{Value, json};

use crate::http::{HttpServer, TOKEN, initialize};
use crate::support::BIN;

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

async fn sim() -> Arc<Simulator> {
    Arc::new(Simulator::start(SimConfig::default()).await.unwrap())
}

async fn error_code(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.unwrap();
    body["error"]["code"].clone()
}

/// `--http localhost:PORT` used to fail to parse ("invalid socket address syntax").
#[tokio::test]
async fn localhost_is_an_address_and_serves_both_loopbacks() {
    let server = HttpServer::start_at("localhost:0", &[], sim().await, &[]).await;
    assert!(
        server.url.starts_with("http://localhost:"),
        "{}",
        server.url
    );
    let line = server
        .wait_for_log(&["MCP streamable HTTP listening"])
        .await;
    let port = server
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/mcp");
    let mut origins = vec![format!("http://127.0.0.1:{port}")];
    // Where this machine has IPv6 loopback, the server listens there too.
    if line.contains(&format!("[::1]:{port}")) {
        origins.push(format!("http://[::1]:{port}"));
    } else {
        server
            .wait_for_log(&["not listening on IPv6 loopback"])
            .await;
    }
    for origin in origins {
        let health = reqwest::get(format!("{origin}/healthz")).await.unwrap();
        assert_eq!(health.status(), 200, "{origin}");
    }
    // A client given the logged URL (a name, not an address) gets an MCP session.
    let client = server.client().await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_host_name_other_than_localhost_is_refused_with_the_fix() {
    let output = tokio::process::Command::new(BIN)
        .args(["--http", "example.com:8787", "--store", "off"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("localhost:PORT") && stderr.contains("127.0.0.1:8787"),
        "{stderr}"
    );
}

/// rmcp answered 415 with a text body; JSON-RPC clients expect 400 and -32700.
#[tokio::test]
async fn a_body_that_is_not_json_gets_400_and_a_parse_error() {
    let server = HttpServer::start(&[]).await;
    let bearer = bearer();
    let auth = ("authorization", bearer.as_str());
    let response = server.post(&[auth], "{\"jsonrpc\": \"2.0\",".into()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, -32700);
    let response = server.post(&[auth], json!({"hello": 1}).to_string()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, -32600);
    server
        .wait_for_log(&["HTTP request refused", "status=400", "Parse error"])
        .await;
    // The server still answers.
    assert_eq!(server.post(&[auth], initialize()).await.status(), 200);
}

/// rmcp answered 202 to any DELETE; the SDKs' clients expect 200 (Python's warns on other
/// codes), and a session that is gone is a 404.
#[tokio::test]
async fn ending_a_session_answers_as_the_sdks_expect() {
    let server = HttpServer::start(&[]).await;
    let bearer = bearer();
    let opened = server
        .post(&[("authorization", bearer.as_str())], initialize())
        .await;
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let delete = |headers: Vec<(&'static str, String)>| {
        let mut request = reqwest::Client::new()
            .delete(&server.url)
            .header("authorization", bearer.as_str());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let legacy = || ("mcp-protocol-version", "2025-11-25".to_owned());
    // Under the 2026-07-28 wire there are no sessions to end: 405, which both SDKs accept.
    let modern = delete(vec![
        ("mcp-session-id", session.clone()),
        ("mcp-protocol-version", "2026-07-28".to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(modern.status(), 405);
    let ended = delete(vec![("mcp-session-id", session.clone()), legacy()])
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    let again = delete(vec![("mcp-session-id", session.clone()), legacy()])
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(error_code(again).await, -32000);
    let unknown = delete(vec![("mcp-session-id", "no-such-session".to_owned())])
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let missing = delete(vec![legacy()]).await.unwrap();
    assert_eq!(missing.status(), 400);
    // The ended session is gone for other requests too.
    let after = server
        .post(
            &[
                ("authorization", bearer.as_str()),
                ("mcp-session-id", session.as_str()),
            ],
            json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string(),
        )
        .await;
    assert_eq!(after.status(), 404);
}

#[tokio::test]
async fn refusals_are_logged_at_info_with_the_reason_and_never_the_token() {
    let server = HttpServer::start(&[]).await;
    let wrong = "Bearer wrong-secret-5d1e";
    assert_eq!(
        server
            .post(&[("authorization", wrong)], initialize())
            .await
            .status(),
        401
    );
    let line = server
        .wait_for_log(&["HTTP request refused", "status=401"])
        .await;
    assert!(
        line.contains("INFO") && line.contains("missing or wrong bearer token"),
        "{line}"
    );
    let bearer = bearer();
    let foreign = server
        .post(
            &[("authorization", bearer.as_str()), ("host", "evil.example")],
            initialize(),
        )
        .await;
    assert_eq!(foreign.status(), 403);
    let line = server
        .wait_for_log(&["HTTP request refused", "status=403"])
        .await;
    assert!(line.contains("Host header is not allowed"), "{line}");
    let log = server.log();
    assert!(!log.contains(TOKEN), "the token is never logged");
    assert!(!log.contains("wrong-secret-5d1e"), "nor a wrong one");
}

/// The bind error was printed twice on one line ("…: Address in use: Address in use").
#[tokio::test]
async fn a_port_in_use_is_said_once_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(BIN)
        .args(["--http", &addr, "--store", "off"])
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert_eq!(stderr.matches("in use").count(), 1, "{stderr}");
    assert!(stderr.contains("fix: another program"), "{stderr}");
}
