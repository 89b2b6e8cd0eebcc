//! Tool calls never outlive their client: with `--call-deadline 3`, every fault that used to
//! hold a call for minutes (a 60 s `Retry-After`, headers or a body that never come, resets,
//! a create whose reply never comes) is answered at the deadline, with what is known or a
//! retryable error that says when to call again. On the paused clock each answer comes at an
//! exact virtual time, and no fault costs a second of real time. Run with
//! `cargo test --test it inproc::deadlines`.

use std::time::Duration;

use kling_omni_mcp::simulator::{Endpoint, Fault};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use super::{InProc, InSetup, assert_at};
use crate::support::{assert_ok, error_meta, structured, text};

/// The configured call deadline (`--call-deadline`).
const DEADLINE: Duration = Duration::from_secs(3);
/// What each fault would cost without a deadline: its `Retry-After`, or its delay.
const FAULT: Duration = Duration::from_secs(60);

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

async fn start() -> InProc {
    start_with(&["--retry-base-ms", "5"]).await
}

async fn start_with(extra: &[&'static str]) -> InProc {
    // The fast polls (and, from `start`, retries) these tests had in the spawned binary.
    let mut args = vec!["--max-wait", "2", "--call-deadline", "3"];
    args.extend(["--poll-min", "0.02"]);
    args.extend(extra);
    InProc::with(InSetup {
        args,
        ..InSetup::default()
    })
    .await
}

/// Calls a tool; checks that it answered at `at` of virtual time (by the deadline, far before
/// the fault would have let it).
async fn timed(
    h: &InProc,
    what: &str,
    at: Duration,
    tool: &'static str,
    arguments: Value,
) -> CallToolResult {
    let (result, took) = h.timed(tool, arguments).await;
    assert!(at <= DEADLINE && DEADLINE < FAULT);
    assert_at(took, at, &format!("{what}: {}", text(&result)));
    result
}

/// A task to query, made before any fault is armed.
async fn new_task(h: &InProc, prompt: &str) -> String {
    let created = h
        .call(
            "generate_video",
            json!({"prompt": prompt, "aspect_ratio": "16:9"}),
        )
        .await;
    assert_ok(&created);
    structured(&created)["task_id"].as_str().unwrap().to_owned()
}

fn assert_retry_later(result: &CallToolResult, kind: &str, at_least: u64) {
    let meta = error_meta(result);
    assert_eq!(meta["kind"], kind, "{}", text(result));
    assert_eq!(meta["retryable"], true, "{}", text(result));
    let after = meta["retry_after_seconds"].as_u64().unwrap_or(0);
    assert!(after >= at_least, "retry_after_seconds {after}: {meta}");
    assert!(
        text(result).contains("time limit") && text(result).contains("again in about"),
        "says the call stopped and when to call again: {}",
        text(result)
    );
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_is_answered_at_once_with_when_to_call_again() {
    let h = start().await;
    let task_id = new_task(&h, "A cat").await;
    h.sim
        .inject(Endpoint::Query, Fault::RateLimitedFor(FAULT), 100);
    let before = h.sim.requests_for(&task_id);
    let result = timed(
        &h,
        "429 + Retry-After 60",
        Duration::ZERO,
        "get_video_task",
        json!({"task_id": task_id}),
    )
    .await;
    assert_retry_later(&result, "rate_limited", 60);
    assert_eq!(
        h.sim.requests_for(&task_id),
        before + 1,
        "no retry that could not finish in time"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn headers_or_a_body_that_never_come_are_cut_at_the_deadline() {
    let h = start().await;
    let task_id = new_task(&h, "A cat").await;
    for (what, fault) in [
        ("headers after 60 s", Fault::Delay(FAULT)),
        ("a body that never ends", Fault::StallBody),
    ] {
        h.sim.clear_faults();
        h.sim.inject(Endpoint::Query, fault, 100);
        let result = timed(
            &h,
            what,
            DEADLINE,
            "get_video_task",
            json!({"task_id": task_id}),
        )
        .await;
        assert_retry_later(&result, "timeout", 1);
    }
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn repeated_resets_end_by_the_deadline() {
    // Backoff steps of 1, 2, 4, 8 s (jittered): without a deadline up to 15 s of pauses.
    let h = start_with(&["--retry-base-ms", "1000"]).await;
    let task_id = new_task(&h, "A cat").await;
    h.sim.inject(Endpoint::Query, Fault::Reset, 100);
    // The jittered pauses vary; the answer comes by the deadline.
    let (result, took) = h.timed("get_video_task", json!({"task_id": task_id})).await;
    assert!(took <= DEADLINE, "resets: answered after {took:?}");
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "network", "{}", text(&result));
    assert_eq!(meta["retryable"], true);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_wait_with_nothing_heard_ends_in_time_for_one_answer() {
    let h = start().await;
    let task_id = new_task(&h, "A cat").await;
    h.sim
        .inject(Endpoint::Query, Fault::RateLimitedFor(FAULT), 100);
    let result = timed(
        &h,
        "wait 10 s vs 429 + Retry-After 60",
        Duration::from_secs(2),
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 10}),
    )
    .await;
    assert_retry_later(&result, "rate_limited", 60);

    h.sim.clear_faults();
    h.sim.inject(Endpoint::Query, Fault::Delay(FAULT), 100);
    let other = new_task(&h, "A dog").await;
    let result = timed(
        &h,
        "wait 10 s vs headers after 60 s",
        ms(2_750),
        "get_video_task",
        json!({"task_id": other, "wait_seconds": 10}),
    )
    .await;
    assert_retry_later(&result, "timeout", 1);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_short_wait_stays_short_when_the_upstream_hangs() {
    // A long deadline (50 s, so a 5 s reserve): a 1 s wait that heard nothing gets one last
    // query within the reserve, not the whole deadline.
    let h = InProc::with(InSetup {
        args: vec![
            "--max-wait",
            "2",
            "--call-deadline",
            "50",
            "--poll-min",
            "0.02",
        ],
        ..InSetup::default()
    })
    .await;
    let task_id = new_task(&h, "A cat").await;
    h.sim.inject(Endpoint::Query, Fault::StallBody, 100);
    let (result, took) = h
        .timed(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 1}),
        )
        .await;
    assert_at(
        took,
        Duration::from_secs(1 + 5),
        "wait 1 s vs a body that never ends",
    );
    assert_retry_later(&result, "timeout", 1);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_wait_answers_with_the_last_status_when_polls_start_failing() {
    let h = start().await;
    let task_id = new_task(&h, "A slow cat [sim:polls=1000]").await;
    let sim = &h.sim;
    let path = format!("/omni-video/{task_id}");
    let (result, ()) = tokio::join!(
        timed(
            &h,
            "wait 10 s, then 429 + Retry-After 60",
            Duration::from_secs(2),
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 10}),
        ),
        async {
            // Two polls answered, then every poll is refused for a minute.
            sim.wait_until(|log| log.iter().filter(|r| r.path.ends_with(&path)).count() >= 2)
                .await;
            sim.inject(Endpoint::Query, Fault::RateLimitedFor(FAULT), 100);
        }
    );
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
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_create_whose_reply_never_comes_is_found_or_uncertain_and_never_resent() {
    let h = start().await;
    let result = timed(
        &h,
        "create hangs",
        ms(2_250),
        "generate_video",
        json!({"prompt": "A cat [sim:hang]", "aspect_ratio": "16:9"}),
    )
    .await;
    assert_ok(&result);
    let found = structured(&result);
    assert_eq!(
        found["task_id"].as_str(),
        h.sim.tasks().first().map(|(id, _)| id.as_str()),
        "the lookup by external id found the task: {found}"
    );
    assert_eq!(h.sim.create_count(), 1);

    // The lookup cannot answer either: uncertain, at the deadline, still one create.
    h.sim.inject(Endpoint::Query, Fault::Delay(FAULT), 100);
    let result = timed(
        &h,
        "create and lookup hang",
        DEADLINE,
        "generate_video",
        json!({"prompt": "A dog [sim:hang]", "aspect_ratio": "16:9"}),
    )
    .await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "submit_uncertain", "{}", text(&result));
    assert!(meta["external_task_id"].as_str().is_some());
    assert_eq!(h.sim.create_count(), 2, "one create per call, never resent");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_create_refused_for_a_minute_says_nothing_was_created() {
    let h = start().await;
    h.sim
        .inject(Endpoint::Create, Fault::RateLimitedFor(FAULT), 100);
    let result = timed(
        &h,
        "create vs 429 + Retry-After 60",
        Duration::ZERO,
        "generate_video",
        json!({"prompt": "A cat", "aspect_ratio": "16:9"}),
    )
    .await;
    assert_retry_later(&result, "rate_limited", 60);
    assert!(
        text(&result).contains("Nothing was created"),
        "{}",
        text(&result)
    );
    assert_eq!(h.sim.create_count(), 1);
    assert_eq!(h.sim.task_count(), 0);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_download_that_would_outlive_the_call_is_cut_and_keeps_nothing() {
    let h = start().await;
    let done = h
        .run_job(json!({"prompt": "A cat", "aspect_ratio": "16:9"}))
        .await;
    let task_id = structured(&done)["task_id"].as_str().unwrap().to_owned();
    h.sim.inject(Endpoint::Video, Fault::Delay(FAULT), 100);
    let result = timed(
        &h,
        "download vs a video host that answers after 60 s",
        DEADLINE,
        "get_video_task",
        json!({"task_id": task_id, "download": true}),
    )
    .await;
    assert_ok(&result);
    let output = structured(&result);
    assert_eq!(output["status"], "succeed");
    let error = output["download_error"].as_str().unwrap_or_default();
    assert!(error.contains("time limit"), "{output}");
    assert!(output.get("local_files").is_none_or(|f| f == &json!([])));
    let videos = h.data.path().join("videos");
    let left: Vec<_> = std::fs::read_dir(&videos)
        .map(|dir| dir.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing kept in {videos:?}: {left:?}");
    h.stop().await;
}
