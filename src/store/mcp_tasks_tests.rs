//! The MCP task facts on SQLite and (when `KLING_MCP_TEST_POSTGRES` names a server)
//! PostgreSQL: the first end holds, a download claim has one winner and lapses, owners and
//! worlds stay apart.

use super::tests::{owner, stores, tid};
use super::*;

#[tokio::test]
async fn the_first_end_holds_for_good() {
    let (_dir, stores) = stores().await;
    for store in stores {
        assert_eq!(
            store.read_mcp_task(&owner(""), &tid("t1")).await.unwrap(),
            McpTaskRow::default()
        );
        assert!(
            store
                .end_mcp_task(&owner(""), &tid("t1"), McpOutcome::Cancelled, None, 10)
                .await
                .unwrap()
        );
        // Neither a later result nor a later failure replaces it.
        for outcome in [McpOutcome::Completed, McpOutcome::Failed] {
            assert!(
                !store
                    .end_mcp_task(&owner(""), &tid("t1"), outcome, Some("{}"), 20)
                    .await
                    .unwrap()
            );
        }
        let row = store.read_mcp_task(&owner(""), &tid("t1")).await.unwrap();
        let end = McpEnd {
            outcome: McpOutcome::Cancelled,
            detail: None,
            at_ms: 10,
        };
        assert_eq!(row.end, Some(end));
        // A completed task stays completed, with what it completed with.
        store
            .end_mcp_task(
                &owner(""),
                &tid("t2"),
                McpOutcome::Completed,
                Some("result"),
                30,
            )
            .await
            .unwrap();
        store
            .end_mcp_task(&owner(""), &tid("t2"), McpOutcome::Failed, Some("gone"), 40)
            .await
            .unwrap();
        let end = store
            .read_mcp_task(&owner(""), &tid("t2"))
            .await
            .unwrap()
            .end
            .unwrap();
        assert_eq!(end.outcome, McpOutcome::Completed);
        assert_eq!(end.detail.as_deref(), Some("result"));
        // Each owner has its own.
        assert_eq!(
            store
                .read_mcp_task(&owner("other"), &tid("t1"))
                .await
                .unwrap()
                .end,
            None
        );
    }
}

#[tokio::test]
async fn one_of_racing_downloaders_wins_and_a_lapsed_claim_is_taken_over() {
    let (_dir, stores) = stores().await;
    for store in stores {
        let claims = (0..8).map(|i| {
            let store = store.clone();
            async move {
                store
                    .claim_mcp_download(&owner(""), &tid("t1"), &format!("holder-{i}"), 100, 200)
                    .await
                    .unwrap()
            }
        });
        let won = futures::future::join_all(claims).await;
        assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
        let winner = format!("holder-{}", won.iter().position(|w| *w).unwrap());
        let row = store.read_mcp_task(&owner(""), &tid("t1")).await.unwrap();
        assert_eq!(row.download_holder.as_deref(), Some(winner.as_str()));
        assert!(row.downloading(150));
        // The holder renews; nobody else takes a live claim.
        assert!(
            store
                .claim_mcp_download(&owner(""), &tid("t1"), &winner, 150, 250)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_mcp_download(&owner(""), &tid("t1"), "late", 249, 349)
                .await
                .unwrap()
        );
        // A holder that stops renewing (it crashed) loses the claim once it lapses.
        assert!(
            store
                .claim_mcp_download(&owner(""), &tid("t1"), "late", 250, 350)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_mcp_download(&owner(""), &tid("t1"), &winner, 260, 360)
                .await
                .unwrap()
        );
        // Released, it is free at once.
        store
            .release_mcp_download(&owner(""), &tid("t1"), &winner)
            .await
            .unwrap();
        assert!(
            store
                .read_mcp_task(&owner(""), &tid("t1"))
                .await
                .unwrap()
                .downloading(300)
        );
        store
            .release_mcp_download(&owner(""), &tid("t1"), "late")
            .await
            .unwrap();
        assert!(
            !store
                .read_mcp_task(&owner(""), &tid("t1"))
                .await
                .unwrap()
                .downloading(300)
        );
        // An ended task is claimed by nobody, not even to renew.
        assert!(
            store
                .claim_mcp_download(&owner(""), &tid("t1"), "late", 300, 400)
                .await
                .unwrap()
        );
        store
            .end_mcp_task(
                &owner(""),
                &tid("t1"),
                McpOutcome::Completed,
                Some("files"),
                310,
            )
            .await
            .unwrap();
        assert!(
            !store
                .claim_mcp_download(&owner(""), &tid("t1"), "late", 320, 420)
                .await
                .unwrap()
        );
        assert!(
            !store
                .read_mcp_task(&owner(""), &tid("t1"))
                .await
                .unwrap()
                .downloading(320)
        );
    }
}

#[tokio::test]
async fn worlds_stay_apart_and_old_tasks_are_forgotten() {
    let (_dir, stores) = stores().await;
    for real in stores {
        let sim = real.clone().simulated(true);
        sim.claim_mcp_download(&owner(""), &tid("sim-1"), "h", 10, 20)
            .await
            .unwrap();
        // A real handle neither ends nor claims what a simulated one started.
        assert!(
            !real
                .end_mcp_task(&owner(""), &tid("sim-1"), McpOutcome::Cancelled, None, 30)
                .await
                .unwrap()
        );
        assert!(
            !real
                .claim_mcp_download(&owner(""), &tid("sim-1"), "r", 30, 40)
                .await
                .unwrap()
        );
        assert!(
            sim.end_mcp_task(&owner(""), &tid("sim-1"), McpOutcome::Cancelled, None, 30)
                .await
                .unwrap()
        );
        real.end_mcp_task(
            &owner(""),
            &tid("real-1"),
            McpOutcome::Failed,
            Some("gone"),
            1_000,
        )
        .await
        .unwrap();
        real.prune_mcp_tasks(500).await.unwrap();
        assert_eq!(
            real.read_mcp_task(&owner(""), &tid("sim-1"))
                .await
                .unwrap()
                .end,
            None
        );
        assert!(
            real.read_mcp_task(&owner(""), &tid("real-1"))
                .await
                .unwrap()
                .end
                .is_some()
        );
    }
}
