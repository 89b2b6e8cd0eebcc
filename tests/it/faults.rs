//! The fault-injection matrix: every scenario × several calls. Each call must end with the
//! right outcome within a bounded time, the server must keep serving, and no tool call may
//! ever send a second create. Prints the tally (run with --nocapture to see it).

use std::time::Duration;

use kling_omni_mcp::simulator::{Endpoint, Fault};
use serde_json::json;

use crate::support::{Harness, Setup, structured};

/// Calls per scenario.
const CALLS: usize = 5;
/// The longest any single call may take: timeouts (0.5 s) plus retries, with margin.
const BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn every_fault_gets_a_clear_answer_and_never_a_double_create() {
    let h = Harness::with(Setup {
        args: [
            "--create-timeout",
            "0.5",
            "--query-timeout",
            "0.5",
            "--max-wait",
            "1",
        ]
        .map(String::from)
        .to_vec(),
        ..Setup::default()
    })
    .await;
    let sim = h.sim();
    // (endpoint, fault, how many in a row, the outcomes a call may have)
    let scenarios: Vec<(Endpoint, Fault, u32, &[&str])> = vec![
        (Endpoint::Create, Fault::RateLimited, 3, &["ok"]),
        (Endpoint::Create, Fault::RateLimited, 10, &["rate_limited"]),
        (
            Endpoint::Create,
            Fault::ServerError,
            1,
            &["submit_uncertain"],
        ),
        (Endpoint::Create, Fault::ServerErrorAfterCreate, 1, &["ok"]),
        (
            Endpoint::Create,
            Fault::Delay(Duration::from_secs(2)),
            1,
            &["submit_uncertain"],
        ),
        (Endpoint::Create, Fault::Reset, 1, &["submit_uncertain"]),
        (Endpoint::Create, Fault::Malformed, 1, &["submit_uncertain"]),
        (Endpoint::Create, Fault::HtmlError, 1, &["submit_uncertain"]),
        (Endpoint::Create, Fault::Huge, 1, &["submit_uncertain"]),
        (Endpoint::Query, Fault::RateLimited, 3, &["ok"]),
        (Endpoint::Query, Fault::ServerError, 2, &["ok"]),
        (
            Endpoint::Query,
            Fault::ServerError,
            10,
            &["upstream_unavailable"],
        ),
        (
            Endpoint::Query,
            Fault::Delay(Duration::from_secs(2)),
            1,
            &["ok"],
        ),
        (Endpoint::Query, Fault::Reset, 2, &["ok"]),
        (Endpoint::Query, Fault::Malformed, 1, &["ok"]),
        (Endpoint::Query, Fault::HtmlError, 1, &["ok"]),
        (Endpoint::Query, Fault::Huge, 10, &["malformed_response"]),
    ];
    let mut calls = 0;
    for (endpoint, fault, times, outcomes) in &scenarios {
        for _ in 0..CALLS {
            let creates_before = sim.create_count();
            let tasks_before = sim.task_count();
            // A finished task to query, made before the fault is armed.
            let task_id = match endpoint {
                Endpoint::Query => {
                    let made = h
                        .call(
                            "generate_video",
                            json!({"prompt": "x [sim:polls=1]", "aspect_ratio": "1:1"}),
                        )
                        .await;
                    structured(&made)["task_id"].as_str().unwrap().to_owned()
                }
                _ => String::new(),
            };
            sim.inject(*endpoint, *fault, *times);
            let call = match endpoint {
                Endpoint::Create => h.call(
                    "generate_video",
                    json!({"prompt": "x", "aspect_ratio": "1:1"}),
                ),
                _ => h.call("get_video_task", json!({"task_id": task_id})),
            };
            let result = tokio::time::timeout(BOUND, call)
                .await
                .unwrap_or_else(|_| panic!("{fault:?} hung"));
            let outcome = match result.is_error {
                Some(true) => result.meta.as_ref().unwrap().0
                    [kling_omni_mcp::server::ERROR_META_KEY]["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                _ => "ok".to_owned(),
            };
            assert!(
                outcomes.contains(&outcome.as_str()),
                "{endpoint:?} {fault:?} x{times}: got {outcome}"
            );
            if *endpoint == Endpoint::Create {
                assert!(
                    sim.task_count() - tasks_before <= 1,
                    "{fault:?}: at most one task per call"
                );
                let posts = sim.create_count() - creates_before;
                // Only provably-unsent creates (rate limits) are sent again.
                let allowed = if *fault == Fault::RateLimited {
                    *times as usize + 1
                } else {
                    1
                };
                assert!(posts <= allowed, "{fault:?}: {posts} creates for one call");
            }
            // Clear what is left of the fault, then the server must serve the next call.
            drain(&h).await;
            calls += 1;
        }
    }
    // A task that never finishes: the wait ends on time with the task still running.
    let never = h
        .call(
            "generate_video",
            json!({"prompt": "x [sim:polls=1000000]", "aspect_ratio": "1:1"}),
        )
        .await;
    let id = structured(&never)["task_id"].clone();
    let waited = tokio::time::timeout(
        BOUND,
        h.call("get_video_task", json!({"task_id": id, "wait_seconds": 30})),
    )
    .await
    .unwrap();
    assert_eq!(structured(&waited)["status"], "processing");
    eprintln!(
        "fault matrix: {} scenarios x {CALLS} calls = {calls} calls, 0 panics, 0 hangs, 0 double submissions",
        scenarios.len()
    );
    let stderr = h.stop().await;
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Disarms what is left of a fault, then checks the server still serves.
async fn drain(h: &Harness) {
    h.sim().clear_faults();
    let probe = h.call("list_video_tasks", json!({"limit": 1})).await;
    assert_ne!(probe.is_error, Some(true), "the server keeps serving");
}
