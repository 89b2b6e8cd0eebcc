//! The store under damage and faults: a damaged file, a newer schema, file modes, an
//! unopenable path, and the import of old journals.

use super::*;

#[tokio::test]
async fn a_damaged_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.sqlite3");
    let garbage = b"this is not a database, but somebody's data".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(StoreLocation::Sqlite(path.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.sqlite3");
    drop(
        Store::open(StoreLocation::Sqlite(path.clone()))
            .await
            .unwrap(),
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO kling_schema VALUES (99, 0)", [])
        .unwrap();
    drop(conn);
    let err = Store::open(StoreLocation::Sqlite(path.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
    if let Some(url) = postgres_url().await {
        drop(
            Store::open(StoreLocation::parse(&url).unwrap())
                .await
                .unwrap(),
        );
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute("INSERT INTO kling_schema VALUES (99, 0)")
            .await
            .unwrap();
        let err = Store::open(StoreLocation::parse(&url).unwrap())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 99, .. }),
            "{err:?}"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_is_private_and_processes_share_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/tasks.sqlite3");
    // Two handles stand in for two processes: separate connections on one file.
    let (a, b) = tokio::join!(
        Store::open(StoreLocation::Sqlite(path.clone())),
        Store::open(StoreLocation::Sqlite(path.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let writes = (0..20).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            store
                .insert_submitting(&new_task(&format!("m{i}"), ""), i)
                .await
        }
    });
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    assert_eq!(a.list(&owner(""), None, 100).await.unwrap().len(), 20);
    assert_eq!(b.list(&owner(""), None, 100).await.unwrap().len(), 20);
}

#[tokio::test]
async fn an_unopenable_path_leaves_the_store_unavailable_not_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: opening fails, as on a read-only disk.
    let path = dir.path().join("tasks.sqlite3");
    std::fs::create_dir(&path).unwrap();
    let store = Store::open(StoreLocation::Sqlite(path)).await.unwrap();
    let err = store
        .insert_submitting(&new_task("x", ""), 1)
        .await
        .unwrap_err();
    assert!(err.retryable(), "{err:?}");
    assert_eq!(err.kind(), "store_unavailable");
}

#[tokio::test]
async fn the_journal_is_imported_once_and_renamed() {
    let (dir, stores) = stores().await;
    for (n, store) in stores.into_iter().enumerate() {
        let path = dir.path().join(format!("tasks{n}.jsonl"));
        let mut text = String::new();
        for (id, status, task) in [
            ("a", "succeed", "ta"),
            ("b", "submitting", ""),
            ("a", "succeed", "ta"),
        ] {
            text.push_str(&serde_json::json!({"external_task_id": id, "status": status, "task_id": task, "mode": "text_to_video", "prompt_head": id, "model": "m", "created_at_ms": 1, "updated_at_ms": 1}).to_string());
            text.push('\n');
        }
        text.push_str("{\"torn");
        std::fs::write(&path, text).unwrap();
        store
            .insert_submitting(&new_task("b", ""), 5)
            .await
            .unwrap();
        let report = import_journal(&store, &path).await.unwrap();
        assert_eq!((report.read, report.added, report.skipped_lines), (2, 1, 1));
        assert!(!path.exists());
        assert!(
            report
                .renamed_to
                .unwrap()
                .ends_with(format!("tasks{n}.jsonl.imported"))
        );
        let b = store.list(&owner(""), None, 10).await.unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(
            b.iter()
                .find(|r| r.external_task_id == "b")
                .unwrap()
                .created_at_ms,
            5,
            "stored records win"
        );
        assert_eq!(
            import_journal(&store, &path).await.unwrap(),
            ImportReport::default()
        );
    }
}
