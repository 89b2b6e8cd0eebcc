//! The store's rules, checked on SQLite in a temp dir and, when `KLING_MCP_TEST_POSTGRES`
//! names a server (`.ci/run` starts one), on PostgreSQL too.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// The owner named `text` (`""`: the server's own key).
pub(crate) fn owner(text: &str) -> Owner {
    match text {
        "" => Owner::server(),
        other => Owner::fingerprint(other.to_owned()),
    }
}

/// The task id `text`.
pub(crate) fn tid(text: &str) -> TaskId {
    TaskId::parse(text).unwrap()
}

pub(super) fn new_task(id: &str, owner_text: &str) -> NewTask {
    NewTask {
        external_task_id: id.into(),
        owner: owner(owner_text),
        mode: "text_to_video".into(),
        prompt_head: format!("prompt {id}"),
        model: "kling-video-o1".into(),
        duration: Some(5),
        aspect_ratio: Some("16:9".into()),
    }
}

/// A fresh database on the test PostgreSQL server, or `None` (with a note) when there is none.
pub(crate) async fn postgres_url() -> Option<String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let Ok(admin) = std::env::var("KLING_MCP_TEST_POSTGRES") else {
        assert!(
            std::env::var("KLING_MCP_REQUIRE_POSTGRES").is_err(),
            "KLING_MCP_REQUIRE_POSTGRES is set but KLING_MCP_TEST_POSTGRES is not"
        );
        eprintln!("skipping the PostgreSQL half: KLING_MCP_TEST_POSTGRES is not set");
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!(
        "unit_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let mut config: tokio_postgres::Config = admin.parse().unwrap();
    config.dbname(&name);
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
    };
    Some(format!(
        "postgres://{}@{host}:{}/{name}",
        config.get_user().unwrap_or("postgres"),
        config.get_ports().first().copied().unwrap_or(5432)
    ))
}

/// The tests below run on PostgreSQL too when it is there; this one says, in the test
/// summary, when it was not (ignored) rather than letting them pass on SQLite alone.
#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn the_postgresql_half_of_the_store_tests_runs() {
    assert!(postgres_url().await.is_some());
}

/// A SQLite store in a temp dir, and a PostgreSQL one when available.
pub(super) async fn stores() -> (tempfile::TempDir, Vec<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![
        Store::open(StoreLocation::Sqlite(dir.path().join("tasks.sqlite3")))
            .await
            .unwrap(),
    ];
    if let Some(url) = postgres_url().await {
        stores.push(
            Store::open(StoreLocation::parse(&url).unwrap())
                .await
                .unwrap(),
        );
    }
    (dir, stores)
}

#[test]
fn sqlite_numbers_every_parameter_as_postgres_does() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for migration in sql::MIGRATIONS {
        conn.execute_batch(migration).unwrap();
    }
    conn.execute_batch(sql::CREATE_SCHEMA_TABLE).unwrap();
    for statement in sql::ALL_STATEMENTS {
        let stmt = conn.prepare(statement).unwrap();
        for index in 1..=stmt.parameter_count() {
            assert_eq!(
                stmt.parameter_name(index),
                Some(format!("${index}").as_str()),
                "{statement}"
            );
        }
    }
}

#[tokio::test]
async fn a_task_moves_forward_only() {
    let (_dir, stores) = stores().await;
    for store in stores {
        store
            .insert_submitting(&new_task("e1", ""), 10)
            .await
            .unwrap();
        let taken = store.insert_submitting(&new_task("e1", ""), 11).await;
        assert!(
            matches!(taken, Err(StoreError::ExternalIdTaken { .. })),
            "{taken:?}"
        );
        assert!(
            store
                .set_created("e1", &tid("t1"), StoredStatus::Submitted, 12)
                .await
                .unwrap()
        );
        let urls = vec!["https://cdn/v.mp4".to_owned()];
        assert!(
            store
                .record_status(&tid("t1"), StoredStatus::Processing, None, &[], None, 13)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_status(&tid("t1"), StoredStatus::Processing, None, &[], None, 14)
                .await
                .unwrap(),
            "no change, no write"
        );
        assert!(
            store
                .record_status(
                    &tid("t1"),
                    StoredStatus::Succeed,
                    Some("done"),
                    &urls,
                    None,
                    15
                )
                .await
                .unwrap()
        );
        // The units arrive with a later reply of the same status, and a reply without them
        // does not erase them.
        assert!(
            store
                .record_status(
                    &tid("t1"),
                    StoredStatus::Succeed,
                    Some("done"),
                    &urls,
                    Some(8.5),
                    15
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_status(
                    &tid("t1"),
                    StoredStatus::Succeed,
                    Some("done"),
                    &urls,
                    None,
                    15
                )
                .await
                .unwrap(),
            "no units is no change"
        );
        // A slow process with an old answer cannot move it back, nor to the other end.
        for old in [
            StoredStatus::Processing,
            StoredStatus::Submitted,
            StoredStatus::Failed,
        ] {
            assert!(
                !store
                    .record_status(&tid("t1"), old, None, &[], None, 16)
                    .await
                    .unwrap(),
                "{old}"
            );
        }
        assert!(
            !store
                .set_created("e1", &tid("t1"), StoredStatus::Submitted, 17)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_submit_outcome("e1", StoredStatus::SubmitFailed, "late", 18)
                .await
                .unwrap()
        );
        let record = store.get_by_task_id(&tid("t1")).await.unwrap().unwrap();
        assert_eq!(record.status, StoredStatus::Succeed);
        assert_eq!(record.units, Some(8.5));
        assert_eq!(record.video_urls, urls);
        assert_eq!(record.message.as_deref(), Some("done"));
        store
            .set_local_files(&tid("t1"), &["/v/t1.mp4".into()], 19)
            .await
            .unwrap();
        let record = store.get_by_task_id(&tid("t1")).await.unwrap().unwrap();
        assert_eq!(record.local_files, ["/v/t1.mp4"]);
        assert_eq!(record.created_at_ms, 10);
        assert_eq!(record.updated_at_ms, 19);
    }
}

#[tokio::test]
async fn a_failed_submit_frees_its_external_id_and_uncertain_resolves() {
    let (_dir, stores) = stores().await;
    for store in stores {
        store
            .insert_submitting(&new_task("f", ""), 1)
            .await
            .unwrap();
        assert!(
            store
                .set_submit_outcome("f", StoredStatus::SubmitFailed, "400", 2)
                .await
                .unwrap()
        );
        store
            .insert_submitting(&new_task("f", ""), 3)
            .await
            .unwrap();
        assert!(
            store
                .set_submit_outcome("f", StoredStatus::SubmitUncertain, "reset", 4)
                .await
                .unwrap()
        );
        assert!(
            store
                .set_created("f", &tid("tf"), StoredStatus::Processing, 5)
                .await
                .unwrap()
        );
        let list = store.list(&owner(""), None, 10).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].status, StoredStatus::Processing);
        assert_eq!(list[0].message, None);
    }
}

#[tokio::test]
async fn lists_are_per_owner_newest_first_and_filtered() {
    let (_dir, stores) = stores().await;
    for store in stores {
        for (i, owner) in ["", "k1", "", ""].iter().enumerate() {
            let id = format!("l{i}");
            store
                .insert_submitting(&new_task(&id, owner), i as i64)
                .await
                .unwrap();
        }
        store
            .set_created("l2", &tid("t2"), StoredStatus::Succeed, 9)
            .await
            .unwrap();
        let ids = |records: Vec<TaskRecord>| {
            records
                .into_iter()
                .map(|r| r.external_task_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store.list(&owner(""), None, 10).await.unwrap()),
            ["l3", "l2", "l0"]
        );
        assert_eq!(ids(store.list(&owner(""), None, 1).await.unwrap()), ["l3"]);
        assert_eq!(
            ids(store.list(&owner("k1"), None, 10).await.unwrap()),
            ["l1"]
        );
        assert_eq!(
            ids(store
                .list(&owner(""), Some(StoredStatus::Succeed), 10)
                .await
                .unwrap()),
            ["l2"]
        );
        assert_eq!(
            store.adopt_owner(&owner("k1"), &owner("k2")).await.unwrap(),
            1
        );
        assert_eq!(
            ids(store.list(&owner("k2"), None, 10).await.unwrap()),
            ["l1"]
        );
    }
}

#[tokio::test]
async fn health_reports_version_count_and_writability() {
    let (_dir, stores) = stores().await;
    for store in stores {
        store
            .insert_submitting(&new_task("h", ""), 1)
            .await
            .unwrap();
        let health = store.health().await.unwrap();
        assert_eq!(health.schema_version, sql::SCHEMA_VERSION);
        assert_eq!(health.tasks, 1);
        assert!(health.writable);
    }
}

mod faults_tests;
mod files_tests;
mod race_tests;
mod spend_tests;
