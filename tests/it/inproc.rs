//! Application tests in-process, on a paused clock: the same `App` the binary builds
//! (`App::open` from a `Config` parsed from flags), its MCP server and rmcp's client joined by
//! `tokio::io::duplex`, against a simulated CometAPI on a loopback port in the same runtime.
//! Tests run with `#[tokio::test(start_paused = true)]`, so a minute of polling, `Retry-After`
//! or deadline costs no real time, and they assert exact virtual times and upstream call
//! counts. Run with `cargo test --test it inproc`.
//!
//! Why the clock is reliable here: with a paused clock tokio advances time to the next timer
//! whenever the runtime is idle, but first polls I/O once without blocking, and does not
//! advance when that poll wakes a task (in tokio 1.54, scheduling a task sets the driver's
//! `did_wake`; see `current_thread::Handle::schedule`). Loopback TCP delivers a write within the
//! `send` call, so the simulator's request, and then its reply, are always ready at that poll:
//! I/O takes no virtual time, and neither do the store (SQLite runs on the blocking pool, which
//! holds the clock while it works) and downloads (`tokio::fs`, likewise). Times are therefore
//! asserted exactly. What could still move the clock during I/O is a kernel that defers the
//! loopback delivery (softirqs pushed to `ksoftirqd` under extreme network load); the fix for
//! that would be an in-memory connection, which reqwest has no public way to plug in. Each
//! test here was run 20 times in a loop, also with the machine busy, without a difference.

mod deadlines;
mod waits;

use std::collections::HashMap;
use std::time::Duration;

use clap::Parser;
use kling_omni_mcp::app::{App, Audience};
use kling_omni_mcp::cli::Cli;
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::support::{TEST_KEY, TestClient};

/// How to build the application.
#[derive(Default)]
pub(crate) struct InSetup {
    /// The fake CometAPI.
    pub(crate) sim: SimConfig,
    /// Flags, as on the command line (the harness adds the base URL, store and output dir).
    pub(crate) args: Vec<&'static str>,
    /// The environment `into_config` reads (`COMETAPI_KEY` is the test key unless set here).
    pub(crate) env: Vec<(&'static str, String)>,
    /// The client declares the MCP tasks extension.
    pub(crate) tasks: bool,
}

/// The application, its MCP server and a client, in this runtime.
pub(crate) struct InProc {
    pub(crate) client: RunningService<RoleClient, TestClient>,
    pub(crate) sim: Simulator,
    /// Holds the task store (`tasks.sqlite3`), downloads (`videos/`) and per-user data.
    pub(crate) data: tempfile::TempDir,
    /// The application; the server holds its job layer, this keeps the rest alive.
    _app: App,
    served: JoinHandle<()>,
}

impl InProc {
    /// The application with defaults: the real poll schedule and retry policy.
    pub(crate) async fn start() -> Self {
        Self::with(InSetup::default()).await
    }

    pub(crate) async fn with(setup: InSetup) -> Self {
        let sim = Simulator::start(setup.sim).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let app = open(&sim, data.path(), &setup.args, setup.env).await;
        let (server_io, client_io) = tokio::io::duplex(1 << 16);
        let server = app.server().unwrap();
        let served = tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        let client = match setup.tasks {
            true => TestClient::with_tasks(),
            false => TestClient::default(),
        };
        let client = client.serve(client_io).await.unwrap();
        Self {
            client,
            sim,
            data,
            _app: app,
            served,
        }
    }

    /// Calls a tool with JSON arguments.
    pub(crate) async fn call(&self, tool: &'static str, arguments: Value) -> CallToolResult {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        self.client
            .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
            .await
            .unwrap()
    }

    /// Calls a tool; returns its result and how much virtual time it took.
    pub(crate) async fn timed(
        &self,
        tool: &'static str,
        arguments: Value,
    ) -> (CallToolResult, Duration) {
        let started = Instant::now();
        let result = self.call(tool, arguments).await;
        (result, started.elapsed())
    }

    /// Submits a job and polls until it finishes; returns the final `get_video_task` result.
    pub(crate) async fn run_job(&self, arguments: Value) -> CallToolResult {
        crate::support::run_job(arguments, |tool, args| self.call(tool, args)).await
    }

    /// The upstream queries of `task_id` so far.
    pub(crate) fn gets(&self, task_id: &str) -> usize {
        self.sim.requests_for(task_id)
    }

    /// Ends the session and the server.
    pub(crate) async fn stop(self) {
        self.client.cancel().await.unwrap();
        let _ = self.served.await;
    }
}

/// Builds the application as `main` does, from `args` and an environment of `env` (plus the
/// test key), on the simulator `sim`, keeping everything in `dir`.
pub(crate) async fn open(
    sim: &Simulator,
    dir: &std::path::Path,
    args: &[&str],
    env: Vec<(&'static str, String)>,
) -> App {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut argv = vec![
        "kling-omni-mcp".to_owned(),
        "--base-url".to_owned(),
        sim.url().to_string(),
        "--store".to_owned(),
        path("tasks.sqlite3"),
        "--output-dir".to_owned(),
        path("videos"),
        // The simulator serves its videos on loopback.
        "--allow-private-downloads".to_owned(),
    ];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let mut env: HashMap<&str, String> = env.into_iter().collect();
    env.entry("COMETAPI_KEY")
        .or_insert_with(|| TEST_KEY.to_owned());
    let cli = Cli::try_parse_from(argv).unwrap();
    let mut config = cli.into_config(|name| env.get(name).cloned()).unwrap();
    // Never the real per-user data directory (its task secret, a journal found there).
    config.data_dir = Some(dir.join("data"));
    config.legacy_journal = None;
    App::open(&config, Audience::Operator).await.unwrap()
}

/// Asserts that `took` is exactly `expected` of virtual time.
#[track_caller]
pub(crate) fn assert_at(took: Duration, expected: Duration, what: &str) {
    assert_eq!(took, expected, "{what}: virtual time taken");
}
