//! The HTTP transport's limits on what a request may cost: memory per body and for all bodies
//! at once, the time a body may take to arrive, connections stuck in a body, `/healthz` with
//! every connection busy, a wait longer than the idle timeout, and the connection cap under a
//! low open-file limit. Run with `cargo test --test it http_limits`.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::{HttpServer, TOKEN, call, initialize, submit};
use crate::support::assert_ok;

/// A guard against a hang, never a timing assertion.
const GUARD: Duration = Duration::from_secs(60);

/// `host:port` of the server.
fn authority(server: &HttpServer) -> String {
    let url = reqwest::Url::parse(&server.url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// A raw socket that has sent a POST's headers (declaring `length` body bytes) and `sent` of
/// its body, then stalls.
async fn stalled_post(server: &HttpServer, length: usize, sent: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(authority(server)).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {length}\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(sent).await.unwrap();
    socket
}

/// Everything the server sends on `socket` until it closes it.
async fn read_until_closed(mut socket: TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(GUARD, socket.read(&mut buf))
            .await
            .expect("the server closes the connection");
        match read {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

async fn healthz(server: &HttpServer) -> reqwest::Result<reqwest::Response> {
    // A fresh client: a new connection each time.
    reqwest::Client::new()
        .get(server.url.replace("/mcp", "/healthz"))
        .send()
        .await
}

/// A session opened by a raw `initialize`; its id.
async fn open_session(server: &HttpServer) -> String {
    let bearer = format!("Bearer {TOKEN}");
    let response = server
        .post(&[("authorization", bearer.as_str())], initialize())
        .await;
    assert_eq!(response.status(), 200);
    response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// 16 MiB of `[0,0,…]` in a tool call made 1.5 GB of `serde_json::Value`s (four at once, 3 GB);
/// the values are now counted before any tree is built, and the bodies share one budget.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn hostile_bodies_cost_about_their_size_in_memory() {
    let server = HttpServer::start(&[]).await;
    let session = open_session(&server).await;
    let pid = server.child.id().unwrap();
    let baseline = crate::memory::peak_rss(pid);
    // Just under the 16 MiB default body cap: about 8.4 million elements.
    let head = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_video_task","arguments":{"task_id":"x","junk":["#;
    let tail = "0]}}}";
    let elements = (16 * 1024 * 1024 - head.len() - tail.len() - 16) / 2;
    let mut body = String::with_capacity(16 * 1024 * 1024);
    body.push_str(head);
    body.push_str(&"0,".repeat(elements));
    body.push_str(tail);
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let sends = (0..4).map(|_| server.post(&headers, body.clone()));
    let mut answers = Vec::new();
    for response in futures::future::join_all(sends).await {
        answers.push((response.status(), response.text().await.unwrap()));
    }
    let grown = crate::memory::peak_rss(pid).saturating_sub(baseline);
    eprintln!(
        "four {} MB bodies: peak RSS grew {} MB (baseline {} MB)",
        body.len() / 1_000_000,
        grown / 1_000_000,
        baseline / 1_000_000
    );
    // The four bodies themselves (67 MB, within the 64 MiB budget) and allocator slack; one
    // parsed tree of one body would not fit.
    assert!(grown < 160_000_000, "peak RSS grew by {grown} bytes");
    for (status, text) in answers {
        assert_eq!(status, 413, "{text}");
        assert!(text.contains("JSON values"), "{text}");
    }
    // A normal call still works afterwards.
    let client = server.client().await;
    assert_ok(&call(&client, "list_video_tasks", json!({})).await);
    client.cancel().await.unwrap();
}

/// Bodies being read hold their bytes of the process-wide budget; past it, 503 and
/// `Retry-After` instead of more memory.
#[tokio::test]
async fn a_full_body_budget_answers_503_with_retry_after() {
    let server =
        HttpServer::start(&["--max-body-bytes", "4096", "--body-budget-bytes", "4096"]).await;
    // Declares the whole budget, sends one byte, and holds it.
    let _held = stalled_post(&server, 4096, b"{").await;
    let bearer = format!("Bearer {TOKEN}");
    let mut refused = None;
    // The held body is reserved as soon as the server has read its headers.
    for _ in 0..200 {
        let response = server
            .post(&[("authorization", bearer.as_str())], initialize())
            .await;
        if response.status() == 503 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a request past the budget gets 503");
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("--body-budget-bytes"), "{message}");
    // `/healthz` reads no body and needs no budget.
    assert_eq!(healthz(&server).await.unwrap().status(), 200);
}

/// A body that stops arriving is cut off at its deadline with 408, though bytes moved
/// recently enough for the idle timeout.
#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_and_is_closed() {
    let server = HttpServer::start(&["--body-timeout", "0.5", "--idle-timeout", "3600"]).await;
    let socket = stalled_post(&server, 1000, b"{\"jsonrpc\"").await;
    let answer = read_until_closed(socket).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("--body-timeout"), "{answer}");
}

/// 110 POSTs dripping their bodies against a cap of 100 closed every new connection,
/// `/healthz` included: a connection in a body read counted as busy. It now waits (and can be
/// displaced) until its body has arrived.
#[tokio::test]
async fn slow_bodies_cannot_lock_out_healthz_or_new_clients() {
    let server = HttpServer::start(&["--max-connections", "8"]).await;
    let mut slow = Vec::new();
    for _ in 0..12 {
        slow.push(stalled_post(&server, 1000, b"{\"jsonrpc\":").await);
    }
    for _ in 0..5 {
        assert_eq!(healthz(&server).await.unwrap().status(), 200);
    }
    let client = server.client().await;
    assert_ok(&call(&client, "list_video_tasks", json!({})).await);
    // Every slow connection is closed by the server (displaced, or at its body deadline).
    for socket in slow {
        read_until_closed(socket).await;
    }
    assert_ok(&call(&client, "list_video_tasks", json!({})).await);
    client.cancel().await.unwrap();
}

/// With every connection under the cap busy (here, two open SSE streams), `/healthz` is still
/// answered, from a small reserve, and other requests are told to come back.
#[tokio::test]
async fn healthz_answers_when_every_connection_is_busy() {
    let server = HttpServer::start(&["--max-connections", "2"]).await;
    let mut streams = Vec::new();
    for _ in 0..2 {
        let session = open_session(&server).await;
        let mut socket = TcpStream::connect(authority(&server)).await.unwrap();
        let head = format!(
            "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\nMcp-Protocol-Version: 2025-11-25\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        // The stream's headers: the request is in flight.
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(GUARD, socket.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        streams.push(socket);
    }
    for _ in 0..3 {
        let health = healthz(&server).await.unwrap();
        assert_eq!(health.status(), 200);
    }
    let bearer = format!("Bearer {TOKEN}");
    let busy = server
        .post(&[("authorization", bearer.as_str())], initialize())
        .await;
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    drop(streams);
}

/// A 2026-07-28 `tools/call` without a progress token sends nothing, not even headers, until
/// its result; an idle timeout shorter than the wait used to drop the answer.
#[tokio::test]
async fn a_stateless_wait_outlives_the_idle_timeout() {
    let server = HttpServer::start(&[
        "--idle-timeout",
        "0.2",
        "--poll-min",
        "0.15",
        "--poll-max",
        "0.3",
    ])
    .await;
    let client = server.client().await;
    let task_id = submit(
        &client,
        json!({"prompt": "a cat [sim:polls=12]", "aspect_ratio": "16:9"}),
    )
    .await;
    client.cancel().await.unwrap();
    // Twelve polls 0.15-0.3 s apart: seconds of silence.
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "get_video_task",
        "arguments": {"task_id": task_id, "wait_seconds": 30},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}
        }
    }});
    let bearer = format!("Bearer {TOKEN}");
    let response = server
        .post(
            &[
                ("authorization", bearer.as_str()),
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "get_video_task"),
            ],
            request.to_string(),
        )
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("the answer arrives whole");
    // JSON, or one SSE event carrying it.
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap_or(&text);
    let answer: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        answer["result"]["structuredContent"]["status"], "succeed",
        "{answer}"
    );
}

/// Under `ulimit -n 256` the default cap of 4096 let idle sockets take every descriptor, and
/// `/healthz` went unanswered. The cap is now fitted to the limit (and said once in the log).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_connection_cap_fits_a_low_open_file_limit() {
    let sim = std::sync::Arc::new(
        kling_omni_mcp::simulator::Simulator::start(Default::default())
            .await
            .unwrap(),
    );
    // `bash -c 'ulimit -n 256 && exec "$0" "$@"' BIN ARGS…`: soft and hard limit 256.
    let launcher = ["bash", "-c", "ulimit -n 256 && exec \"$0\" \"$@\""];
    let server = HttpServer::start_via(&launcher, "127.0.0.1:0", &[], sim, &[]).await;
    // 256 less 64 kept for files and upstream, less the 8 reserved for /healthz.
    server
        .wait_for_log(&[
            "connection cap lowered",
            "max_connections=184",
            "fd_limit=256",
        ])
        .await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(authority(&server)).await.unwrap());
    }
    for probe in 0..25 {
        let health = tokio::time::timeout(GUARD, healthz(&server))
            .await
            .expect("a probe is answered");
        assert_eq!(health.unwrap().status(), 200, "probe {probe}");
    }
    drop(idle);
}
