//! The two worlds in one store: a simulated handle never changes a real record, nor a real
//! handle a simulated one; migration 2 marks the tasks of earlier simulators.

use super::tests::{new_task, owner, stores, tid};
use super::*;

#[tokio::test]
async fn the_simulated_world_and_the_real_one_never_touch_each_other() {
    let (_dir, stores) = stores().await;
    for real in stores {
        let sim = real.clone().simulated(true);
        real.insert_submitting(&new_task("real", ""), 10)
            .await
            .unwrap();
        sim.insert_submitting(&new_task("sim", ""), 10)
            .await
            .unwrap();
        // A simulated process sees only its own stale submits, and cannot settle, claim or
        // bind a real one.
        let stale = sim.stale_submitting(&owner(""), 100).await.unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].external_task_id, "sim");
        assert!(stale[0].simulated);
        let real_record = real
            .stale_submitting(&owner(""), 100)
            .await
            .unwrap()
            .remove(0);
        assert!(!real_record.simulated);
        assert!(!sim.claim_recovery(&real_record, 20).await.unwrap());
        assert!(
            !sim.set_submit_outcome("real", StoredStatus::SubmitUncertain, "x", 20)
                .await
                .unwrap()
        );
        assert!(
            !sim.set_created("real", &tid("sim-1-2_p3"), StoredStatus::Submitted, 20)
                .await
                .unwrap()
        );
        // Nor the other way round.
        assert!(
            !real
                .set_created("sim", &tid("86000001"), StoredStatus::Submitted, 20)
                .await
                .unwrap()
        );
        // Each world updates its own.
        assert!(
            real.set_created("real", &tid("86000001"), StoredStatus::Submitted, 20)
                .await
                .unwrap()
        );
        assert!(
            sim.set_created("sim", &tid("sim-1-2_p3"), StoredStatus::Submitted, 20)
                .await
                .unwrap()
        );
        assert!(
            !sim.record_status(
                &tid("86000001"),
                StoredStatus::Failed,
                Some("x"),
                &[],
                None,
                30
            )
            .await
            .unwrap()
        );
        sim.set_local_files(&tid("86000001"), &["/x.mp4".into()], 30)
            .await
            .unwrap();
        let record = real.find(&owner(""), "86000001").await.unwrap().unwrap();
        assert_eq!(record.status, StoredStatus::Submitted);
        assert!(record.local_files.is_empty());
        // A failed real submit's external id is not taken over by a simulated one.
        real.set_submit_outcome("real2", StoredStatus::SubmitFailed, "x", 1)
            .await
            .unwrap();
        real.insert_submitting(&new_task("real2", ""), 10)
            .await
            .unwrap();
        real.set_submit_outcome("real2", StoredStatus::SubmitFailed, "no", 11)
            .await
            .unwrap();
        assert!(matches!(
            sim.insert_submitting(&new_task("real2", ""), 12).await,
            Err(StoreError::ExternalIdTaken { .. })
        ));
        // Listing shows both, each marked; a record is found by either id.
        let listed = real.list(&owner(""), None, 10).await.unwrap();
        assert_eq!(listed.iter().filter(|r| r.simulated).count(), 1);
        let found = sim.find(&owner(""), "sim").await.unwrap().unwrap();
        assert_eq!(found.task_id, Some(tid("sim-1-2_p3")));
        assert!(sim.find(&owner(""), "nothing").await.unwrap().is_none());
        assert!(
            sim.find(&owner("someone-else"), "sim")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[test]
fn migration_2_marks_the_tasks_of_earlier_simulators() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(sql::MIGRATIONS[0]).unwrap();
    let insert = "INSERT INTO tasks (external_task_id, task_id, owner, status, status_rank, mode, prompt_head, model, video_urls, local_files, created_at_ms, updated_at_ms) VALUES (?1, ?2, '', 'succeed', 5, 'text_to_video', 'p', 'kling-video-o1', '[]', '[]', 1, 1)";
    for (external, task_id) in [
        ("a", Some("880000000000000001")),
        ("b", Some("880000000000000042")),
        ("c", Some("860123456789012345")),
        ("d", Some("8800000000000000011")),
        ("e", None),
    ] {
        conn.execute(insert, rusqlite::params![external, task_id])
            .unwrap();
    }
    conn.execute_batch(sql::MIGRATIONS[1]).unwrap();
    let marked: Vec<String> = conn
        .prepare("SELECT external_task_id FROM tasks WHERE simulated = 1 ORDER BY 1")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(marked, ["a", "b"]);
}
