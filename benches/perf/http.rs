//! The HTTP figures: `get_video_task` throughput and latency at 1, 10 and 100 clients, and
//! resident memory with 1000 idle sessions, each through rmcp's streamable HTTP client on
//! protocol 2025-11-25 (a session per client, with its standalone SSE stream open, as the
//! MCP SDKs' clients keep one).

use std::process::Stdio;
use std::time::{Duration, Instant};

use kling_omni_mcp::simulator::Simulator;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::builds::Build;
use crate::stats::{pct_ms, rss_mb};

/// Client counts of the throughput figures.
pub(crate) const CONCURRENCY: [usize; 3] = [1, 10, 100];
/// Idle sessions of the memory figure.
pub(crate) const IDLE_SESSIONS: usize = 1000;

/// Throughput at one concurrency: calls per second, p50 and p99 in ms.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Throughput {
    pub(crate) rate: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
}

/// What one build measured over HTTP.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HttpFigures {
    /// One entry per [`CONCURRENCY`].
    pub(crate) throughput: [Throughput; 3],
    /// RSS (MB) before and after opening [`IDLE_SESSIONS`] sessions.
    pub(crate) rss_before_idle: f64,
    pub(crate) rss_idle: f64,
}

/// A running HTTP server.
pub(crate) struct HttpServer {
    child: tokio::process::Child,
    url: String,
}

impl HttpServer {
    /// Starts `build` on a free loopback port, on its own SQLite store `store`.
    pub(crate) async fn start(build: &Build, sim: &Simulator, store: &str) -> Self {
        let mut child = tokio::process::Command::new(&build.bin)
            .args([
                "--http",
                "127.0.0.1:0",
                "--max-sessions",
                "5000",
                // Every bench client is one caller (no token, no client keys), and
                // `--max-calls` counts per caller since issue 24: room for the 100 clients.
                "--max-calls",
                "1000",
            ])
            .env("COMETAPI_KEY", "sk-bench")
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("KLING_MCP_STORE", store)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if line.contains("MCP streamable HTTP listening") {
                break line
                    .split(" url=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_owned();
            }
        };
        // Drain the log (a full pipe would stall the server); show it on request.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if std::env::var_os("BENCH_SERVER_LOG").is_some() {
                    eprintln!("server: {line}");
                }
            }
        });
        Self { child, url }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// Stops the server.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `get_video_task` throughput at `concurrency` clients, each with its own session.
pub(crate) async fn throughput(
    server: &HttpServer,
    task_id: &str,
    concurrency: usize,
) -> Throughput {
    let sessions =
        futures::future::join_all((0..concurrency).map(|_| Session::open(&server.url))).await;
    let per_worker = (4000 / concurrency.max(1)).max(20);
    // One untimed call each: connections and first-call allocations are not the figure.
    futures::future::join_all(sessions.iter().map(|s| s.hammer(task_id, 1))).await;
    let started = Instant::now();
    let results =
        futures::future::join_all(sessions.iter().map(|s| s.hammer(task_id, per_worker))).await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = results.into_iter().flatten().collect();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    for session in sessions {
        session.close().await;
    }
    Throughput {
        rate,
        p50: pct_ms(&mut latencies, 50.0),
        p99: pct_ms(&mut latencies, 99.0),
    }
}

/// Resident memory before and after opening [`IDLE_SESSIONS`] sessions that then stay idle.
/// The sessions stay open until the returned guard is dropped.
pub(crate) async fn idle_sessions(server: &HttpServer) -> (f64, f64, Vec<Session>) {
    let before = rss_mb(server.pid());
    let mut idle = Vec::with_capacity(IDLE_SESSIONS);
    // Fifty at a time: the figure is what idle sessions hold, not a connection storm.
    for _ in 0..IDLE_SESSIONS / 50 {
        idle.extend(futures::future::join_all((0..50).map(|_| Session::open(&server.url))).await);
    }
    // Each session's standalone SSE stream is opened in the background; let them settle.
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let after = rss_mb(server.pid());
    (before, after, idle)
}

/// One MCP session over HTTP, through rmcp's streamable HTTP client.
pub(crate) struct Session {
    client: RunningService<RoleClient, ClientConfig>,
}

impl Session {
    /// Opens a 2025-11-25 session (initialize, then the standalone SSE stream).
    pub(crate) async fn open(url: &str) -> Self {
        let transport = StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            StreamableHttpClientTransportConfig::with_uri(url),
        );
        let info = ClientConfig::default().with_protocol_version(ProtocolVersion::V_2025_11_25);
        Self {
            client: info.serve(transport).await.unwrap(),
        }
    }

    async fn call(&self, name: &'static str, args: Value) -> Value {
        let Value::Object(args) = args else {
            unreachable!()
        };
        let result = self
            .client
            .call_tool(CallToolRequestParams::new(name).with_arguments(args))
            .await
            .unwrap();
        result.structured_content.unwrap_or(Value::Null)
    }

    async fn hammer(&self, task_id: &str, calls: usize) -> Vec<Duration> {
        let mut latencies = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            let out = self
                .call("get_video_task", json!({"task_id": task_id}))
                .await;
            latencies.push(started.elapsed());
            assert_eq!(out["status"], "succeed", "{out}");
        }
        latencies
    }

    /// Ends the session (DELETE), so the next figure starts from the same table.
    pub(crate) async fn close(self) {
        let _ = self.client.cancel().await;
    }
}
