//! The stdio figures: cold start, `tools/list`, `get_video_task` latency and peak RSS, spoken
//! to the server in raw JSON-RPC lines.

use std::process::Stdio;
use std::time::{Duration, Instant};

use kling_omni_mcp::simulator::Simulator;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::builds::Build;
use crate::stats::{pct_ms, peak_rss_mb, rss_anon_mb, rss_file_mb};

/// What one build measured over stdio (milliseconds, MB).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StdioFigures {
    pub(crate) cold_start_p50: f64,
    pub(crate) tools_list_p50: f64,
    pub(crate) get_p50: f64,
    pub(crate) get_p99: f64,
    pub(crate) peak_rss: f64,
    /// The anonymous and file-backed parts of resident memory after the calls.
    pub(crate) rss_anon: f64,
    pub(crate) rss_file: f64,
}

impl StdioFigures {
    /// The mean of each figure over `rounds`.
    pub(crate) fn mean(rounds: &[Self]) -> Self {
        let n = rounds.len().max(1) as f64;
        let mean = |pick: fn(&Self) -> f64| rounds.iter().map(pick).sum::<f64>() / n;
        Self {
            cold_start_p50: mean(|f| f.cold_start_p50),
            tools_list_p50: mean(|f| f.tools_list_p50),
            get_p50: mean(|f| f.get_p50),
            get_p99: mean(|f| f.get_p99),
            peak_rss: mean(|f| f.peak_rss),
            rss_anon: mean(|f| f.rss_anon),
            rss_file: mean(|f| f.rss_file),
        }
    }
}

/// Measures `build` over stdio against `sim`, on its own SQLite store `store`; also returns
/// the id of the finished task it polled.
pub(crate) async fn measure(build: &Build, sim: &Simulator, store: &str) -> (StdioFigures, String) {
    let mut cold = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut server = Server::spawn(build, sim, store).await;
        server.initialize().await;
        cold.push(started.elapsed());
        server.close().await;
    }
    let mut server = Server::spawn(build, sim, store).await;
    server.initialize().await;
    let mut list = Vec::new();
    for _ in 0..500 {
        let started = Instant::now();
        server.request("tools/list", json!({})).await;
        list.push(started.elapsed());
    }
    let task_id = server.submit().await;
    let mut calls = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        let reply = server
            .request(
                "tools/call",
                json!({"name": "get_video_task", "arguments": {"task_id": task_id}}),
            )
            .await;
        calls.push(started.elapsed());
        assert_eq!(
            reply["result"]["structuredContent"]["status"], "succeed",
            "{reply}"
        );
    }
    let peak_rss = peak_rss_mb(server.pid());
    let rss_anon = rss_anon_mb(server.pid());
    let rss_file = rss_file_mb(server.pid());
    server.close().await;
    let figures = StdioFigures {
        cold_start_p50: pct_ms(&mut cold, 50.0),
        tools_list_p50: pct_ms(&mut list, 50.0),
        get_p50: pct_ms(&mut calls, 50.0),
        get_p99: pct_ms(&mut calls, 99.0),
        peak_rss,
        rss_anon,
        rss_file,
    };
    (figures, task_id)
}

/// The p50 of a plain GET to the simulator (ms): the upstream share of a `get_video_task` call.
pub(crate) async fn upstream_round_trip(sim: &Simulator, task_id: &str) -> f64 {
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
    pct_ms(&mut times, 50.0)
}

/// The server over stdio.
struct Server {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Server {
    async fn spawn(build: &Build, sim: &Simulator, store: &str) -> Self {
        let mut child = tokio::process::Command::new(&build.bin)
            .env("COMETAPI_KEY", "sk-bench")
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            // The default a user gets: a SQLite task store that already exists.
            .env("KLING_MCP_STORE", store)
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
        // The simulator finishes a task after one poll: every later call sees `succeed`.
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
