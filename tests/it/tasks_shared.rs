//! What became of an MCP task lives in the task store: a cancel, a finished result and saved
//! videos hold after a restart, whatever the upstream says later, and on every instance of one
//! PostgreSQL store.

use std::sync::Arc;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::RoleClient;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CreateTaskResult, GetTaskParams,
    GetTaskResult, TaskStatus,
};
use rmcp::service::RunningService;
use serde_json::{Value, json};

use crate::http::HttpServer;
use crate::support::{Harness, Setup, TestClient, structured};
use crate::tasks::{get, modern, result_of, submit_task, until_done};

/// A 2026-07-28 client with the tasks extension, on an upstream at `base_url`, keeping its
/// data in `data` (a fresh directory when `None`).
fn on(base_url: &Simulator, data: Option<tempfile::TempDir>) -> Setup {
    Setup {
        sim: None,
        base_url: Some(base_url.url().to_string()),
        data,
        ..modern(true)
    }
}

/// How many times the simulator served a video file.
fn video_downloads(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with("/_sim/videos/"))
        .count()
}

#[tokio::test]
async fn a_cancel_holds_after_a_restart() {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: u32::MAX,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first = Harness::with(on(&sim, None)).await;
    let id = submit_task(&first, json!({"prompt": "slow", "aspect_ratio": "1:1"}))
        .await
        .task
        .task_id;
    first
        .client
        .cancel_task(CancelTaskParams::new(id.as_str()))
        .await
        .unwrap();
    let (_, data) = first.shutdown().await;
    let second = Harness::with(on(&sim, Some(data))).await;
    let after = get(&second, &id).await.unwrap();
    assert_eq!(after.task.status(), TaskStatus::Cancelled);
    second.stop().await;
}

#[tokio::test]
async fn saved_videos_are_not_downloaded_again_by_another_process() {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first = Harness::with(on(&sim, None)).await;
    let arguments = json!({"prompt": "a cat", "aspect_ratio": "1:1", "download": true});
    let id = submit_task(&first, arguments).await.task.task_id;
    let done = until_done(&first, &id).await;
    let saved = structured(&result_of(&done))["local_files"].clone();
    assert_eq!(saved.as_array().map(Vec::len), Some(1), "{saved}");
    let downloads = video_downloads(&sim);
    assert_eq!(downloads, 1);
    let (_, data) = first.shutdown().await;

    let second = Harness::with(on(&sim, Some(data))).await;
    let again = get(&second, &id).await.unwrap();
    assert_eq!(again.task.status(), TaskStatus::Completed);
    assert_eq!(structured(&result_of(&again))["local_files"], saved);
    assert_eq!(video_downloads(&sim), downloads, "saved once, by the first");
    second.stop().await;
}

#[tokio::test]
async fn an_ended_task_stays_ended_whatever_the_upstream_says_later() {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let first = Harness::with(on(&sim, None)).await;
    let finished = submit_task(&first, json!({"prompt": "a cat", "aspect_ratio": "1:1"}))
        .await
        .task
        .task_id;
    let slow = json!({"prompt": "slow [sim:polls=100000]", "aspect_ratio": "1:1"});
    let lost = submit_task(&first, slow).await.task.task_id;
    let done = result_of(&until_done(&first, &finished).await);
    let kling_id = structured(&done)["task_id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&first, &lost).await.unwrap().task.status(),
        TaskStatus::Working
    );
    let (_, data) = first.shutdown().await;

    // Another upstream, which has never heard of either task: the result holds, at no query;
    // the running task can have none, so it fails.
    let forgetful = Simulator::start(SimConfig::default()).await.unwrap();
    let second = Harness::with(on(&forgetful, Some(data))).await;
    let again = get(&second, &finished).await.unwrap();
    assert_eq!(again.task.status(), TaskStatus::Completed);
    assert_eq!(structured(&result_of(&again)), structured(&done));
    assert_eq!(
        forgetful.requests_for(&kling_id),
        0,
        "answered from the store"
    );
    let gone = until_done(&second, &lost).await;
    assert_eq!(gone.task.status(), TaskStatus::Failed, "{gone:?}");
    let (_, data) = second.shutdown().await;

    // Back on the upstream that knows it (still running there): failed it stays.
    let third = Harness::with(on(&sim, Some(data))).await;
    assert_eq!(
        get(&third, &lost).await.unwrap().task.status(),
        TaskStatus::Failed
    );
    assert_eq!(
        get(&third, &finished).await.unwrap().task.status(),
        TaskStatus::Completed
    );
    third.stop().await;
}

/// A stateless 2026-07-28 HTTP client of `server` that declares the tasks extension.
async fn tasks_client(server: &HttpServer) -> RunningService<RoleClient, TestClient> {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let config = StreamableHttpClientTransportConfig::with_uri(server.url.as_str())
        .auth_header(crate::http::TOKEN);
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
    };
    TestClient::with_tasks()
        .serve_with_lifecycle(transport, lifecycle)
        .await
        .unwrap()
}

async fn get_via(client: &RunningService<RoleClient, TestClient>, id: &str) -> GetTaskResult {
    client.get_task(GetTaskParams::new(id)).await.unwrap()
}

#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn a_cancel_through_one_instance_is_seen_by_another() {
    let Some(admin_url) = crate::store_postgres::admin_url() else {
        return;
    };
    let (_, store) = crate::store_postgres::fresh_database(&admin_url).await;
    let sim = Arc::new(
        Simulator::start(SimConfig {
            finish_after_polls: u32::MAX,
            ..SimConfig::default()
        })
        .await
        .unwrap(),
    );
    let secret = "a-task-secret-both-instances-share-0123456789";
    let env = [
        ("KLING_MCP_STORE", store.as_str()),
        ("KLING_MCP_TASK_SECRET", secret),
    ];
    let (a, b) = tokio::join!(
        HttpServer::start_on(&[], sim.clone(), &env),
        HttpServer::start_on(&[], sim.clone(), &env)
    );
    let (a, b) = (tasks_client(&a).await, tasks_client(&b).await);
    let Value::Object(arguments) = json!({"prompt": "slow", "aspect_ratio": "1:1"}) else {
        unreachable!()
    };
    let response = a
        .call_tool_once(CallToolRequestParams::new("generate_video").with_arguments(arguments))
        .await
        .unwrap();
    let CallToolResponse::Task(CreateTaskResult { task, .. }) = response else {
        panic!("expected a task, got {response:?}")
    };
    let id = task.task_id;
    assert_eq!(get_via(&b, &id).await.task.status(), TaskStatus::Working);
    a.cancel_task(CancelTaskParams::new(id.as_str()))
        .await
        .unwrap();
    let seen_by_b = get_via(&b, &id).await;
    assert_eq!(seen_by_b.task.status(), TaskStatus::Cancelled);
    let message = seen_by_b.task.task.status_message.unwrap_or_default();
    assert!(message.contains("keeps running"), "{message}");
    assert_eq!(get_via(&a, &id).await.task.status(), TaskStatus::Cancelled);
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}
