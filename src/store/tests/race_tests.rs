//! Racers on one store: two processes (SQLite handles) or instances (PostgreSQL pools) trying
//! to recover the same stale submit or take the same poll; exactly one wins each.

use super::*;

#[tokio::test]
async fn one_of_two_racers_wins_a_recovery_and_a_poll() {
    let (_dir, stores) = stores().await;
    for store in stores {
        store
            .insert_submitting(&new_task("s", ""), 100)
            .await
            .unwrap();
        assert!(
            store
                .stale_submitting(&owner(""), 100)
                .await
                .unwrap()
                .is_empty()
        );
        let stale = store.stale_submitting(&owner(""), 101).await.unwrap();
        assert_eq!(stale.len(), 1);
        let (a, b) = tokio::join!(
            store.claim_recovery(&stale[0], 200),
            store.claim_recovery(&stale[0], 201)
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one wins");

        assert_eq!(store.read_poll(&tid("t"), &owner("")).await.unwrap(), None);
        let (t, me) = (tid("t"), owner(""));
        let (a, b) = tokio::join!(
            store.claim_poll(&t, &me, None, 1000, 4000),
            store.claim_poll(&t, &me, None, 1000, 4000)
        );
        assert!(a.unwrap() ^ b.unwrap());
        let row = store
            .read_poll(&tid("t"), &owner(""))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.poll_count, row.next_poll_at_ms), (1, 4000));
        assert!(
            !store
                .claim_poll(&tid("t"), &owner(""), Some(1), 3999, 9000)
                .await
                .unwrap(),
            "not due yet"
        );
        let (a, b) = tokio::join!(
            store.claim_poll(&t, &me, Some(1), 4000, 9000),
            store.claim_poll(&t, &me, Some(1), 4001, 9001)
        );
        assert!(a.unwrap() ^ b.unwrap());
        store
            .put_snapshot(&tid("t"), &owner(""), "{\"new\":1}", 5000)
            .await
            .unwrap();
        store
            .put_snapshot(&tid("t"), &owner(""), "{\"old\":1}", 4500)
            .await
            .unwrap();
        let row = store
            .read_poll(&tid("t"), &owner(""))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.poll_count, 2);
        assert_eq!(row.snapshot.as_deref(), Some("{\"new\":1}"));
        assert!(
            store
                .read_poll(&tid("t"), &owner("other-owner"))
                .await
                .unwrap()
                .is_none()
        );
        store.prune_polls(i64::MAX).await.unwrap();
        assert!(
            store
                .read_poll(&tid("t"), &owner(""))
                .await
                .unwrap()
                .is_none()
        );
    }
}
