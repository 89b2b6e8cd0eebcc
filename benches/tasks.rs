//! Upstream GETs per job when a 2026-07-28 client runs it as an MCP task and asks `tasks/get`
//! once a second until it completes, against an agent that calls `get_video_task` once a
//! second. The job takes `KLING_BENCH_JOB_SECS` (default 60) on the simulator; the server runs
//! with the default poll schedule (3 s, growing 1.5x to 15 s).
//!
//! Run with `KLING_BENCH_JOB_SECS=180 cargo bench --bench tasks` (release build).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark: a failed assumption should stop it loudly"
)]

use std::time::{Duration, Instant};

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, GetTaskParams,
    Implementation, ProtocolVersion, TaskStatus,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::TokioChildProcess;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kling-omni-mcp");

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let secs = std::env::var("KLING_BENCH_JOB_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60);
    let length = Duration::from_secs(secs);
    let (task_gets, tool_gets) = tokio::join!(job(length, true), job(length, false));
    println!("| one {secs}-s job, asked once a second | upstream GETs |\n|---|---|");
    println!("| MCP task, `tasks/get` every 1 s | {task_gets} |");
    println!("| `get_video_task` every 1 s | {tool_gets} |");
}

/// Runs one job to the end, asking once a second; returns the upstream GETs it cost.
async fn job(length: Duration, as_task: bool) -> usize {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: u32::MAX,
        finish_after: Some(length),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(BIN);
    command
        .env("COMETAPI_KEY", "sk-bench")
        .env("COMETAPI_BASE_URL", sim.url().as_str())
        .env("KLING_MCP_STORE", data.path().join("tasks.sqlite3"))
        .env("XDG_DATA_HOME", data.path())
        .env("RUST_LOG", "warn");
    let transport = TokioChildProcess::new(command).unwrap();
    let capabilities = ClientCapabilities::builder().enable_tasks().build();
    let client = ClientConfig::new(capabilities, Implementation::new("bench", "1"))
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .unwrap();
    let arguments = json!({"prompt": "bench", "aspect_ratio": "1:1"});
    let serde_json::Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let call = CallToolRequestParams::new("generate_video").with_arguments(arguments.clone());
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let started = Instant::now();
    let kling_id = if as_task {
        let CallToolResponse::Task(created) = client.call_tool_once(call).await.unwrap() else {
            panic!("expected a task")
        };
        loop {
            ticks.tick().await;
            let answer = client
                .get_task(GetTaskParams::new(created.task.task_id.as_str()))
                .await
                .unwrap();
            if answer.task.status() != TaskStatus::Working {
                break sim.tasks()[0].0.clone();
            }
        }
    } else {
        // Submitted the same way; then followed with the tool, as an agent without tasks would.
        let CallToolResponse::Task(_) = client.call_tool_once(call).await.unwrap() else {
            panic!("expected a task")
        };
        let kling_id = sim.tasks()[0].0.clone();
        loop {
            ticks.tick().await;
            let status = CallToolRequestParams::new("get_video_task")
                .with_arguments(json!({"task_id": kling_id}).as_object().unwrap().clone());
            let CallToolResponse::Complete(result) = client.call_tool_once(status).await.unwrap()
            else {
                panic!("get_video_task is never a task")
            };
            let done = result
                .structured_content
                .as_ref()
                .and_then(|s| s["status"].as_str())
                .is_some_and(|s| s == "succeed" || s == "failed");
            if done {
                break kling_id;
            }
        }
    };
    eprintln!(
        "bench: job {} ({}) done after {:?}",
        kling_id,
        if as_task { "task" } else { "tool" },
        started.elapsed()
    );
    let gets = sim.requests_for(&kling_id);
    client.cancel().await.unwrap();
    gets
}
