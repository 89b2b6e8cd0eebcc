//! The daily spend limits: what counts, the window's end (an injected clock), and racers at a
//! limit (two handles on one SQLite file, as two processes; two pools on one PostgreSQL
//! database, as two instances).

use super::super::spend::{Spent, judge};
use super::*;

const W: i64 = SPEND_WINDOW_MS;

fn videos(n: u32) -> SpendLimits {
    SpendLimits {
        videos: Some(n),
        seconds: None,
    }
}

fn spent(list: &[(i64, u32)]) -> Vec<Spent> {
    list.iter()
        .map(|&(at_ms, seconds)| Spent { at_ms, seconds })
        .collect()
}

#[test]
fn judge_names_the_limit_the_usage_and_when_enough_leaves() {
    let window = spent(&[(100, 5), (200, 10), (300, 5)]);
    assert_eq!(judge(&window, 5, videos(4)), Ok(()));
    let refused = judge(&window, 5, videos(3)).unwrap_err();
    assert_eq!(refused.kind, LimitKind::Videos);
    assert_eq!(
        (refused.limit, refused.used.videos, refused.used.seconds),
        (3, 3, 20)
    );
    assert_eq!(
        refused.retry_at_ms,
        Some(100 + W),
        "the oldest leaving is enough"
    );
    assert_eq!(
        judge(&window, 5, videos(2)).unwrap_err().retry_at_ms,
        Some(200 + W)
    );
    assert_eq!(judge(&window, 5, videos(0)).unwrap_err().retry_at_ms, None);

    let seconds = |n| SpendLimits {
        videos: None,
        seconds: Some(n),
    };
    assert_eq!(judge(&window, 5, seconds(25)), Ok(()));
    let refused = judge(&window, 10, seconds(25)).unwrap_err();
    assert_eq!(
        (refused.kind, refused.asked_seconds),
        (LimitKind::Seconds, 10)
    );
    assert_eq!(
        refused.retry_at_ms,
        Some(100 + W),
        "5 s must leave: the first does"
    );
    assert_eq!(
        judge(&window, 10, seconds(20)).unwrap_err().retry_at_ms,
        Some(200 + W)
    );
    assert_eq!(
        judge(&[], 30, seconds(20)).unwrap_err().retry_at_ms,
        None,
        "never fits"
    );

    let both = SpendLimits {
        videos: Some(3),
        seconds: Some(16),
    };
    let refused = judge(&window, 5, both).unwrap_err();
    assert_eq!(refused.kind, LimitKind::Videos, "videos are named first");
    assert_eq!(
        refused.retry_at_ms,
        Some(200 + W),
        "both must clear: the later time"
    );
}

#[test]
fn a_base_edit_counts_ten_seconds_and_no_duration_five() {
    assert_eq!(billed_seconds("video_edit", None), 10);
    assert_eq!(billed_seconds("video_edit", Some(3)), 10);
    assert_eq!(billed_seconds("text_to_video", Some(8)), 8);
    assert_eq!(billed_seconds("reference", None), 5);
}

#[tokio::test]
async fn the_limit_counts_every_purchase_but_failed_ones_per_owner_and_world_until_the_window_ends()
{
    let (_dir, stores) = stores().await;
    for store in stores {
        let limits = videos(2);
        let admit = |id: &str, who: &str, at: i64| {
            let (store, task) = (store.clone(), new_task(id, who));
            async move {
                store
                    .insert_submitting_within(&task, limits, at)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(admit("a", "", 1000).await, Admission::Recorded);
        assert_eq!(admit("b", "", 2000).await, Admission::Recorded);
        let Admission::Refused(refusal) = admit("c", "", 3000).await else {
            panic!("a third video passed a limit of two");
        };
        assert_eq!(refusal.used.videos, 2);
        assert_eq!(refusal.retry_at_ms, Some(1000 + W));
        assert!(
            store.find(&owner(""), "c").await.unwrap().is_none(),
            "a refusal is not recorded"
        );

        // Another caller, and the other world, have their own counts.
        assert_eq!(admit("d", "other", 3000).await, Admission::Recorded);
        let sim = store.clone().simulated(true);
        let task = new_task("e", "");
        assert_eq!(
            sim.insert_submitting_within(&task, limits, 3000)
                .await
                .unwrap(),
            Admission::Recorded
        );

        // A failed submit bought nothing: it frees its place.
        store
            .set_submit_outcome("b", StoredStatus::SubmitFailed, "refused", 3500)
            .await
            .unwrap();
        assert_eq!(admit("c", "", 4000).await, Admission::Recorded);
        assert!(matches!(admit("f", "", 4001).await, Admission::Refused(_)));
        assert_eq!(
            store.usage(&owner(""), 4001).await.unwrap(),
            Usage {
                videos: 2,
                seconds: 10
            }
        );

        // The window's end, on an injected clock: one moment early refused, then admitted.
        assert!(matches!(
            admit("f", "", 1000 + W - 1).await,
            Admission::Refused(_)
        ));
        assert_eq!(admit("f", "", 1000 + W).await, Admission::Recorded);

        // A taken external id is still told apart from a refusal.
        let err = store
            .insert_submitting_within(&new_task("a", ""), videos(100), 5000)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::ExternalIdTaken { .. }), "{err}");
    }
}

/// Two handles on one store, as two processes (SQLite) or two instances (PostgreSQL).
async fn twin_stores() -> (tempfile::TempDir, Vec<(Store, Store)>) {
    let dir = tempfile::tempdir().unwrap();
    let file = StoreLocation::Sqlite(dir.path().join("tasks.sqlite3"));
    let mut pairs = vec![(
        Store::open(file.clone()).await.unwrap(),
        Store::open(file).await.unwrap(),
    )];
    if let Some(url) = postgres_url().await {
        let location = StoreLocation::parse(&url).unwrap();
        pairs.push((
            Store::open(location.clone()).await.unwrap(),
            Store::open(location).await.unwrap(),
        ));
    }
    (dir, pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racers_at_the_limit_from_two_handles_buy_exactly_the_limit() {
    let (_dir, pairs) = twin_stores().await;
    for (one, two) in pairs {
        let limits = SpendLimits {
            videos: Some(5),
            seconds: Some(1000),
        };
        let racers: Vec<_> = (0..20)
            .map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                tokio::spawn(async move {
                    let task = new_task(&format!("race-{i}"), "racer");
                    store
                        .insert_submitting_within(&task, limits, 10_000 + i)
                        .await
                })
            })
            .collect();
        let mut recorded = 0;
        for racer in racers {
            match racer.await.unwrap().unwrap() {
                Admission::Recorded => recorded += 1,
                Admission::Refused(r) => assert!(r.retry_at_ms.is_some()),
            }
        }
        assert_eq!(recorded, 5, "exactly the limit wins ({:?})", one.location());
        let stored = one.list(&owner("racer"), None, 100).await.unwrap();
        assert_eq!(stored.len(), 5, "refusals leave no record");
    }
}
