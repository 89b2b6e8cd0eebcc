//! Small holes found by the security review (issue 12): odd ids, default image roots, what
//! path errors reveal, and unparseable input on stdio.

use kling_omni_mcp::simulator::{Endpoint, Fault};
use serde_json::json;

use crate::support::{Harness, assert_ok, error_meta, structured, text};

#[tokio::test]
async fn an_external_id_with_a_colon_is_looked_up_after_an_ambiguous_create() {
    let h = Harness::start().await;
    h.sim()
        .inject(Endpoint::Create, Fault::ServerErrorAfterCreate, 1);
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "a cat", "aspect_ratio": "1:1", "external_task_id": "order:42"}),
        )
        .await;
    assert_ok(&result);
    assert_eq!(structured(&result)["external_task_id"], "order:42");
    assert_eq!(h.sim().create_count(), 1, "never re-sent");
    assert_eq!(
        h.sim().requests_for("/order:42"),
        1,
        "looked up by its external id"
    );
    h.stop().await;
}

#[tokio::test]
async fn dot_task_ids_are_refused_before_anything_is_sent() {
    let h = Harness::start().await;
    for task_id in [".", "..", " .. "] {
        let result = h.call("get_video_task", json!({"task_id": task_id})).await;
        let meta = error_meta(&result);
        assert_eq!(
            meta["kind"],
            "invalid_request",
            "{task_id:?}: {}",
            text(&result)
        );
        assert_eq!(meta["field"], "task_id");
    }
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "p", "aspect_ratio": "1:1", "external_task_id": ".."}),
        )
        .await;
    assert_eq!(error_meta(&result)["field"], "external_task_id");
    assert!(h.sim().requests().is_empty(), "{:?}", h.sim().requests());
    h.stop().await;
}
