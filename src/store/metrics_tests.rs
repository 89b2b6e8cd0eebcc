//! What the store gives the metrics: a name for every statement, and the task counts by status.
//! Run: `cargo test --lib store::metrics_tests`

use super::tests::{new_task, stores, tid};
use super::*;

#[test]
fn every_statement_has_its_own_operation_name() {
    let mut names: Vec<&str> = sql::ALL_STATEMENTS
        .iter()
        .map(|statement| sql::operation(statement))
        .collect();
    assert!(!names.contains(&"other"), "{names:?}");
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "two statements share a name");
    assert_eq!(sql::operation("SELECT 1"), "other");
}

#[tokio::test]
async fn tasks_are_counted_by_status_with_every_status_listed() {
    let (_dir, stores) = stores().await;
    for store in stores {
        for id in ["m-a", "m-b", "m-c"] {
            store.insert_submitting(&new_task(id, ""), 1).await.unwrap();
        }
        store
            .set_created("m-a", &tid("m-a-1"), StoredStatus::Processing, 2)
            .await
            .unwrap();
        let counts = store.count_by_status().await.unwrap();
        assert_eq!(counts.len(), StoredStatus::ALL.len());
        let count = |status| counts.iter().find(|(s, _)| *s == status).unwrap().1;
        assert_eq!(count(StoredStatus::Submitting), 2, "{counts:?}");
        assert_eq!(count(StoredStatus::Processing), 1);
        assert_eq!(count(StoredStatus::Succeed), 0);
    }
}
