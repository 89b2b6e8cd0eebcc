//! The store's files and bulk paths: a store another user may change is refused, the poll row
//! of a task upstream never answered for is forgotten, and the journal import adds every
//! record in one transaction (on SQLite, and PostgreSQL when it is there).

use super::*;

#[cfg(unix)]
#[tokio::test]
async fn a_store_others_may_write_is_refused_and_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tasks.sqlite3");
    drop(
        Store::open(StoreLocation::Sqlite(file.clone()))
            .await
            .unwrap(),
    );
    let wal = dir.path().join("tasks.sqlite3-wal");
    for (path, loose, tight) in [
        (file.as_path(), 0o666, 0o600),
        (file.as_path(), 0o620, 0o600),
        (dir.path(), 0o777, 0o700),
        (dir.path(), 0o1777, 0o700),
        (wal.as_path(), 0o646, 0o600),
    ] {
        if !path.exists() {
            // Planted beside the store (SQLite removes its own at the last close).
            std::fs::write(path, b"").unwrap();
        }
        mode(path, loose);
        let err = Store::open(StoreLocation::Sqlite(file.clone()))
            .await
            .unwrap_err();
        let StoreError::Exposed(exposed) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(exposed.path, path, "{err}");
        assert_eq!(err.kind(), "store_exposed");
        assert!(exposed.fix().contains("chmod go-w"), "{}", exposed.fix());
        assert!(!err.retryable());
        assert_eq!(
            std::fs::metadata(path).unwrap().permissions().mode() & 0o7777,
            loose,
            "refused, not silently changed"
        );
        mode(path, tight);
        let store = Store::open(StoreLocation::Sqlite(file.clone()))
            .await
            .unwrap();
        store.check_private().unwrap();
    }
}

#[tokio::test]
async fn the_poll_row_of_a_task_never_answered_for_is_forgotten() {
    let (_dir, stores) = stores().await;
    for store in stores {
        let (made_up, real, me) = (tid("123456789"), tid("881"), owner(""));
        for t in [&made_up, &real] {
            assert!(store.claim_poll(t, &me, None, 1000, 4000).await.unwrap());
        }
        store.put_snapshot(&real, &me, "{}", 1500).await.unwrap();
        for t in [&made_up, &real] {
            store.forget_unanswered_poll(t, &me).await.unwrap();
        }
        assert_eq!(store.read_poll(&made_up, &me).await.unwrap(), None);
        assert!(
            store.read_poll(&real, &me).await.unwrap().is_some(),
            "an answered task's poll state stays for the other waiters"
        );
    }
}

/// A journal of `n` tasks, each written twice (the second line wins), plus garbage.
fn journal(n: usize) -> String {
    let mut text = String::new();
    for pass in ["first", "last"] {
        for i in 0..n {
            let line = serde_json::json!({
                "external_task_id": format!("j-{i}"), "task_id": format!("{}", 900_000 + i),
                "status": "succeed", "mode": "text_to_video", "prompt_head": format!("{pass} {i}"),
                "model": "kling-video-o1", "created_at_ms": 1000 + i, "updated_at_ms": 2000 + i
            });
            text.push_str(&format!("{line}\n"));
        }
        text.push_str("not json\n\n");
    }
    text
}

#[tokio::test]
async fn a_large_journal_is_imported_whole_and_only_once() {
    const N: usize = 3_000;
    let (dir, stores) = stores().await;
    for (i, store) in stores.into_iter().enumerate() {
        let path = dir.path().join(format!("tasks-{i}.jsonl"));
        std::fs::write(&path, journal(N)).unwrap();
        let report = import_journal(&store, &path).await.unwrap();
        assert_eq!((report.read, report.added, report.skipped_lines), (N, N, 2));
        let listed = store.list(&Owner::server(), None, 5).await.unwrap();
        assert_eq!(listed[0].external_task_id, format!("j-{}", N - 1));
        assert_eq!(listed[0].prompt_head, format!("last {}", N - 1));
        assert_eq!(store.health().await.unwrap().tasks, N as i64);
        // Read again (a rename that failed): nothing is added twice.
        std::fs::write(&path, journal(N)).unwrap();
        assert_eq!(import_journal(&store, &path).await.unwrap().added, 0);
    }
}

/// The import is one transaction: a read that fails halfway leaves nothing behind.
#[tokio::test]
async fn an_import_that_fails_halfway_writes_nothing() {
    let (_dir, stores) = stores().await;
    for store in stores {
        let rows = (0..1_000).map(|i| match i {
            999 => Err(std::io::Error::other("the disk went away")),
            i => {
                let mut task = new_task(&format!("half-{i}"), "");
                task.prompt_head = "x".into();
                Ok(ops::import_params(&TaskRecord {
                    external_task_id: task.external_task_id,
                    task_id: None,
                    status: StoredStatus::Submitting,
                    message: None,
                    mode: task.mode,
                    prompt_head: task.prompt_head,
                    model: task.model,
                    duration: None,
                    aspect_ratio: None,
                    video_urls: Vec::new(),
                    local_files: Vec::new(),
                    created_at_ms: 1,
                    updated_at_ms: 1,
                    owner: task.owner,
                    simulated: false,
                    units: None,
                }))
            }
        });
        let failed = store.run_each(sql::IMPORT_RECORD, rows).await.unwrap();
        assert_eq!(failed.unwrap_err().to_string(), "the disk went away");
        assert_eq!(store.health().await.unwrap().tasks, 0);
    }
}
