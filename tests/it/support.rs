//! Shared harness: start a simulator, spawn the server binary pointed at it, connect a client.

use std::process::Stdio;
use std::sync::Arc;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::ProtocolVersion;
#[allow(
    deprecated,
    reason = "roots are deprecated in the newest protocol but still in use"
)]
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ListRootsResult,
    NumberOrString, ProgressNotificationParam, ProgressToken, RequestMetaObject, Root,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, RequestContext, RunningService,
};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::Mutex;

/// The key the harness gives the server unless a test says otherwise.
pub(crate) const TEST_KEY: &str = "sk-test-0123456789abcdef";

/// The longest a test waits for a log line before failing with the log so far. Not a bound on
/// how fast the server is (a loaded machine may take seconds): only a line that never comes
/// reaches it.
pub(crate) const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Path of the server binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_kling-omni-mcp");

/// A server process connected to a client, and the simulator it talks to.
pub(crate) struct Harness {
    pub(crate) client: RunningService<RoleClient, TestClient>,
    pub(crate) sim: Option<Simulator>,
    /// Holds the task store and downloads of this server.
    pub(crate) data: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    /// Changes whenever more stderr arrives; closed when the server's stderr ends.
    stderr_seen: tokio::sync::watch::Receiver<usize>,
    stderr_task: tokio::task::JoinHandle<()>,
    /// The server process's id.
    pub(crate) pid: u32,
}

/// How to start the server.
pub(crate) struct Setup {
    pub(crate) sim: Option<SimConfig>,
    pub(crate) key: Option<&'static str>,
    pub(crate) base_url: Option<String>,
    pub(crate) args: Vec<String>,
    /// `file://` URIs the client offers as MCP roots; none means no roots capability.
    pub(crate) roots: Vec<String>,
    /// Use this data directory (task store, downloads) instead of a fresh one.
    pub(crate) data: Option<tempfile::TempDir>,
    /// Extra environment, applied last (e.g. `KLING_MCP_STORE` to share a store).
    pub(crate) env: Vec<(&'static str, String)>,
    /// The server's working directory (the test's own when `None`).
    pub(crate) cwd: Option<std::path::PathBuf>,
    /// The client declares the MCP tasks extension (`io.modelcontextprotocol/tasks`).
    pub(crate) tasks: bool,
    /// The client speaks protocol 2026-07-28 (`server/discover`, capabilities in each
    /// request's `_meta`) instead of the 2025-11-25 `initialize` handshake.
    pub(crate) modern: bool,
    /// The client declares the MCP Apps extension (`io.modelcontextprotocol/ui`).
    pub(crate) ui: bool,
}

/// An MCP client that offers roots when it has some.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestClient {
    roots: Vec<String>,
    tasks: bool,
    ui: bool,
    progress: Arc<std::sync::Mutex<Vec<(f64, String)>>>,
}

impl TestClient {
    /// A client that declares the MCP tasks extension.
    pub(crate) fn with_tasks() -> Self {
        Self {
            tasks: true,
            ..Self::default()
        }
    }

    /// A client that offers these `file://` URIs as its MCP roots.
    pub(crate) fn with_roots(roots: Vec<String>) -> Self {
        Self {
            roots,
            ..Self::default()
        }
    }

    /// The progress notifications received so far: (progress, message).
    pub(crate) fn progress(&self) -> Vec<(f64, String)> {
        self.progress.lock().unwrap().clone()
    }
}

#[allow(
    deprecated,
    reason = "roots are deprecated in the newest protocol but still in use"
)]
impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let mut capabilities = ClientCapabilities::default();
        if !self.roots.is_empty() {
            capabilities = ClientCapabilities::builder().enable_roots().build();
        }
        if self.tasks {
            let tasks = ClientCapabilities::builder().enable_tasks().build();
            capabilities.extensions = tasks.extensions;
        }
        if self.ui {
            capabilities.extensions.get_or_insert_default().insert(
                kling_omni_mcp::server::UI_EXTENSION.to_owned(),
                serde_json::json!({ "mimeTypes": [kling_omni_mcp::server::APP_MIME] })
                    .as_object()
                    .cloned()
                    .unwrap(),
            );
        }
        ClientConfig::new(capabilities, rmcp::model::Implementation::new("it", "1"))
    }

    async fn list_roots(
        &self,
        _: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, ErrorData> {
        Ok(ListRootsResult::new(
            self.roots.iter().map(Root::new).collect(),
        ))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _: NotificationContext<RoleClient>,
    ) {
        let message = params.message.unwrap_or_default();
        self.progress
            .lock()
            .unwrap()
            .push((params.progress, message));
    }
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            sim: Some(SimConfig {
                finish_after_polls: 3,
                ..SimConfig::default()
            }),
            key: Some(TEST_KEY),
            base_url: None,
            args: Vec::new(),
            roots: Vec::new(),
            data: None,
            env: Vec::new(),
            cwd: None,
            tasks: false,
            modern: false,
            ui: false,
        }
    }
}

impl Harness {
    /// A server with a key, against a default simulator.
    pub(crate) async fn start() -> Self {
        Self::with(Setup::default()).await
    }

    pub(crate) async fn with(setup: Setup) -> Self {
        let sim = match setup.sim {
            Some(config) => Some(Simulator::start(config).await.unwrap()),
            None => None,
        };
        let data = setup.data.unwrap_or_else(|| tempfile::tempdir().unwrap());
        // Another build of the binary (e.g. the release one, for memory figures) when asked.
        let bin = std::env::var_os("KLING_MCP_TEST_BIN").unwrap_or_else(|| BIN.into());
        let mut command = tokio::process::Command::new(bin);
        command
            .args(&setup.args)
            .env_remove("COMETAPI_KEY")
            .env_remove("COMETAPI_QUERY_KEY")
            .env_remove("COMETAPI_QUOTA_URL")
            .env("RUST_LOG", "debug")
            // Fast polling and retries, and a private task store and output directory.
            .env("KLING_MCP_POLL_MIN", "0.02")
            .env("KLING_MCP_RETRY_BASE_MS", "5")
            .env("KLING_MCP_STORE", data.path().join("tasks.sqlite3"))
            // Never the real per-user data directory (nor a journal found there).
            .env("XDG_DATA_HOME", data.path())
            .env("KLING_MCP_OUTPUT_DIR", data.path().join("videos"))
            // The simulator serves its videos on loopback.
            .env("KLING_MCP_ALLOW_PRIVATE_DOWNLOADS", "true")
            .env_remove("KLING_MCP_ALLOWED_DIRS");
        if let Some(cwd) = setup.cwd {
            command.current_dir(cwd);
        }
        let base = setup
            .base_url
            .or_else(|| sim.as_ref().map(|s| s.url().to_string()));
        match base {
            Some(url) => command.env("COMETAPI_BASE_URL", url),
            None => command.env_remove("COMETAPI_BASE_URL"),
        };
        if let Some(key) = setup.key {
            command.env("COMETAPI_KEY", key);
        }
        command.envs(setup.env.iter().map(|(k, v)| (*k, v.as_str())));
        let (transport, stderr) = TokioChildProcess::builder(command)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = transport.id().unwrap();
        let captured = Arc::new(Mutex::new(String::new()));
        let sink = captured.clone();
        let mut stderr = stderr.unwrap();
        let (seen, stderr_seen) = tokio::sync::watch::channel(0);
        let stderr_task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .await
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                seen.send_modify(|n| *n += 1);
            }
        });
        let client = TestClient {
            roots: setup.roots,
            tasks: setup.tasks,
            ui: setup.ui,
            progress: Arc::default(),
        };
        let client = match setup.modern {
            true => {
                let lifecycle = ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                };
                client.serve_with_lifecycle(transport, lifecycle).await
            }
            false => client.serve(transport).await,
        }
        .unwrap();
        Self {
            client,
            sim,
            data,
            stderr: captured,
            stderr_seen,
            stderr_task,
            pid,
        }
    }

    pub(crate) fn sim(&self) -> &Simulator {
        self.sim.as_ref().unwrap()
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

    /// Calls a tool asking for progress notifications (token 7).
    pub(crate) async fn call_with_progress(
        &self,
        tool: &'static str,
        arguments: Value,
    ) -> CallToolResult {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        let mut params = CallToolRequestParams::new(tool).with_arguments(arguments);
        params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
            NumberOrString::Number(7),
        )));
        self.client.call_tool(params).await.unwrap()
    }

    /// The progress notifications received so far: (progress, message).
    pub(crate) fn progress(&self) -> Vec<(f64, String)> {
        self.client.service().progress()
    }

    /// Submits a job and polls until it finishes; returns the final `get_video_task` result.
    pub(crate) async fn run_job(&self, arguments: Value) -> CallToolResult {
        run_job(arguments, |tool, args| self.call(tool, args)).await
    }

    /// Waits until the server has logged `needle` on stderr; returns the log so far. Panics,
    /// with the log so far, if the server's stderr ends first or [`LOG_WAIT`] passes: a line
    /// that never comes fails the test instead of hanging it.
    pub(crate) async fn wait_for_log(&self, needle: &str) -> String {
        let mut seen = self.stderr_seen.clone();
        let found = tokio::time::timeout(LOG_WAIT, async {
            loop {
                let log = self.stderr.lock().await.clone();
                if log.contains(needle) {
                    return log;
                }
                if seen.changed().await.is_err() {
                    panic!("the server stopped before logging {needle:?}:\n{log}");
                }
            }
        })
        .await;
        match found {
            Ok(log) => log,
            Err(_) => {
                let log = self.stderr.lock().await.clone();
                panic!("the server did not log {needle:?} within {LOG_WAIT:?}:\n{log}")
            }
        }
    }

    /// Stops the server and returns everything it wrote to stderr.
    pub(crate) async fn stop(self) -> String {
        self.shutdown().await.0
    }

    /// Stops the server; returns its stderr and its data directory (to start another on it).
    pub(crate) async fn shutdown(self) -> (String, tempfile::TempDir) {
        self.client.cancel().await.unwrap();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.stderr_task).await;
        let stderr = self.stderr.lock().await.clone();
        (stderr, self.data)
    }
}

/// The `structuredContent` of a successful result.
pub(crate) fn structured(result: &CallToolResult) -> &Value {
    result
        .structured_content
        .as_ref()
        .expect("structuredContent")
}

/// All text content, joined.
pub(crate) fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The error details a failed result carries in `_meta`.
pub(crate) fn error_meta(result: &CallToolResult) -> Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected an error: {}",
        text(result)
    );
    assert!(result.structured_content.is_none());
    let meta = result.meta.as_ref().expect("_meta on an error result");
    meta.0
        .get(kling_omni_mcp::server::ERROR_META_KEY)
        .cloned()
        .expect("error details")
}

pub(crate) fn assert_ok(result: &CallToolResult) {
    assert_ne!(
        result.is_error,
        Some(true),
        "unexpected tool error: {}",
        text(result)
    );
}

/// The binary as a person runs it on the data directory `dir` (store `tasks.sqlite3`, videos
/// in `videos/`, per-user data in `data/`): no key, no base URL, no logs asked for, fast polls.
pub(crate) fn person(dir: &std::path::Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(BIN);
    command
        .env("KLING_MCP_POLL_MIN", "0.02")
        .env("KLING_MCP_RETRY_BASE_MS", "5")
        .env("KLING_MCP_STORE", dir.join("tasks.sqlite3"))
        .env("KLING_MCP_OUTPUT_DIR", dir.join("videos"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env_remove("COMETAPI_KEY")
        .env_remove("COMETAPI_BASE_URL")
        .env_remove("COMETAPI_QUERY_KEY")
        .env_remove("COMETAPI_QUOTA_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// What a one-shot command printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Its stdout as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("{err}: {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `command` with `args` to its end.
pub(crate) async fn run(mut command: tokio::process::Command, args: &[&str]) -> Run {
    let output = command.args(args).output().await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Submits a job through `call` and polls it until it finishes (at most 10 polls); returns the
/// final `get_video_task` result. Shared by the spawned and the in-process harness.
pub(crate) async fn run_job<F, Fut>(arguments: Value, call: F) -> CallToolResult
where
    F: Fn(&'static str, Value) -> Fut,
    Fut: Future<Output = CallToolResult>,
{
    let submitted = call("generate_video", arguments).await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..10 {
        let polled = call("get_video_task", serde_json::json!({"task_id": task_id})).await;
        assert_ok(&polled);
        let status = structured(&polled)["status"].as_str().unwrap().to_owned();
        if status == "succeed" || status == "failed" {
            return polled;
        }
    }
    panic!("task {task_id} did not finish in 10 polls");
}
