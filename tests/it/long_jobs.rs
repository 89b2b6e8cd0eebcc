//! Long jobs: bounded waits with progress, cancellation, shared polling, downloads, the task store
//! across restarts, and fault injection (a create is never sent twice for one tool call).

use std::time::Duration;

use kling_omni_mcp::simulator::{Endpoint, Fault, SAMPLE_MP4, SimConfig};
use serde_json::json;

use crate::support::{Harness, Setup, assert_ok, error_meta, structured, text};

async fn submit(h: &Harness, polls: u32) -> String {
    let result = h
        .call(
            "generate_video",
            json!({"prompt": format!("a cat [sim:polls={polls}]"), "aspect_ratio": "16:9"}),
        )
        .await;
    assert_ok(&result);
    structured(&result)["task_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_bounded_wait_reports_progress_and_returns_the_finished_task() {
    let h = Harness::start().await;
    let task_id = submit(&h, 4).await;
    let result = h
        .call_with_progress(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 20}),
        )
        .await;
    assert_ok(&result);
    let out = structured(&result);
    assert_eq!(out["status"], "succeed");
    assert!(out["waited_seconds"].as_f64().unwrap() < 20.0);
    let progress = h.progress();
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(
        progress.windows(2).all(|w| w[0].0 < w[1].0),
        "increasing: {progress:?}"
    );
    assert!(
        progress.last().unwrap().1.contains("succeed"),
        "{progress:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn generate_video_can_wait_and_download_in_one_call() {
    let h = Harness::start().await;
    let result = h
        .call("generate_video", json!({"prompt": "a cat [sim:polls=2]", "aspect_ratio": "1:1", "wait_seconds": 20, "download": true}))
        .await;
    assert_ok(&result);
    let out = structured(&result);
    assert_eq!(out["status"], "succeed");
    assert!(out["videos"][0]["url"].as_str().unwrap().ends_with(".mp4"));
    let path = out["local_files"][0]["path"].as_str().unwrap();
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        SAMPLE_MP4.len() as u64
    );
    h.stop().await;
}

#[tokio::test]
async fn a_wait_that_runs_out_says_what_to_do_next() {
    let h = Harness::with(Setup {
        args: vec!["--max-wait".into(), "0.3".into()],
        ..Setup::default()
    })
    .await;
    let task_id = submit(&h, 1000).await;
    let result = h
        .call(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 40}),
        )
        .await;
    assert_ok(&result);
    let out = structured(&result);
    assert_eq!(out["status"], "processing");
    assert!(
        out["waited_seconds"].as_f64().unwrap() < 40.0,
        "capped by --max-wait, not the 40 s asked for"
    );
    assert!(
        out["next_step"]
            .as_str()
            .unwrap()
            .contains("get_video_task")
    );
    h.stop().await;
}

#[tokio::test]
async fn cancelling_a_wait_stops_polling_but_not_the_job() {
    let h = Harness::start().await;
    let task_id = submit(&h, 1000).await;
    let polled_before = h.sim().requests_for(&task_id);
    let waiting = h.call(
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 50}),
    );
    // Once the wait has polled, drop the call: rmcp's client sends notifications/cancelled.
    tokio::select! {
        _ = waiting => panic!("a 50 s wait on an unfinished task ended by itself"),
        () = h.sim().wait_until(|requests| {
            requests.iter().filter(|r| r.path.ends_with(&task_id)).count() > polled_before
        }) => {}
    }
    h.wait_for_log("poll loop ended").await;
    let settled = h.sim().requests_for(&task_id);
    // The server answers the next call at once, and the task is still there.
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        h.call("get_video_task", json!({"task_id": task_id})),
    )
    .await
    .expect("the server is not stuck");
    assert_eq!(structured(&result)["status"], "processing");
    assert_eq!(
        h.sim().requests_for(&task_id),
        settled + 1,
        "only the new call's own query: the poll loop stopped with its last waiter"
    );
    assert_eq!(h.sim().task_count(), 1);
    h.stop().await;
}

#[tokio::test]
async fn concurrent_waits_on_one_task_share_one_poll_stream() {
    let h = Harness::start().await;
    let task_id = submit(&h, 6).await;
    let args = json!({"task_id": task_id, "wait_seconds": 20});
    let (a, b) = tokio::join!(
        h.call("get_video_task", args.clone()),
        h.call("get_video_task", args)
    );
    assert_eq!(structured(&a)["status"], "succeed");
    assert_eq!(structured(&b)["status"], "succeed");
    assert_eq!(
        h.sim().requests_for(&task_id),
        6,
        "one GET per poll, not one per waiter"
    );
    h.stop().await;
}

#[tokio::test]
async fn create_faults_never_send_a_second_create() {
    let h = Harness::with(Setup {
        args: vec!["--create-timeout".into(), "0.5".into()],
        ..Setup::default()
    })
    .await;
    let sim = h.sim();
    let cases = [
        (Fault::Reset, "submit_uncertain"),
        (Fault::Delay(Duration::from_secs(2)), "submit_uncertain"),
        (Fault::Malformed, "submit_uncertain"),
        (Fault::ServerError, "submit_uncertain"),
    ];
    for (fault, kind) in cases {
        let posts_before = sim.create_count();
        sim.inject(Endpoint::Create, fault, 1);
        let result = h
            .call(
                "generate_video",
                json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
            )
            .await;
        let meta = error_meta(&result);
        assert_eq!(meta["kind"], kind, "{fault:?}: {}", text(&result));
        assert!(
            meta["external_task_id"]
                .as_str()
                .unwrap()
                .starts_with("kmcp-")
        );
        assert_eq!(
            sim.create_count() - posts_before,
            1,
            "{fault:?}: exactly one create"
        );
    }
    assert_eq!(sim.task_count(), 0);

    // The task was made but the reply was lost: found again by its external id, not re-sent.
    let posts_before = sim.create_count();
    sim.inject(Endpoint::Create, Fault::ServerErrorAfterCreate, 1);
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
        )
        .await;
    assert_ok(&result);
    assert_eq!(sim.create_count() - posts_before, 1);
    assert_eq!(sim.task_count(), 1);

    // A rate limit provably created nothing, so the create is retried, and succeeds.
    let posts_before = sim.create_count();
    sim.inject(Endpoint::Create, Fault::RateLimited, 2);
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "a dog", "aspect_ratio": "1:1"}),
        )
        .await;
    assert_ok(&result);
    assert_eq!(sim.create_count() - posts_before, 3);
    assert_eq!(sim.task_count(), 2, "one task per tool call");
    h.stop().await;
}

#[tokio::test]
async fn polls_recover_from_transient_faults() {
    let h = Harness::with(Setup {
        args: vec!["--query-timeout".into(), "0.5".into()],
        ..Setup::default()
    })
    .await;
    let task_id = submit(&h, 1).await;
    for fault in [
        Fault::ServerError,
        Fault::Reset,
        Fault::Malformed,
        Fault::RateLimited,
        Fault::Delay(Duration::from_secs(2)),
    ] {
        h.sim().inject(Endpoint::Query, fault, 1);
        let result = h.call("get_video_task", json!({"task_id": task_id})).await;
        assert_ok(&result);
        assert_eq!(structured(&result)["status"], "succeed", "{fault:?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn downloads_land_atomically_and_failures_leave_nothing() {
    let h = Harness::start().await;
    let task_id = submit(&h, 1).await;
    let videos = h.data.path().join("videos");

    h.sim().inject(Endpoint::Video, Fault::Reset, 1);
    let failed = h
        .call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        )
        .await;
    assert_ok(&failed);
    let out = structured(&failed);
    assert!(
        out["download_error"]
            .as_str()
            .unwrap()
            .contains("URLs above still work")
    );
    assert!(
        out["videos"][0]["url"].is_string(),
        "the URL is still returned"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&videos)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "no partial file: {leftovers:?}");

    let result = h
        .call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        )
        .await;
    let out = structured(&result);
    let expected = videos.join(format!("{task_id}.mp4"));
    assert_eq!(
        out["local_files"][0]["path"],
        expected
            .canonicalize()
            .unwrap_or(expected.clone())
            .display()
            .to_string()
    );
    assert_eq!(std::fs::read(&expected).unwrap(), SAMPLE_MP4);
    assert_eq!(
        std::fs::read_dir(&videos).unwrap().count(),
        1,
        "only the finished file"
    );
    let link = result.content.iter().find_map(|c| match c {
        rmcp::model::ContentBlock::ResourceLink(resource) => Some(resource.clone()),
        _ => None,
    });
    let link = link.expect("a resource_link content item");
    assert!(link.uri.starts_with("file://") && link.uri.ends_with(".mp4"));
    assert_eq!(link.mime_type.as_deref(), Some("video/mp4"));
    assert_eq!(link.size, Some(SAMPLE_MP4.len() as u64));

    // The saved video is also listed, and readable, as an MCP resource.
    let resources = h.client.list_all_resources().await.unwrap();
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].uri, link.uri);
    let read = h
        .client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            link.uri.clone(),
        ))
        .await
        .unwrap();
    let contents = serde_json::to_value(&read).unwrap();
    assert_eq!(contents["contents"][0]["mimeType"], "video/mp4");
    let other = h
        .client
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "file:///etc/passwd",
        ))
        .await;
    assert!(other.is_err(), "only downloaded videos can be read");
    h.stop().await;
}

#[tokio::test]
async fn the_task_store_survives_a_restart() {
    let h = Harness::with(Setup {
        sim: Some(SimConfig {
            finish_after_polls: 1,
            ..SimConfig::default()
        }),
        ..Setup::default()
    })
    .await;
    let first = submit(&h, 1).await;
    let second = submit(&h, 1).await;
    h.call("get_video_task", json!({"task_id": first})).await;
    let (_, data) = h.shutdown().await;

    let h = Harness::with(Setup {
        data: Some(data),
        ..Setup::default()
    })
    .await;
    let result = h.call("list_video_tasks", json!({})).await;
    assert_ok(&result);
    let tasks = structured(&result)["tasks"].as_array().unwrap().clone();
    let ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), first.as_str()], "newest first");
    assert_eq!(tasks[1]["status"], "succeed");
    assert!(
        tasks[1]["videos"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with(".mp4")
    );
    assert_eq!(tasks[0]["prompt_head"], "a cat [sim:polls=1]");
    assert_eq!(tasks[0]["mode"], "text_to_video");

    let only = h
        .call("list_video_tasks", json!({"status": "succeed", "limit": 5}))
        .await;
    assert_eq!(structured(&only)["tasks"].as_array().unwrap().len(), 1);
    let bad = h.call("list_video_tasks", json!({"status": "done"})).await;
    assert_eq!(error_meta(&bad)["field"], "status");
    h.stop().await;
}

/// The upstream cost of waiting: one "3-minute job" (time scaled 1:100 — 1.8 s, polls from
/// 30 ms growing to 150 ms, waits capped at 0.5 s like the default 50 s) watched by one caller
/// and by two callers at once, each calling `get_video_task` with `wait_seconds` again and again.
#[tokio::test]
async fn two_waiting_clients_cost_about_what_one_does() {
    async fn run(waiters: usize) -> usize {
        let h = Harness::with(Setup {
            sim: Some(SimConfig {
                finish_after_polls: u32::MAX,
                finish_after: Some(Duration::from_millis(1800)),
                ..SimConfig::default()
            }),
            args: [
                "--max-wait",
                "0.5",
                "--poll-min",
                "0.03",
                "--poll-max",
                "0.15",
            ]
            .map(String::from)
            .to_vec(),
            ..Setup::default()
        })
        .await;
        let task_id = submit(&h, u32::MAX).await;
        let waiter = || async {
            loop {
                let result = h
                    .call(
                        "get_video_task",
                        json!({"task_id": task_id, "wait_seconds": 1}),
                    )
                    .await;
                if structured(&result)["status"] == "succeed" {
                    break;
                }
            }
        };
        match waiters {
            1 => waiter().await,
            _ => {
                tokio::join!(waiter(), waiter());
            }
        }
        let gets = h.sim().requests_for(&task_id);
        h.stop().await;
        gets
    }
    let one = run(1).await;
    let two = run(2).await;
    eprintln!("upstream GETs for one 3-minute job (scaled): one waiter {one}, two waiters {two}");
    assert!(
        two <= one + 3,
        "two waiters share the poll stream: {one} vs {two}"
    );
}

#[tokio::test]
async fn a_task_id_is_checked_once_at_the_door() {
    let h = Harness::start().await;
    let task_id = submit(&h, 1).await;
    // Surrounding spaces are the same task (one poll loop, one answer), not a second one.
    let spaced = h
        .call(
            "get_video_task",
            json!({"task_id": format!(" {task_id} "), "wait_seconds": 5}),
        )
        .await;
    assert_ok(&spaced);
    assert_eq!(structured(&spaced)["task_id"], task_id.as_str());
    // An id that is no path segment is refused before anything is sent or polled.
    let before = h.sim().requests().len();
    for bad in ["../omni-video", "a/b", " ", "."] {
        let refused = h
            .call("get_video_task", json!({"task_id": bad, "wait_seconds": 5}))
            .await;
        assert_eq!(refused.is_error, Some(true), "{bad:?}");
        assert_eq!(error_meta(&refused)["field"], "task_id", "{bad:?}");
    }
    assert_eq!(
        h.sim().requests().len(),
        before,
        "nothing sent for a bad id"
    );
    h.stop().await;
}
