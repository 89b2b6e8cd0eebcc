//! Performance figures for the README and the issues' targets, measured on the release build
//! against the in-process simulator over loopback:
//! stdio cold start, `tools/list`, `get_video_task` latency and RSS; HTTP throughput and
//! latency at concurrency 1/10/100, and RSS with 1000 idle sessions.
//!
//! Run: `cargo bench --bench perf` (prints a table; writes `target/perf.json`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark driver: a failed assumption should stop it loudly"
)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_kling-omni-mcp");

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = Simulator::start(SimConfig {
        finish_after_polls: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // ---- stdio ----
    let mut cold = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut server = Stdio_::spawn(&sim).await;
        server.initialize().await;
        cold.push(started.elapsed());
        server.close().await;
    }
    rows.push((
        "stdio cold start: spawn -> initialize reply (p50)".into(),
        ms(pct(&mut cold, 50.0)),
        "< 6 ms".into(),
    ));
    eprintln!("bench: cold start done");

    let mut server = Stdio_::spawn(&sim).await;
    server.initialize().await;
    let mut list = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        server.request("tools/list", json!({})).await;
        list.push(started.elapsed());
    }
    rows.push((
        "stdio tools/list (p50)".into(),
        ms(pct(&mut list, 50.0)),
        "< 0.2 ms".into(),
    ));

    let task_id = server.submit().await;
    let mut calls = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        server
            .request(
                "tools/call",
                json!({"name": "get_video_task", "arguments": {"task_id": task_id}}),
            )
            .await;
        calls.push(started.elapsed());
    }
    let upstream = upstream_round_trip(&sim, &task_id).await;
    rows.push((
        "simulator GET round trip alone (p50)".into(),
        ms(upstream),
        "-".into(),
    ));
    rows.push((
        "stdio get_video_task p50 / p99 (incl. upstream)".into(),
        format!(
            "{} / {}",
            ms(pct(&mut calls, 50.0)),
            ms(pct(&mut calls, 99.0))
        ),
        "< 60 µs over upstream / < 0.5 ms".into(),
    ));
    rows.push((
        "stdio peak RSS after 1000 calls".into(),
        format!("{:.1} MB", peak_rss_mb(server.pid())),
        "< 15 MB".into(),
    ));
    server.close().await;

    // ---- HTTP ----
    let (mut http, url) = spawn_http(&sim).await;
    let pid = http.id().unwrap_or_default();
    eprintln!("bench: HTTP server at {url}");
    let session = Session::open(&url).await;
    eprintln!("bench: session open");
    let task_id = session.submit().await;
    eprintln!("bench: task {task_id}");
    for concurrency in [1usize, 10, 100] {
        let sessions =
            futures::future::join_all((0..concurrency).map(|_| Session::open(&url))).await;
        eprintln!("bench: {concurrency} sessions open");
        let per_worker = 4000 / concurrency.max(1);
        let started = Instant::now();
        let results = futures::future::join_all(
            sessions
                .iter()
                .map(|s| s.hammer(&task_id, per_worker.max(20))),
        )
        .await;
        let elapsed = started.elapsed();
        let mut latencies: Vec<Duration> = results.into_iter().flatten().collect();
        let rate = latencies.len() as f64 / elapsed.as_secs_f64();
        let target = if concurrency == 10 {
            "> 6,500 calls/s"
        } else {
            "-"
        };
        rows.push((
            format!("HTTP get_video_task, concurrency {concurrency}: calls/s, p50 / p99"),
            format!(
                "{rate:.0}/s, {} / {}",
                ms(pct(&mut latencies, 50.0)),
                ms(pct(&mut latencies, 99.0))
            ),
            target.into(),
        ));
    }
    let before = rss_mb(pid);
    let idle = futures::future::join_all((0..1000).map(|_| Session::open(&url))).await;
    let after = rss_mb(pid);
    rows.push((
        "HTTP RSS with 1000 idle sessions".into(),
        format!("{after:.1} MB (was {before:.1} MB)"),
        "< 100 MB".into(),
    ));
    drop(idle);
    let _ = http.kill().await;

    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    println!("\n{:width$}  {:>34}  target", "figure", "measured");
    for (name, value, target) in &rows {
        println!("{name:width$}  {value:>34}  {target}");
    }
    let json: Vec<Value> = rows
        .iter()
        .map(|(n, v, t)| json!({"figure": n, "measured": v, "target": t}))
        .collect();
    let _ = std::fs::write(
        "target/perf.json",
        serde_json::to_string_pretty(&json).unwrap(),
    );
}

/// The server over stdio, spoken to in raw JSON-RPC lines.
struct Stdio_ {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Stdio_ {
    async fn spawn(sim: &Simulator) -> Self {
        let mut child = tokio::process::Command::new(BIN)
            .env("COMETAPI_KEY", "sk-bench")
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            // The default a user gets: a SQLite task store that already exists.
            .env("KLING_MCP_STORE", store_path())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            lines,
            next_id: 0,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    async fn initialize(&mut self) {
        self.request("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})).await;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    async fn submit(&mut self) -> String {
        let reply = self.request("tools/call", json!({"name": "generate_video", "arguments": {"prompt": "bench", "aspect_ratio": "1:1"}})).await;
        let task_id = reply["result"]["structuredContent"]["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.request(
            "tools/call",
            json!({"name": "get_video_task", "arguments": {"task_id": task_id}}),
        )
        .await;
        task_id
    }

    async fn send(&mut self, message: Value) {
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let line = self.lines.next_line().await.unwrap().unwrap();
            let reply: Value = serde_json::from_str(&line).unwrap();
            if reply["id"] == id {
                return reply;
            }
        }
    }

    async fn close(mut self) {
        drop(self.stdin);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

/// One SQLite task store for every server the bench starts, under `target/`.
fn store_path() -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("perf-store");
    let _ = std::fs::create_dir_all(&dir);
    dir.join("tasks.sqlite3").display().to_string()
}

async fn spawn_http(sim: &Simulator) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "--http",
            "127.0.0.1:0",
            "--max-sessions",
            "5000",
            "--max-calls",
            "64",
        ])
        .env("COMETAPI_KEY", "sk-bench")
        .env("COMETAPI_BASE_URL", sim.url().as_str())
        .env("KLING_MCP_STORE", store_path())
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
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if std::env::var_os("BENCH_SERVER_LOG").is_some() {
                eprintln!("server: {line}");
            }
        }
    });
    (child, url)
}

/// One MCP session over HTTP, through rmcp's streamable HTTP client.
struct Session {
    client: RunningService<RoleClient, ()>,
}

impl Session {
    async fn open(url: &str) -> Self {
        let transport = StreamableHttpClientTransport::with_client(
            reqwest::Client::new(),
            StreamableHttpClientTransportConfig::with_uri(url),
        );
        Self {
            client: ().serve(transport).await.unwrap(),
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

    async fn submit(&self) -> String {
        let created = self
            .call(
                "generate_video",
                json!({"prompt": "bench", "aspect_ratio": "1:1"}),
            )
            .await;
        let task_id = created["task_id"].as_str().unwrap().to_owned();
        self.call("get_video_task", json!({"task_id": task_id}))
            .await;
        task_id
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
}

/// The p50 of a plain GET to the simulator: the upstream share of a `get_video_task` call.
async fn upstream_round_trip(sim: &Simulator, task_id: &str) -> Duration {
    let client = reqwest::Client::new();
    let url = format!("{}kling/v1/videos/omni-video/{task_id}", sim.url());
    let mut times = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        let _ = client
            .get(&url)
            .bearer_auth("sk-bench")
            .send()
            .await
            .unwrap()
            .bytes()
            .await;
        times.push(started.elapsed());
    }
    pct(&mut times, 50.0)
}

fn pct(values: &mut [Duration], percentile: f64) -> Duration {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * percentile / 100.0).round() as usize;
    values.get(index).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

fn status_kb(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0.0)
}

fn rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmRSS:") / 1024.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    status_kb(pid, "VmHWM:") / 1024.0
}
