//! The task store across processes: two stdio servers on one SQLite file with one killed
//! mid-submit, the import of a damaged journal, a damaged or unusable store, and (when
//! `KLING_MCP_TEST_POSTGRES` names a server, as `.ci/run` arranges) two HTTP instances on one
//! PostgreSQL database. Run with `cargo test --test it store::`.

use std::collections::BTreeSet;
use std::process::Stdio;

use futures::future::join_all;
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::{Value, json};

use crate::support::{BIN, Harness, Setup, assert_ok, error_meta, structured};

/// A server on a shared store and simulator; `marker` makes its command line unique.
fn on_store(sim: &Simulator, store: &str, marker: &std::path::Path) -> Setup {
    Setup {
        sim: None,
        base_url: Some(sim.url().to_string()),
        args: vec!["--output-dir".into(), marker.display().to_string()],
        env: vec![
            ("KLING_MCP_STORE", store.to_owned()),
            // 25 calls at once from one session.
            ("KLING_MCP_MAX_CALLS", "64".to_owned()),
        ],
        ..Setup::default()
    }
}

async fn generate(h: &Harness, prompt: String) -> rmcp::model::CallToolResult {
    h.call(
        "generate_video",
        json!({"prompt": prompt, "aspect_ratio": "1:1"}),
    )
    .await
}

async fn list(h: &Harness) -> Vec<Value> {
    let listed = h.call("list_video_tasks", json!({"limit": 100})).await;
    assert_ok(&listed);
    structured(&listed)["tasks"].as_array().unwrap().clone()
}

/// The pid of the one process whose command line holds `marker`.
fn pid_of(marker: &str) -> i32 {
    let found: Vec<i32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0]
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn two_processes_on_one_store_lose_nothing_when_one_is_killed() {
    let sim = Simulator::start(SimConfig {
        finish_after_polls: 2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tasks.sqlite3").display().to_string();
    let b_marker = dir.path().join("b-videos");
    let a = Harness::with(on_store(&sim, &store, &dir.path().join("a-videos"))).await;
    let b = Harness::with(on_store(&sim, &store, &b_marker)).await;

    // 25 submits each, at once; 5 of B's are created upstream but never answered, and B is
    // killed while they are in flight: paid tasks whose process died before recording them.
    let mut hanging = Box::pin(join_all(
        (20..25).map(|i| generate(&b, format!("b{i} 一只猫 [sim:hang]"))),
    ));
    let finished = async {
        let a_calls = join_all((0..25).map(|i| generate(&a, format!("a{i} 一只狗"))));
        let b_calls = join_all((0..20).map(|i| generate(&b, format!("b{i}"))));
        let (a_results, b_results) = tokio::join!(a_calls, b_calls);
        sim.wait_for_tasks(50).await;
        a_results.into_iter().chain(b_results).collect::<Vec<_>>()
    };
    let results = tokio::select! {
        _ = &mut hanging => panic!("a hung create was answered"),
        results = finished => results,
    };
    results.iter().for_each(assert_ok);
    let pid = pid_of(&b_marker.display().to_string());
    assert_eq!(unsafe_free_kill(pid), 0, "kill -9 {pid}");
    drop(hanging);
    drop(b);

    // A third process resolves what the killed one left `submitting` (a create timeout after
    // the fact: it looks each up by its external id), then lists everything.
    let mut c_setup = on_store(&sim, &store, &dir.path().join("c-videos"));
    c_setup
        .env
        .push(("KLING_MCP_CREATE_TIMEOUT", "0.05".into()));
    let c = Harness::with(c_setup).await;
    let mut listed = list(&c).await;
    for _ in 0..2000 {
        if listed.iter().all(|t| t["status"] != "submitting") {
            break;
        }
        listed = list(&c).await;
    }
    let upstream: BTreeSet<String> = sim.tasks().into_iter().map(|(id, _)| id).collect();
    let stored: Vec<String> = listed
        .iter()
        .map(|t| t["task_id"].as_str().unwrap_or("(none)").to_owned())
        .collect();
    assert_eq!(upstream.len(), 50);
    assert_eq!(sim.create_count(), 50, "no create was sent twice");
    let odd: Vec<&Value> = listed.iter().filter(|t| t["task_id"].is_null()).collect();
    assert!(odd.is_empty(), "{odd:#?}");
    assert_eq!(stored.len(), 50, "{listed:#?}");
    assert_eq!(
        stored.iter().cloned().collect::<BTreeSet<_>>(),
        upstream,
        "none missing, none duplicated"
    );
    assert!(
        listed.iter().all(|t| t["status"] != "submitting"),
        "{listed:#?}"
    );
    // The other live process sees every task too, not just its own.
    assert_eq!(list(&a).await.len(), 50);
    c.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn waiters_in_two_processes_share_one_poll_per_interval() {
    const JOB: std::time::Duration = std::time::Duration::from_secs(1);
    let sim = Simulator::start(SimConfig {
        finish_after_polls: u32::MAX,
        finish_after: Some(JOB),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tasks.sqlite3").display().to_string();
    let setup = |name: &str| {
        let mut setup = on_store(&sim, &store, &dir.path().join(name));
        setup.env.push(("KLING_MCP_POLL_MIN", "0.05".into()));
        setup
    };
    let (a, b) = tokio::join!(Harness::with(setup("a")), Harness::with(setup("b")));
    let submitted = generate(&a, "a cat".into()).await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let wait = json!({"task_id": task_id, "wait_seconds": 30});
    let (via_a, via_b) = tokio::join!(
        a.call("get_video_task", wait.clone()),
        b.call("get_video_task", wait)
    );
    for result in [&via_a, &via_b] {
        assert_eq!(structured(result)["status"], "succeed");
    }
    let allowed = crate::store_postgres::polls_for_a_job_of(JOB);
    let gets = sim.requests_for(&task_id);
    eprintln!(
        "two processes, one job of {JOB:?}: {gets} upstream queries (one schedule: {allowed})"
    );
    assert!(
        gets <= allowed,
        "{gets} upstream queries; one schedule allows {allowed} for a job of {JOB:?}"
    );
    a.stop().await;
    b.stop().await;
}

/// `kill -9` without `unsafe`: the `kill` program.
fn unsafe_free_kill(pid: i32) -> i32 {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .code()
        .unwrap_or(-1)
}

#[tokio::test]
async fn a_damaged_journal_is_imported_without_losing_a_readable_task() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("tasks.jsonl");
    let line = |id: &str, prompt: &str| {
        json!({"external_task_id": id, "task_id": format!("t-{id}"), "status": "succeed",
            "mode": "text_to_video", "prompt_head": prompt, "model": "kling-video-o1",
            "created_at_ms": 1_700_000_000_000i64, "updated_at_ms": 1_700_000_000_000i64})
        .to_string()
    };
    let mut bytes = Vec::new();
    bytes.extend(format!("{}\n", line("a", "first")).bytes());
    bytes.extend(b"\xff\xfe garbage that is not JSON\n");
    bytes.extend(format!("{}\n", line("b", "一只猫 in the snow")).bytes());
    bytes.extend(format!("{}\n", line("a", "first, last line wins")).bytes());
    let torn = line("c", "一只狗");
    let cut = torn.find('狗').unwrap() + 2; // inside the 3-byte character: a crash mid-append
    bytes.extend(&torn.as_bytes()[..cut]);
    std::fs::write(&journal, &bytes).unwrap();

    let store = dir.path().join("tasks.sqlite3").display().to_string();
    let setup = || Setup {
        env: vec![
            ("KLING_MCP_STORE", store.clone()),
            ("KLING_MCP_JOURNAL", journal.display().to_string()),
        ],
        ..Setup::default()
    };
    let h = Harness::with(setup()).await;
    let tasks = list(&h).await;
    let ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["external_task_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b", "a"]);
    assert_eq!(tasks[1]["prompt_head"], "first, last line wins");
    assert_eq!(tasks[0]["prompt_head"], "一只猫 in the snow");
    assert!(!journal.exists());
    assert!(dir.path().join("tasks.jsonl.imported").exists());
    let stderr = h.stop().await;
    assert!(stderr.contains("deprecated"), "{stderr}");
    assert!(stderr.contains("imported the task journal"), "{stderr}");
    // Started again: nothing imported twice, nothing lost.
    let again = Harness::with(setup()).await;
    assert_eq!(list(&again).await.len(), 2);
    again.stop().await;
}

#[tokio::test]
async fn a_damaged_store_stops_the_server_with_the_path_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.sqlite3");
    let garbage = b"not a database: somebody's precious bytes\n".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let output = tokio::process::Command::new(BIN)
        .env("KLING_MCP_STORE", &path)
        .env_remove("KLING_MCP_JOURNAL")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("aside"), "{stderr}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "left untouched");
}

#[tokio::test]
async fn an_unwritable_store_refuses_to_buy_but_still_answers_queries() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: like a read-only disk, even for root.
    let path = dir.path().join("tasks.sqlite3");
    std::fs::create_dir(&path).unwrap();
    let h = Harness::with(Setup {
        env: vec![("KLING_MCP_STORE", path.display().to_string())],
        ..Setup::default()
    })
    .await;
    let refused = generate(&h, "a cat".into()).await;
    assert_eq!(refused.is_error, Some(true));
    let meta = error_meta(&refused);
    assert_eq!(meta["kind"], "store_unavailable");
    assert_eq!(meta["retryable"], true);
    assert_eq!(
        h.sim().create_count(),
        0,
        "nothing was sent, nothing bought"
    );
    // Queries do not need the store.
    let task = h.sim().tasks();
    assert!(task.is_empty());
    let polled = h.call("get_video_task", json!({"task_id": "123456"})).await;
    assert_eq!(
        error_meta(&polled)["kind"],
        "not_found",
        "answered by the upstream"
    );
    h.stop().await;
}
