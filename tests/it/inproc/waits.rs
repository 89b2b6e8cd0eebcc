//! Waits on the paused clock, with the real poll schedule (every 3 s, then 1.5x longer each
//! time): the exact virtual time and upstream query count of a wait that sees the end, and of
//! one capped by `--max-wait`. Run with `cargo test --test it inproc::waits`.

use std::time::Duration;

use serde_json::json;

use super::{InProc, InSetup, assert_at};
use crate::support::{assert_ok, structured};

async fn submit(h: &InProc, prompt: &str) -> String {
    let created = h
        .call(
            "generate_video",
            json!({"prompt": prompt, "aspect_ratio": "16:9"}),
        )
        .await;
    assert_ok(&created);
    structured(&created)["task_id"].as_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn a_wait_ends_on_the_poll_that_sees_the_end() {
    let h = InProc::with(InSetup {
        args: vec!["--poll-min", "3"],
        ..InSetup::default()
    })
    .await;
    let task_id = submit(&h, "A cat").await;
    assert_eq!(h.gets(&task_id), 0, "the create answers without a query");
    let (result, took) = h
        .timed(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 30}),
        )
        .await;
    assert_ok(&result);
    assert_eq!(structured(&result)["status"], "succeed");
    // Polls at 0, 3 and 3 + 4.5 s; the third sees the end.
    assert_at(took, Duration::from_millis(7_500), "wait");
    assert_eq!(h.gets(&task_id), 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_wait_is_capped_by_max_wait_and_says_the_task_runs_on() {
    let h = InProc::with(InSetup {
        args: vec!["--max-wait", "10"],
        ..InSetup::default()
    })
    .await;
    let task_id = submit(&h, "A slow cat [sim:polls=1000]").await;
    let (result, took) = h
        .timed(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 60}),
        )
        .await;
    assert_ok(&result);
    let output = structured(&result);
    assert_eq!(output["status"], "processing", "{output}");
    assert!(
        output["next_step"]
            .as_str()
            .unwrap()
            .contains("get_video_task"),
        "{output}"
    );
    // 60 s asked, 10 s allowed: polls at 0, 3 and 7.5 s; the next would be at 14.25 s.
    assert_at(took, Duration::from_secs(10), "capped wait");
    assert_eq!(h.gets(&task_id), 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn waiters_on_one_task_share_its_polls() {
    let h = InProc::start().await;
    let task_id = submit(&h, "A cat [sim:polls=4]").await;
    let wait = json!({"task_id": task_id, "wait_seconds": 30});
    let ((first, took), (second, _)) = tokio::join!(
        h.timed("get_video_task", wait.clone()),
        h.timed("get_video_task", wait)
    );
    for result in [&first, &second] {
        assert_eq!(structured(result)["status"], "succeed");
    }
    // One schedule for both: 0, 3, 7.5 and 14.25 s.
    assert_at(took, Duration::from_millis(14_250), "shared wait");
    assert_eq!(
        h.gets(&task_id),
        4,
        "one query per interval, not one per waiter"
    );
    h.stop().await;
}
