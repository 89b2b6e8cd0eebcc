//! The HTTP transport under attack: remote roots, slow clients, auth spelling, session races.

use serde_json::json;

use crate::http::{HttpServer, TOKEN, call};
use crate::support::{TestClient, assert_ok, error_meta, text};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

/// A PNG header with the given size (the server reads sizes from headers only).
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    data.extend(width.to_be_bytes());
    data.extend(height.to_be_bytes());
    data.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    data
}

#[tokio::test]
async fn a_remote_clients_roots_do_not_widen_what_the_server_reads() {
    let allowed = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("secret.png");
    std::fs::write(&secret, png(800, 800)).unwrap();
    let server = HttpServer::start(&["--allow-dir", &allowed.path().display().to_string()]).await;
    // The client claims the whole disk of the server as its root.
    let config =
        StreamableHttpClientTransportConfig::with_uri(server.url.as_str()).auth_header(TOKEN);
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let client = TestClient::with_roots(vec!["file:///".into()])
        .serve(transport)
        .await
        .unwrap();
    let result = call(
        &client,
        "generate_video",
        json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1",
               "image_list": [{"image_url": secret.display().to_string()}]}),
    )
    .await;
    assert_eq!(error_meta(&result)["field"], "image_list[0].image_url");
    assert!(
        text(&result).contains("outside the allowed directories"),
        "{}",
        text(&result)
    );
    assert!(
        server.sim.requests().is_empty(),
        "nothing was sent upstream"
    );
    // Inside --allow-dir still works over HTTP.
    let inside = allowed.path().join("ok.png");
    std::fs::write(&inside, png(800, 800)).unwrap();
    let result = call(
        &client,
        "generate_video",
        json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1", "dry_run": true,
               "image_list": [{"image_url": inside.display().to_string()}]}),
    )
    .await;
    assert_ok(&result);
    client.cancel().await.unwrap();
}

/// `host:port` of a server URL.
fn authority(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| format!("{}:{}", u.host_str().unwrap(), u.port().unwrap()))
        .unwrap()
}

#[tokio::test]
async fn slow_clients_cannot_starve_healthz_or_mcp_and_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = HttpServer::start(&["--header-timeout", "2", "--max-connections", "8"]).await;
    let addr = authority(&server.url);
    // More slow clients than the cap: each sends part of a request head, then stalls.
    let mut slow = Vec::new();
    for _ in 0..12 {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(socket);
    }
    let health = reqwest::get(server.url.replace("/mcp", "/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let client = server.client().await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    assert_ok(&call(&client, "list_video_tasks", json!({})).await);
    // Trickling more bytes does not buy time: every slow connection is closed by the server
    // (displaced by newer connections, or at its header deadline).
    for socket in &mut slow {
        let _ = socket.write_all(b"x").await;
    }
    for mut socket in slow {
        let mut buf = [0u8; 512];
        loop {
            // A guard against a hang, not a timing assertion.
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(60), socket.read(&mut buf))
                    .await
                    .expect("the server closes a slow connection");
            match read {
                Ok(0) | Err(_) => break,
                // A `408 Request Timeout` may come first.
                Ok(_) => continue,
            }
        }
    }
    // Still serving afterwards.
    assert_ok(&call(&client, "list_video_tasks", json!({})).await);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = HttpServer::start(&[]).await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {TOKEN}");
        let response = server
            .post(&[("authorization", &auth)], crate::http::initialize())
            .await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn parallel_session_opens_never_exceed_the_cap() {
    let server = HttpServer::start(&["--max-sessions", "10"]).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [("authorization", bearer.as_str())];
    let opens = (0..50).map(|_| server.post(&headers, crate::http::initialize()));
    let responses = futures::future::join_all(opens).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    let ids: Vec<String> = responses
        .iter()
        .filter_map(|r| r.headers().get("mcp-session-id"))
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    // A full table makes room by closing the caller's least recently used idle session, so
    // more than ten opens may succeed; never more than ten sessions are left open.
    let live = futures::future::join_all(ids.iter().map(|id| {
        let headers = [
            ("authorization", bearer.as_str()),
            ("mcp-session-id", id.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
        let server = &server;
        async move { server.post(&headers, ping).await.status().as_u16() }
    }))
    .await;
    let alive = live.iter().filter(|s| **s == 200).count();
    assert!((1..=10).contains(&alive), "{live:?}");
}

#[tokio::test]
async fn an_empty_token_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "\n").unwrap();
    let output = tokio::process::Command::new(crate::support::BIN)
        .args([
            "--http",
            "127.0.0.1:0",
            "--store",
            "off",
            "--http-token-file",
        ])
        .arg(&file)
        .env_remove("KLING_MCP_HTTP_TOKEN")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is empty"), "{stderr}");
}

#[tokio::test]
async fn an_empty_or_blank_token_variable_refuses_to_start() {
    for blank in ["", "  "] {
        let run = tokio::process::Command::new(crate::support::BIN)
            .args(["--http", "127.0.0.1:0", "--store", "off"])
            .env("KLING_MCP_HTTP_TOKEN", blank)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        // Before the fix the server started without auth and ran on: bound the wait.
        let output = tokio::time::timeout(crate::support::LOG_WAIT, run)
            .await
            .unwrap_or_else(|_| panic!("served with token {blank:?} instead of refusing"))
            .unwrap();
        assert!(!output.status.success(), "started with token {blank:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("KLING_MCP_HTTP_TOKEN is set but empty"),
            "{stderr}"
        );
    }
}
