//! The streamable HTTP transport, driven by rmcp's HTTP client and by raw requests.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::{BIN, TEST_KEY, TestClient, assert_ok, error_meta, structured};

pub(crate) const TOKEN: &str = "http-test-token-4f1c9a";

/// A server process listening on a loopback HTTP port, against a simulator (its own, or one
/// it shares with other instances).
pub(crate) struct HttpServer {
    pub(crate) child: tokio::process::Child,
    pub(crate) url: String,
    pub(crate) sim: Arc<Simulator>,
    _data: tempfile::TempDir,
    /// Everything the server wrote to stderr so far.
    log: Arc<std::sync::Mutex<String>>,
    /// Changes whenever a line arrives; closed when stderr ends.
    log_seen: tokio::sync::watch::Receiver<usize>,
}

impl HttpServer {
    pub(crate) async fn start(extra: &[&str]) -> Self {
        Self::start_with(
            extra,
            SimConfig {
                finish_after_polls: 2,
                ..SimConfig::default()
            },
        )
        .await
    }

    pub(crate) async fn start_with(extra: &[&str], sim: SimConfig) -> Self {
        let sim = Arc::new(Simulator::start(sim).await.unwrap());
        Self::start_on(extra, sim, &[]).await
    }

    /// An instance on `sim`, with `env` applied after the defaults (e.g. a shared store).
    pub(crate) async fn start_on(
        extra: &[&str],
        sim: Arc<Simulator>,
        env: &[(&str, &str)],
    ) -> Self {
        Self::start_at("127.0.0.1:0", extra, sim, env).await
    }

    /// An instance listening on `addr` (as given to `--http`).
    pub(crate) async fn start_at(
        addr: &str,
        extra: &[&str],
        sim: Arc<Simulator>,
        env: &[(&str, &str)],
    ) -> Self {
        Self::start_via(&[], addr, extra, sim, env).await
    }

    /// An instance started through `launcher` (a program and its arguments, which then runs
    /// the binary and its arguments, e.g. `prlimit --nofile=256:256`), listening on `addr`.
    pub(crate) async fn start_via(
        launcher: &[&str],
        addr: &str,
        extra: &[&str],
        sim: Arc<Simulator>,
        env: &[(&str, &str)],
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data = tempfile::tempdir().unwrap();
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).arg(BIN);
                command
            }
            None => tokio::process::Command::new(BIN),
        };
        let mut child = command
            .args(["--http", addr])
            .args(extra)
            .env("COMETAPI_KEY", TEST_KEY)
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("KLING_MCP_HTTP_TOKEN", TOKEN)
            .env("KLING_MCP_POLL_MIN", "0.02")
            .env("KLING_MCP_RETRY_BASE_MS", "5")
            .env("KLING_MCP_STORE", data.path().join("tasks.sqlite3"))
            .env("XDG_DATA_HOME", data.path())
            .env("KLING_MCP_OUTPUT_DIR", data.path().join("videos"))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let (seen, log_seen) = tokio::sync::watch::channel(0);
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.lock().unwrap().push_str(&format!("{line}\n"));
                if !line.contains("MCP streamable HTTP listening") {
                    continue;
                }
                if let Some(rest) = line.split(" url=").nth(1) {
                    return rest.split_whitespace().next().unwrap().to_owned();
                }
                // `--log-format json`: the URL is a field of the JSON line.
                if let Ok(json) = serde_json::from_str::<Value>(&line)
                    && let Some(url) = json["fields"]["url"].as_str()
                {
                    return url.to_owned();
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("the server listens");
        // Keep draining stderr so the server never blocks on a full pipe.
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                seen.send_modify(|n| *n += 1);
            }
        });
        Self {
            child,
            url,
            sim,
            _data: data,
            log,
            log_seen,
        }
    }

    /// Waits until the server has logged a line containing every one of `needles`; returns
    /// that line. Panics, with the log so far, if its stderr ends first or
    /// [`LOG_WAIT`](crate::support::LOG_WAIT) passes.
    pub(crate) async fn wait_for_log(&self, needles: &[&str]) -> String {
        let mut seen = self.log_seen.clone();
        let found = tokio::time::timeout(crate::support::LOG_WAIT, async {
            loop {
                let log = self.log.lock().unwrap().clone();
                if let Some(line) = log
                    .lines()
                    .find(|line| needles.iter().all(|n| line.contains(n)))
                {
                    return line.to_owned();
                }
                if seen.changed().await.is_err() {
                    panic!("the server stopped before logging {needles:?}:\n{log}");
                }
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "the server did not log {needles:?} within {:?}:\n{}",
                crate::support::LOG_WAIT,
                self.log()
            )
        })
    }

    /// Everything the server wrote to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub(crate) async fn client(&self) -> RunningService<RoleClient, TestClient> {
        self.client_with_key(None).await
    }

    /// A client that sends its own CometAPI key, when given.
    pub(crate) async fn client_with_key(
        &self,
        key: Option<&str>,
    ) -> RunningService<RoleClient, TestClient> {
        let mut headers = std::collections::HashMap::new();
        if let Some(key) = key {
            headers.insert(
                reqwest::header::HeaderName::from_static("x-cometapi-key"),
                reqwest::header::HeaderValue::from_str(key).unwrap(),
            );
        }
        let config = StreamableHttpClientTransportConfig::with_uri(self.url.as_str())
            .auth_header(TOKEN)
            .custom_headers(headers);
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        TestClient::default().serve(transport).await.unwrap()
    }

    pub(crate) async fn post(&self, headers: &[(&str, &str)], body: String) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(body).send().await.unwrap()
    }
}

pub(crate) fn initialize() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string()
}

pub(crate) async fn call(
    client: &RunningService<RoleClient, TestClient>,
    tool: &'static str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let Value::Object(args) = args else {
        unreachable!()
    };
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(args))
        .await
        .unwrap()
}

/// Submits a `generate_video` call that must succeed, and returns its task id.
pub(crate) async fn submit(client: &RunningService<RoleClient, TestClient>, args: Value) -> String {
    let submitted = call(client, "generate_video", args).await;
    assert_ok(&submitted);
    structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_whole_job_runs_over_http_with_progress_on_the_sse_stream() {
    let server = HttpServer::start(&[]).await;
    let health = reqwest::get(server.url.replace("/mcp", "/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "no token needed for /healthz");
    assert!(!health.text().await.unwrap().contains(TOKEN));

    let client = server.client().await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 4);
    let submitted = call(
        &client,
        "generate_video",
        json!({"prompt": "a cat [sim:polls=4]", "aspect_ratio": "16:9"}),
    )
    .await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut params = CallToolRequestParams::new("get_video_task").with_arguments(
        json!({"task_id": task_id, "wait_seconds": 20})
            .as_object()
            .unwrap()
            .clone(),
    );
    params.meta = Some(rmcp::model::RequestMetaObject::with_progress_token(
        rmcp::model::ProgressToken(rmcp::model::NumberOrString::Number(3)),
    ));
    let done = client.call_tool(params).await.unwrap();
    assert_eq!(structured(&done)["status"], "succeed");
    let progress = client.service().progress();
    assert!(
        progress.len() >= 2 && progress.last().unwrap().1.contains("succeed"),
        "{progress:?}"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn requests_without_the_right_token_get_401() {
    let server = HttpServer::start(&[]).await;
    for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let response = server.post(&headers, initialize()).await;
        assert_eq!(response.status(), 401, "{auth:?}");
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }
    let bearer = format!("Bearer {TOKEN}");
    let response = server
        .post(&[("authorization", &bearer)], initialize())
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let server = HttpServer::start(&["--allow-origin", "https://app.example.com:443"]).await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = ("authorization", bearer.as_str());
    let response = server
        .post(&[auth, ("host", "evil.example")], initialize())
        .await;
    assert_eq!(response.status(), 403, "DNS rebinding: foreign Host");
    let response = server
        .post(&[auth, ("origin", "https://evil.example")], initialize())
        .await;
    assert_eq!(response.status(), 403, "foreign Origin");
    let response = server
        .post(&[auth, ("origin", "https://app.example.com")], initialize())
        .await;
    assert_eq!(response.status(), 200, "allowed Origin");
}

#[tokio::test]
async fn limits_answer_clearly_and_the_server_stays_up() {
    let server = HttpServer::start(&[
        "--max-body-bytes",
        "4096",
        "--max-sessions",
        "2",
        "--max-calls",
        "1",
    ])
    .await;
    let bearer = format!("Bearer {TOKEN}");
    let auth = ("authorization", bearer.as_str());
    let huge =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x".repeat(10_000)}})
            .to_string();
    assert_eq!(server.post(&[auth], huge).await.status(), 413);

    // The session table's refusals are in `callers::`.
    let first = server.client().await;
    let second = server.client().await;

    // One call at a time per caller: a second concurrent call is told to wait, in the same
    // session or another.
    let submitted = call(
        &first,
        "generate_video",
        json!({"prompt": "x [sim:polls=1000]", "aspect_ratio": "1:1"}),
    )
    .await;
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let waiting = call(
        &first,
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 2}),
    );
    let busy = async {
        // Once the wait has polled, it holds the caller's one call slot.
        server
            .sim
            .wait_until(|requests| requests.iter().any(|r| r.path.ends_with(&task_id)))
            .await;
        (
            call(&first, "list_video_tasks", json!({})).await,
            call(&second, "list_video_tasks", json!({})).await,
        )
    };
    let (waited, (busy, other_session)) = tokio::join!(waiting, busy);
    assert_eq!(structured(&waited)["status"], "processing");
    assert_eq!(error_meta(&busy)["kind"], "too_many_calls");
    assert_eq!(error_meta(&other_session)["kind"], "too_many_calls");
    // The wait is over: the slot is free again.
    assert_ok(&call(&second, "list_video_tasks", json!({})).await);
    first.cancel().await.unwrap();
    second.cancel().await.unwrap();
}

#[tokio::test]
async fn a_public_address_without_a_token_is_refused_at_start() {
    let output = tokio::process::Command::new(BIN)
        .args(["--http", "0.0.0.0:0", "--store", "off"])
        .env_remove("KLING_MCP_HTTP_TOKEN")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("without a token") && stderr.contains("KLING_MCP_HTTP_TOKEN"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_hundred_sessions_each_run_a_job() {
    // All on the server's key: one caller, so `--max-calls` must allow the hundred waits.
    let server = HttpServer::start(&["--max-calls", "100"]).await;
    let jobs = (0..100).map(|i| {
        let server = &server;
        async move {
            let client = server.client().await;
            let prompt = format!("job {i} [sim:polls=2]");
            let submitted = call(
                &client,
                "generate_video",
                json!({"prompt": prompt, "aspect_ratio": "1:1"}),
            )
            .await;
            let task_id = structured(&submitted)["task_id"]
                .as_str()
                .unwrap()
                .to_owned();
            let done = call(
                &client,
                "get_video_task",
                json!({"task_id": task_id, "wait_seconds": 20}),
            )
            .await;
            client.cancel().await.unwrap();
            (task_id, structured(&done)["status"].clone())
        }
    });
    let results = futures::future::join_all(jobs).await;
    let mut ids: Vec<&String> = results.iter().map(|(id, _)| id).collect();
    assert!(
        results.iter().all(|(_, status)| status == "succeed"),
        "{results:?}"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    assert_eq!(server.sim.task_count(), 100);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_during_a_wait_ends_the_wait_and_exits_cleanly() {
    let mut server = HttpServer::start(&["--shutdown-grace", "5"]).await;
    let client = server.client().await;
    let submitted = call(
        &client,
        "generate_video",
        json!({"prompt": "x [sim:polls=100000]", "aspect_ratio": "1:1"}),
    )
    .await;
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pid = server.child.id().unwrap().to_string();
    let waiting = call(
        &client,
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 50}),
    );
    let terminate = async {
        // Signal once the wait is under way (it has polled), not after a guessed delay.
        server
            .sim
            .wait_until(|requests| requests.iter().any(|r| r.path.ends_with(&task_id)))
            .await;
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
    };
    let (waited, ()) = tokio::join!(waiting, terminate);
    let status = structured(&waited)["status"].as_str().unwrap();
    assert!(
        ["submitted", "processing"].contains(&status),
        "the in-flight call got its answer: {status}"
    );
    assert!(
        structured(&waited)["next_step"]
            .as_str()
            .unwrap()
            .contains("get_video_task")
    );
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "clean exit: {status:?}");
}

#[tokio::test]
async fn callers_may_bring_their_own_key_only_when_allowed() {
    let sim = SimConfig {
        finish_after_polls: 1,
        required_key: Some("sk-caller-own".into()),
        ..SimConfig::default()
    };
    let server = HttpServer::start_with(&["--allow-client-keys"], sim).await;
    let own = server.client_with_key(Some("sk-caller-own")).await;
    let submitted = call(
        &own,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        structured(&call(&own, "get_video_task", json!({"task_id": task_id})).await)["status"],
        "succeed"
    );
    for request in server.sim.requests() {
        assert_eq!(
            request.authorization.as_deref(),
            Some("Bearer sk-caller-own")
        );
    }
    // Each key sees its own tasks only.
    let listed = call(&own, "list_video_tasks", json!({})).await;
    assert_eq!(structured(&listed)["tasks"].as_array().unwrap().len(), 1);
    let shared = server.client().await;
    let listed = call(&shared, "list_video_tasks", json!({})).await;
    assert!(
        structured(&listed)["tasks"].as_array().unwrap().is_empty(),
        "{listed:?}"
    );
    // The server's own key is refused by this (simulated) account, so it is not used above.
    let refused = call(
        &shared,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_eq!(error_meta(&refused)["kind"], "auth");
    own.cancel().await.unwrap();
    shared.cancel().await.unwrap();

    let strict = HttpServer::start(&[]).await;
    let own = strict.client_with_key(Some("sk-caller-own")).await;
    let result = call(
        &own,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "auth");
    assert!(
        meta["message"]
            .as_str()
            .unwrap()
            .contains("--allow-client-keys")
    );
    assert!(
        strict.sim.requests().is_empty(),
        "nothing is sent with the wrong key"
    );
    own.cancel().await.unwrap();
}
