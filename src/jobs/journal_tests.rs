use super::*;

fn record(id: &str, status: &str) -> TaskRecord {
    TaskRecord {
        external_task_id: id.into(),
        task_id: None,
        status: status.into(),
        message: None,
        mode: "text_to_video".into(),
        prompt_head: "a cat".into(),
        model: "kling-video-o1".into(),
        duration: Some(5),
        aspect_ratio: Some("16:9".into()),
        video_urls: Vec::new(),
        local_files: Vec::new(),
        created_at_ms: 1,
        updated_at_ms: 1,
        owner: None,
    }
}

#[test]
fn records_survive_a_reopen_and_the_last_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/tasks.jsonl");
    let journal = Journal::open(&path);
    journal.upsert(record("a", "submitting"), true);
    journal.upsert(record("b", "submitting"), true);
    journal.update("a", |r| {
        r.status = "succeed".into();
        r.task_id = Some("42".into());
    });
    drop(journal);
    let reopened = Journal::open(&path);
    let list = reopened.list(None, 10);
    assert_eq!(
        list.iter()
            .map(|r| r.external_task_id.as_str())
            .collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert_eq!(reopened.find_by_task_id("42").unwrap().status, "succeed");
    assert_eq!(reopened.list(Some("succeed"), 10).len(), 1);
    assert_eq!(reopened.list(None, 1).len(), 1);
}

#[test]
fn a_torn_or_damaged_line_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.jsonl");
    let good = serde_json::to_string(&record("a", "submitted")).unwrap();
    fs::write(
        &path,
        format!("{good}\nnot json at all\n{{\"external_task_id\":\"b\",\"sta"),
    )
    .unwrap();
    let journal = Journal::open(&path);
    assert_eq!(journal.list(None, 10).len(), 1);
    journal.upsert(record("c", "submitting"), false);
    assert_eq!(Journal::open(&path).list(None, 10).len(), 2);
}

#[test]
fn compaction_keeps_the_latest_state_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.jsonl");
    let journal = Journal::open(&path);
    journal.upsert(record("a", "submitting"), false);
    for i in 0..300 {
        journal.update("a", |r| r.message = Some(format!("poll {i}")));
    }
    let lines = fs::read_to_string(&path).unwrap().lines().count();
    assert!(lines < 150, "compacted to {lines} lines");
    let reopened = Journal::open(&path);
    assert_eq!(
        reopened.list(None, 10)[0].message.as_deref(),
        Some("poll 299")
    );
}

#[test]
fn an_unwritable_location_degrades_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    fs::write(&blocker, "").unwrap();
    // A path below a regular file can never be created.
    let journal = Journal::open(&blocker.join("tasks.jsonl"));
    assert!(journal.path().is_none());
    journal.upsert(record("a", "submitting"), true);
    assert_eq!(journal.list(None, 10).len(), 1);
}
