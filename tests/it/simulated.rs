//! The `--simulate` world: simulated tasks never share an id, any process follows them, they
//! never touch a real record, and their videos are real MP4 files. Run with
//! `cargo test --test it simulated`.

use std::path::Path;

use kling_omni_mcp::comet::TaskId;
use kling_omni_mcp::simulator::{SAMPLE_MP4, SimConfig, Simulator};
use kling_omni_mcp::store::{NewTask, Owner, Store, StoreLocation, StoredStatus, now_ms};
use serde_json::json;

use crate::support::{Harness, Setup, TEST_KEY, error_meta, person, run, structured, text};

/// The store of the data directory, opened as a real (not simulated) process would.
async fn store(data: &Path) -> Store {
    Store::open(StoreLocation::Sqlite(data.join("tasks.sqlite3")))
        .await
        .unwrap()
}

fn owner(text: &str) -> Owner {
    assert_eq!(text, "", "these tests run with the server's own key");
    Owner::server()
}

fn tid(text: &str) -> TaskId {
    TaskId::parse(text).unwrap()
}

/// A server process in the `--simulate` world on the data directory `data`.
async fn simulated_server(data: tempfile::TempDir) -> Harness {
    Harness::with(Setup {
        sim: None,
        key: None,
        args: vec!["--simulate".into()],
        data: Some(data),
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn two_simulated_videos_in_a_row_are_two_tasks_that_play() {
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("out");
    let mut ids = Vec::new();
    for prompt in ["a paper boat on a rainy street", "a lighthouse in a storm"] {
        let ran = run(
            person(data.path()),
            &[
                "generate",
                "--simulate",
                "--prompt",
                prompt,
                "--aspect-ratio",
                "16:9",
                "--wait",
                "--download",
                out.to_str().unwrap(),
                "--json",
            ],
        )
        .await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(
            !ran.stderr.contains("ERROR") && !ran.stderr.contains("WARN"),
            "{}",
            ran.stderr
        );
        let task = ran.json();
        assert_eq!(task["status"], "succeed", "{task}");
        let id = task["task_id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("sim-"), "{id}");
        // The saved file is the simulator's real MP4, named after this task.
        let saved = task["local_files"][0]["path"].as_str().unwrap();
        assert!(saved.ends_with(&format!("{id}.mp4")), "{saved}");
        assert_eq!(std::fs::read(saved).unwrap(), SAMPLE_MP4);
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1]);
    let listed = run(person(data.path()), &["list", "--simulate", "--json"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed = listed.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (entry, id) in listed.iter().zip(ids.iter().rev()) {
        assert_eq!(entry["task_id"], id.as_str());
        assert_eq!(entry["status"], "succeed");
        assert_eq!(entry["simulated"], true);
    }
    // A person's listing marks them too.
    let table = run(person(data.path()), &["list"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_eq!(
        table.stdout.matches("succeed (sim)").count(),
        2,
        "{}",
        table.stdout
    );
}

#[tokio::test]
async fn any_process_follows_a_simulated_task() {
    let data = tempfile::tempdir().unwrap();
    let submitted = run(
        person(data.path()),
        &[
            "generate",
            "--simulate",
            "--prompt",
            "a fox in the snow",
            "--aspect-ratio",
            "1:1",
            "--json",
        ],
    )
    .await;
    assert_eq!(submitted.code, 0, "{}", submitted.stderr);
    let id = submitted.json()["task_id"].as_str().unwrap().to_owned();
    // Another process, another simulator.
    let followed = run(
        person(data.path()),
        &["status", &id, "--wait", "--simulate", "--json"],
    )
    .await;
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(followed.json()["status"], "succeed");
    assert_eq!(followed.json()["task_id"], id.as_str());

    // A real process refuses it without sending anything.
    let upstream = Simulator::start(SimConfig::default()).await.unwrap();
    let mut real = person(data.path());
    real.env("COMETAPI_BASE_URL", upstream.url().as_str())
        .env("COMETAPI_KEY", TEST_KEY);
    let refused = run(real, &["status", &id]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("simulator") && refused.stderr.contains("--simulate"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(upstream.requests().is_empty());

    // An MCP server started later on the same data directory (as the Inspector CLI starts
    // one per call) follows it too, and says so with a marker.
    let server = simulated_server(data).await;
    let answer = server
        .call("get_video_task", json!({"task_id": id, "wait_seconds": 30}))
        .await;
    let answer = structured(&answer);
    assert_eq!(answer["status"], "succeed", "{answer}");
    assert_eq!(answer["simulated"], true);
    let listed = server.call("list_video_tasks", json!({})).await;
    assert_eq!(structured(&listed)["tasks"][0]["simulated"], true);
    server.stop().await;
}

#[tokio::test]
async fn a_simulated_process_never_touches_a_real_record() {
    let data = tempfile::tempdir().unwrap();
    let real = store(data.path()).await;
    // A real purchase whose process died with the create in flight, long ago, and a real
    // task still running.
    let hour_ago = now_ms() - 3_600_000;
    for external in ["kmcp-real-in-flight", "kmcp-real-running"] {
        real.insert_submitting(
            &NewTask {
                external_task_id: external.into(),
                owner: Owner::server(),
                mode: "text_to_video".into(),
                prompt_head: "a paid video".into(),
                model: "kling-video-o1".into(),
                duration: Some(5),
                aspect_ratio: Some("16:9".into()),
            },
            hour_ago,
        )
        .await
        .unwrap();
    }
    real.set_created(
        "kmcp-real-running",
        &tid("860000000000000001"),
        StoredStatus::Processing,
        hour_ago,
    )
    .await
    .unwrap();
    let before = real.list(&owner(""), None, 10).await.unwrap();

    // A newcomer tries the simulator on the same machine: list (which settles stale submits
    // of its own world), status of the real task, and a whole server session.
    let listed = run(person(data.path()), &["list", "--simulate", "--json"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["simulated"].is_null()),
        "{}",
        listed.stdout
    );
    let status = run(
        person(data.path()),
        &["status", "860000000000000001", "--simulate"],
    )
    .await;
    assert_eq!(status.code, 2, "{}", status.stderr);
    assert!(status.stderr.contains("without"), "{}", status.stderr);
    let server = simulated_server(data).await;
    let refused = server
        .call(
            "get_video_task",
            json!({"task_id": "860000000000000001", "download": true}),
        )
        .await;
    let meta = error_meta(&refused);
    assert_eq!(meta["kind"], "real_task", "{}", text(&refused));
    assert_eq!(meta["field"], "task_id");
    let (_, data) = server.shutdown().await;
    assert_eq!(
        store(data.path())
            .await
            .list(&owner(""), None, 10)
            .await
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn without_a_key_nothing_is_recorded_and_stored_submits_answer_from_the_store() {
    let data = tempfile::tempdir().unwrap();
    let upstream = Simulator::start(SimConfig::default()).await.unwrap();
    let mut keyless = person(data.path());
    keyless.env("COMETAPI_BASE_URL", upstream.url().as_str());
    let refused = run(
        keyless,
        &["generate", "--prompt", "a cat", "--aspect-ratio", "1:1"],
    )
    .await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("COMETAPI_KEY"),
        "{}",
        refused.stderr
    );
    let stored = store(data.path()).await;
    assert!(stored.list(&owner(""), None, 10).await.unwrap().is_empty());

    // A submit that never got a task id is answered from the store, by its external id.
    stored
        .insert_submitting(
            &NewTask {
                external_task_id: "kmcp-lost-answer".into(),
                owner: Owner::server(),
                mode: "text_to_video".into(),
                prompt_head: "a cat".into(),
                model: "kling-video-o1".into(),
                duration: None,
                aspect_ratio: Some("1:1".into()),
            },
            now_ms(),
        )
        .await
        .unwrap();
    stored
        .set_submit_outcome(
            "kmcp-lost-answer",
            StoredStatus::SubmitUncertain,
            "the connection broke after the request was sent",
            now_ms(),
        )
        .await
        .unwrap();
    let mut real = person(data.path());
    real.env("COMETAPI_BASE_URL", upstream.url().as_str())
        .env("COMETAPI_KEY", TEST_KEY);
    let status = run(real, &["status", "kmcp-lost-answer"]).await;
    assert_eq!(status.code, 4, "{}", status.stderr);
    assert!(
        status.stdout.contains("submit_uncertain") && status.stdout.contains("connection broke"),
        "{}",
        status.stdout
    );
    assert!(upstream.requests().is_empty());
}

#[tokio::test]
async fn two_simulated_servers_in_a_row_keep_both_tasks() {
    // As the Inspector CLI runs it: a new server process per call, one store.
    let mut data = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    for prompt in ["a red kite", "a blue kite"] {
        let server = simulated_server(data).await;
        let done = server
            .call(
                "generate_video",
                json!({"prompt": prompt, "aspect_ratio": "1:1", "wait_seconds": 30}),
            )
            .await;
        let done = structured(&done);
        assert_eq!(done["status"], "succeed", "{done}");
        ids.push(done["task_id"].as_str().unwrap().to_owned());
        let (log, kept) = server.shutdown().await;
        assert!(!log.contains("ERROR"), "{log}");
        data = kept;
    }
    assert_ne!(ids[0], ids[1]);
    let listed = store(data.path())
        .await
        .list(&owner(""), None, 10)
        .await
        .unwrap();
    let listed: Vec<_> = listed
        .iter()
        .map(|r| {
            (
                r.task_id.clone().unwrap().as_str().to_owned(),
                r.status,
                r.prompt_head.clone(),
                r.simulated,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                ids[1].clone(),
                StoredStatus::Succeed,
                "a blue kite".to_owned(),
                true
            ),
            (
                ids[0].clone(),
                StoredStatus::Succeed,
                "a red kite".to_owned(),
                true
            ),
        ]
    );
}

#[tokio::test]
async fn a_follower_in_another_process_downloads_from_its_own_simulator() {
    let data = tempfile::tempdir().unwrap();
    // The first process polls once (and would share that answer for the next 5 s), then
    // exits: the URLs it answered died with its simulator.
    let mut first = person(data.path());
    first.env("KLING_MCP_POLL_MIN", "5");
    let done = run(
        first,
        &[
            "generate",
            "--simulate",
            "--prompt",
            "a heron [sim:polls=1]",
            "--aspect-ratio",
            "1:1",
            "--wait",
            "--json",
        ],
    )
    .await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    let done = done.json();
    let id = done["task_id"].as_str().unwrap().to_owned();
    let dead_url = done["videos"][0]["url"].as_str().unwrap().to_owned();
    let server = simulated_server(data).await;
    let saved = server
        .call(
            "get_video_task",
            json!({"task_id": id, "wait_seconds": 30, "download": true}),
        )
        .await;
    let saved = structured(&saved);
    assert_eq!(saved["status"], "succeed", "{saved}");
    assert_ne!(saved["videos"][0]["url"], dead_url.as_str());
    let path = saved["local_files"][0]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), SAMPLE_MP4);
    server.stop().await;
}
