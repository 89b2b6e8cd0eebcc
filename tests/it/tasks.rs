//! Long jobs as MCP tasks (SEP-2663): a 2026-07-28 client that declares the extension gets a
//! task from `generate_video` and its result from `tasks/get`; everyone else gets today's
//! synchronous results.

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, CreateTaskResult,
    ErrorCode, GetTaskParams, GetTaskResult, TaskPayload, TaskStatus, UpdateTaskParams,
};
use rmcp::service::ServiceError;
use serde_json::{Value, json};

use crate::support::{Harness, Setup, assert_ok, structured, text};

/// A 2026-07-28 client that declares the tasks extension.
pub(crate) fn modern(tasks: bool) -> Setup {
    Setup {
        tasks,
        modern: true,
        ..Setup::default()
    }
}

/// One `tools/call`, answered however the server chose.
pub(crate) async fn call_once(
    h: &Harness,
    tool: &'static str,
    arguments: Value,
) -> CallToolResponse {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    h.client
        .call_tool_once(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap()
}

pub(crate) async fn submit_task(h: &Harness, arguments: Value) -> CreateTaskResult {
    match call_once(h, "generate_video", arguments).await {
        CallToolResponse::Task(created) => created,
        other => panic!("expected a task, got {other:?}"),
    }
}

pub(crate) async fn get(h: &Harness, task_id: &str) -> Result<GetTaskResult, ServiceError> {
    h.client.get_task(GetTaskParams::new(task_id)).await
}

/// Asks `tasks/get` back to back until the task leaves `working` (a storm: each answer comes
/// from the shared poll loop, so it costs no upstream query of its own).
pub(crate) async fn until_done(h: &Harness, task_id: &str) -> GetTaskResult {
    loop {
        let answer = get(h, task_id).await.unwrap();
        if answer.task.status() != TaskStatus::Working {
            return answer;
        }
    }
}

pub(crate) fn result_of(answer: &GetTaskResult) -> CallToolResult {
    match &answer.task.payload {
        TaskPayload::Completed { result } => {
            serde_json::from_value(Value::Object(result.clone())).unwrap()
        }
        other => panic!("expected a completed task, got {other:?}"),
    }
}

fn error_code(err: ServiceError) -> ErrorCode {
    match err {
        ServiceError::McpError(data) => data.code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_declared_task_completes_with_what_get_video_task_returns() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(
        &h,
        json!({"prompt": "a lighthouse [sim:polls=2]", "aspect_ratio": "16:9"}),
    )
    .await;
    let task = &created.task;
    assert_eq!(task.status, TaskStatus::Working);
    assert!(task.ttl_ms.is_some_and(|ttl| ttl > 0));
    assert!(task.poll_interval_ms.is_some_and(|ms| ms > 0));
    assert!(task.task_id.starts_with("kt1."), "{}", task.task_id);
    // Readable at once: the reply left after the task existed.
    let first = get(&h, &task.task_id).await.unwrap();
    assert_eq!(first.task.task.task_id, task.task_id);

    let done = until_done(&h, &task.task_id).await;
    assert_eq!(done.task.status(), TaskStatus::Completed);
    let result = result_of(&done);
    assert_ok(&result);
    let out = structured(&result).clone();
    assert_eq!(out["status"], "succeed");
    let kling_id = out["task_id"].as_str().unwrap().to_owned();
    let kling_id = kling_id.as_str();
    // The job needs two queries to finish; the tasks/get storm added none (one may race).
    let queries = h.sim().requests_for(kling_id);
    assert!(
        queries <= 3,
        "{queries} upstream queries for a two-poll job"
    );
    assert_ne!(kling_id, task.task_id, "the MCP task id is sealed");
    let direct = h.call("get_video_task", json!({"task_id": kling_id})).await;
    // The same result as get_video_task (whose fresh query the simulator stamps anew).
    let mut direct = structured(&direct).clone();
    let mut out = out.clone();
    for value in [&mut direct, &mut out] {
        value.as_object_mut().unwrap().remove("updated_at_ms");
    }
    assert_eq!(direct, out, "the same result as get_video_task");
    // A finished task answers from memory: asking again costs no upstream query.
    let served = h.sim().requests_for(kling_id);
    let again = get(&h, &task.task_id).await.unwrap();
    assert_eq!(again.task.status(), TaskStatus::Completed);
    assert_eq!(h.sim().requests_for(kling_id), served);
    h.stop().await;
}

#[tokio::test]
async fn a_failed_job_is_a_completed_task_with_a_tool_error() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(&h, json!({"prompt": "x [sim:fail]", "aspect_ratio": "1:1"})).await;
    let done = until_done(&h, &created.task.task_id).await;
    assert_eq!(done.task.status(), TaskStatus::Completed);
    let result = result_of(&done);
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("failed"), "{}", text(&result));
    h.stop().await;
}

#[tokio::test]
async fn asked_for_videos_are_saved_before_the_task_completes() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(
        &h,
        json!({"prompt": "a cat [sim:polls=1]", "aspect_ratio": "1:1", "download": true}),
    )
    .await;
    let done = until_done(&h, &created.task.task_id).await;
    let result = result_of(&done);
    assert_ok(&result);
    let path = structured(&result)["local_files"][0]["path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(std::path::Path::new(&path).is_file(), "{path}");
    assert!(crate::downloads::resource_link(&result).starts_with("file://"));
    h.stop().await;
}

#[tokio::test]
async fn cancelling_stops_following_and_says_the_job_keeps_running() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(
        &h,
        json!({"prompt": "slow [sim:polls=100000]", "aspect_ratio": "1:1"}),
    )
    .await;
    let id = created.task.task_id.clone();
    h.client
        .cancel_task(CancelTaskParams::new(id.as_str()))
        .await
        .unwrap();
    let after = get(&h, &id).await.unwrap();
    assert_eq!(after.task.status(), TaskStatus::Cancelled);
    let message = after.task.task.status_message.clone().unwrap_or_default();
    assert!(message.contains("keeps running"), "{message}");
    // Cancelling again (a finished task) is still acknowledged; updates too.
    h.client
        .cancel_task(CancelTaskParams::new(id.as_str()))
        .await
        .unwrap();
    h.client
        .update_task(UpdateTaskParams::new(id.as_str(), Default::default()))
        .await
        .unwrap();
    h.stop().await;
}

#[tokio::test]
async fn a_task_survives_a_restart_of_the_server() {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let setup = |data: Option<tempfile::TempDir>| Setup {
        sim: None,
        base_url: Some(sim.url().to_string()),
        data,
        ..modern(true)
    };
    let first = Harness::with(setup(None)).await;
    let created = submit_task(&first, json!({"prompt": "a cat", "aspect_ratio": "1:1"})).await;
    // Same data directory (task secret, store), new process.
    let (_, data) = first.shutdown().await;
    let second = Harness::with(setup(Some(data))).await;
    let id = created.task.task_id;
    let done = loop {
        let answer = get(&second, &id).await.unwrap();
        if answer.task.status() != TaskStatus::Working {
            break answer;
        }
    };
    assert_eq!(structured(&result_of(&done))["status"], "succeed");
    second.stop().await;
}

#[tokio::test]
async fn a_simulated_task_completes_in_another_simulated_process() {
    let setup = |data: Option<tempfile::TempDir>| Setup {
        sim: None,
        key: None,
        args: vec!["--simulate".into()],
        data,
        ..modern(true)
    };
    let first = Harness::with(setup(None)).await;
    let created = submit_task(&first, json!({"prompt": "a cat", "aspect_ratio": "1:1"})).await;
    // Same data directory (task secret, store), a new process with a simulator of its own.
    let (_, data) = first.shutdown().await;
    let second = Harness::with(setup(Some(data))).await;
    let done = until_done(&second, &created.task.task_id).await;
    let result = result_of(&done);
    assert_eq!(structured(&result)["status"], "succeed");
    assert_eq!(structured(&result)["simulated"], true);
    assert!(
        structured(&result)["task_id"]
            .as_str()
            .unwrap()
            .starts_with("sim-")
    );
    second.stop().await;
}

#[tokio::test]
async fn forged_and_tampered_task_ids_are_invalid_params() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(&h, json!({"prompt": "a cat", "aspect_ratio": "1:1"})).await;
    let real = created.task.task_id;
    let mut tampered = real.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for forged in [tampered.as_str(), "kt1.MTIz.AAAA", "123", ""] {
        let err = get(&h, forged).await.unwrap_err();
        assert_eq!(error_code(err), ErrorCode::INVALID_PARAMS, "{forged:?}");
        let err = h
            .client
            .cancel_task(CancelTaskParams::new(forged))
            .await
            .unwrap_err();
        assert_eq!(error_code(err), ErrorCode::INVALID_PARAMS, "{forged:?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn without_the_extension_or_for_a_dry_run_the_answer_is_synchronous() {
    // A 2026-07-28 client that does not declare the extension.
    let plain = Harness::with(modern(false)).await;
    let response = call_once(
        &plain,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    let CallToolResponse::Complete(result) = response else {
        panic!("expected a result, got {response:?}")
    };
    assert!(structured(&result)["task_id"].is_string());
    plain.stop().await;

    // A 2025-11-25 client that declared the extension at initialize only: today's behaviour.
    let legacy = Harness::with(Setup {
        tasks: true,
        ..Setup::default()
    })
    .await;
    let result = legacy
        .call(
            "generate_video",
            json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
        )
        .await;
    assert!(structured(&result)["task_id"].is_string());
    legacy.stop().await;

    // A dry run is never a task.
    let h = Harness::with(modern(true)).await;
    let response = call_once(
        &h,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1", "dry_run": true}),
    )
    .await;
    let CallToolResponse::Complete(result) = response else {
        panic!("expected a result, got {response:?}")
    };
    assert_eq!(structured(&result)["dry_run"], true);
    assert!(h.sim().requests().is_empty(), "nothing sent");
    h.stop().await;
}

#[tokio::test]
async fn a_stateless_http_client_runs_a_job_as_a_task() {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let server = crate::http::HttpServer::start(&[]).await;
    let config = StreamableHttpClientTransportConfig::with_uri(server.url.as_str())
        .auth_header(crate::http::TOKEN);
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
    };
    let client = crate::support::TestClient::with_tasks()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap();
    let arguments = json!({"prompt": "a cat [sim:polls=1]", "aspect_ratio": "1:1"});
    let Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let response = client
        .call_tool_once(CallToolRequestParams::new("generate_video").with_arguments(arguments))
        .await
        .unwrap();
    let CallToolResponse::Task(created) = response else {
        panic!("expected a task, got {response:?}")
    };
    let done = loop {
        let answer = client
            .get_task(GetTaskParams::new(created.task.task_id.as_str()))
            .await
            .unwrap();
        if answer.task.status() != TaskStatus::Working {
            break answer;
        }
    };
    assert_eq!(structured(&result_of(&done))["status"], "succeed");
    let err = client
        .get_task(GetTaskParams::new("kt1.MTIz.AAAA"))
        .await
        .unwrap_err();
    assert_eq!(error_code(err), ErrorCode::INVALID_PARAMS);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_2026_request_gets_no_server_requests_and_no_set_level() {
    // Client roots widen the readable directories only for 2025-11-25 requests: asking a
    // 2026-07-28 client would be a server request on the request's stream.
    let configured = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let image = shared.path().join("style.png");
    std::fs::write(&image, crate::http_hardening::png(600, 900)).unwrap();
    let h = Harness::with(Setup {
        args: vec![
            "--allow-dir".into(),
            configured.path().display().to_string(),
        ],
        roots: vec![format!("file://{}", shared.path().display())],
        ..modern(false)
    })
    .await;
    let response = call_once(
        &h,
        "generate_video",
        json!({"prompt": "in the style of <<<image_1>>>", "aspect_ratio": "9:16", "dry_run": true,
               "image_list": [{"image_url": image.display().to_string()}]}),
    )
    .await;
    let CallToolResponse::Complete(result) = response else {
        panic!("expected a result, got {response:?}")
    };
    assert_eq!(
        crate::support::error_meta(&result)["field"],
        "image_list[0].image_url"
    );
    // logging/setLevel no longer exists in 2026-07-28.
    #[allow(deprecated, reason = "the removed method is what is tested")]
    let set = h
        .client
        .set_level(rmcp::model::SetLevelRequestParams::new(
            rmcp::model::LoggingLevel::Info,
        ))
        .await;
    assert_eq!(error_code(set.unwrap_err()), ErrorCode::METHOD_NOT_FOUND);
    h.stop().await;
}

#[tokio::test]
async fn hostile_inputs_to_tasks_are_refused_and_lose_nothing() {
    // An upstream that echoes the key into a failed task's status message: the completed
    // task's result never shows it.
    const KEY: &str = "sk-ECHOED-0f3b9d2c7a1e5f48";
    let h = Harness::with(Setup {
        sim: Some(SimConfig {
            echo_key: true,
            finish_after_polls: 1,
            ..SimConfig::default()
        }),
        key: Some(KEY),
        ..modern(true)
    })
    .await;
    let created = submit_task(&h, json!({"prompt": "x [sim:fail]", "aspect_ratio": "1:1"})).await;
    let done = until_done(&h, &created.task.task_id).await;
    let shown = serde_json::to_string(&done).unwrap();
    assert!(!shown.contains("ECHOED"), "{shown}");
    assert!(
        !h.stop().await.contains("ECHOED"),
        "the logs never show the key"
    );

    // A task id of a megabyte is refused like any forged one, and the server stays up.
    let h = Harness::with(modern(true)).await;
    let huge = format!("kt1.{}", "A".repeat(1 << 20));
    let err = get(&h, &huge).await.unwrap_err();
    assert_eq!(error_code(err), ErrorCode::INVALID_PARAMS);
    // Asked twice while its videos are saved, a task downloads them once.
    let created = submit_task(
        &h,
        json!({"prompt": "a cat [sim:polls=1]", "aspect_ratio": "1:1", "download": true}),
    )
    .await;
    until_done(&h, &created.task.task_id).await;
    until_done(&h, &created.task.task_id).await;
    let video_gets = h
        .sim()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/_sim/videos/"))
        .count();
    assert_eq!(video_gets, 1);
    h.stop().await;
}

#[tokio::test]
async fn a_task_secret_too_short_stops_the_start_without_showing_it() {
    let data = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(crate::support::BIN)
        .env("KLING_MCP_TASK_SECRET", "short-SECRET-value")
        .env("KLING_MCP_STORE", "off")
        .env("XDG_DATA_HOME", data.path())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("KLING_MCP_TASK_SECRET"), "{stderr}");
    assert!(!stderr.contains("SECRET-value"), "{stderr}");
    assert!(output.stdout.is_empty());
}
