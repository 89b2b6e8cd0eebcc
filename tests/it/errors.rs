//! Every failure comes back as a tool result with `isError: true`, the right kind, and a fix.

use kling_omni_mcp::simulator::SimConfig;
use serde_json::json;

use crate::support::{Harness, Setup, error_meta, text};

#[tokio::test]
async fn each_upstream_error_body_maps_to_its_kind() {
    let h = Harness::start().await;
    let cases = [
        ("1102", "insufficient_balance", false, "Top up"),
        ("quota", "insufficient_balance", false, "Top up"),
        ("1200", "invalid_request", false, "duration must be 5 or 10"),
        ("1301", "content_rejected", false, "Rephrase"),
        ("1303", "rate_limited", true, "Wait"),
        ("5000", "submit_uncertain", false, "Do not resubmit yet"),
        ("token", "auth", false, "COMETAPI_KEY"),
        ("html", "submit_uncertain", false, "HTTP 502"),
    ];
    for (code, kind, retryable, hint) in cases {
        let result = h
            .call(
                "generate_video",
                json!({"prompt": format!("x [sim:error={code}]"), "aspect_ratio": "1:1"}),
            )
            .await;
        let meta = error_meta(&result);
        assert_eq!(meta["kind"], kind, "{code}: {}", text(&result));
        assert_eq!(meta["retryable"], retryable, "{code}");
        assert!(text(&result).contains(hint), "{code}: {}", text(&result));
        assert!(
            text(&result).starts_with(&format!("Error [{kind}]")),
            "{code}"
        );
    }
    let meta = error_meta(
        &h.call(
            "generate_video",
            json!({"prompt": "x [sim:error=1102]", "aspect_ratio": "1:1"}),
        )
        .await,
    );
    assert_eq!(meta["status"], 429);
    assert_eq!(meta["code"], "1102");
    assert!(meta["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    h.stop().await;
}

#[tokio::test]
async fn arguments_that_do_not_deserialize_are_tool_errors_naming_the_field() {
    let h = Harness::start().await;
    let cases = [
        (
            json!({"prompt": "p", "aspect_ratio": "4:3"}),
            "aspect_ratio",
            "expected one of `16:9`, `9:16`, `1:1`",
        ),
        (json!({"prompt": 42}), "prompt", "invalid type"),
        (
            json!({"prompt": "p", "duration": 16}),
            "duration",
            "from 3 to 15",
        ),
        (
            json!({"prompt": "p", "image_list": [{"image_url": "u", "type": "last"}]}),
            "image_list[0].type",
            "`first_frame` or `end_frame`",
        ),
        (
            json!({"prompt": "p", "element_list": [{"element_id": "12"}]}),
            "element_list[0].element_id",
            "invalid type",
        ),
        (
            json!({"prompt": "p", "negative_prompt": "blur"}),
            "",
            "unknown field `negative_prompt`",
        ),
        (json!({}), "", "`prompt` is empty"),
    ];
    for (args, field, reason) in cases {
        let result = h.call("generate_video", args.clone()).await;
        let meta = error_meta(&result);
        assert_eq!(meta["kind"], "invalid_request", "{args}");
        if !field.is_empty() {
            assert_eq!(meta["field"], field, "{args}");
        }
        assert!(text(&result).contains(reason), "{args}: {}", text(&result));
        assert!(text(&result).contains("Fix:"), "{args}");
    }
    let result = h.call("get_video_task", json!({"task_id": "../etc"})).await;
    assert_eq!(error_meta(&result)["field"], "task_id");
    let result = h.call("get_video_task", json!({})).await;
    assert!(text(&result).contains("missing field `task_id`"));
    assert_eq!(
        h.sim().requests().len(),
        0,
        "bad input never reaches the upstream"
    );
    h.stop().await;
}

#[tokio::test]
async fn rule_violations_are_all_reported_and_nothing_is_sent() {
    let h = Harness::start().await;
    let cases = [
        (json!({"prompt": "a cat"}), vec!["aspect_ratio"]),
        (
            json!({"prompt": "a cat", "aspect_ratio": "1:1", "duration": 7}),
            vec!["duration"],
        ),
        (
            json!({"prompt": "<<<image_2>>>", "duration": 3,
                   "image_list": [{"image_url": "https://example.com/a.png", "type": "end_frame"}]}),
            vec!["prompt", "image_list[0].type", "aspect_ratio"],
        ),
        (
            json!({"prompt": "p", "video_list": [{"video_url": "/home/me/clip.mp4"}]}),
            vec!["video_list[0].video_url"],
        ),
        (
            json!({"prompt": "p", "aspect_ratio": "1:1", "callback_url": "http://x", "external_task_id": "a b"}),
            vec!["callback_url", "external_task_id"],
        ),
    ];
    for (args, expected) in cases {
        let result = h.call("generate_video", args.clone()).await;
        let meta = error_meta(&result);
        assert_eq!(meta["kind"], "invalid_request", "{args}");
        let named: Vec<&str> = meta["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["field"].as_str().unwrap())
            .collect();
        for field in &expected {
            assert!(named.contains(field), "{args}: {field} not in {named:?}");
            assert!(
                text(&result).contains(&format!("`{field}`")),
                "{}",
                text(&result)
            );
        }
        assert!(
            text(&result).starts_with("Error [invalid_request]: Nothing was sent"),
            "{}",
            text(&result)
        );
    }
    assert!(
        h.sim().requests().is_empty(),
        "no invalid request reaches the upstream"
    );
    h.stop().await;
}

#[tokio::test]
async fn unknown_task_is_not_found() {
    let h = Harness::start().await;
    let result = h
        .call("get_video_task", json!({"task_id": "123456789012345678"}))
        .await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "not_found");
    assert!(text(&result).contains("Check the task_id"));
    h.stop().await;
}

#[tokio::test]
async fn missing_key_still_lists_tools_and_says_how_to_set_it() {
    let h = Harness::with(Setup {
        key: None,
        ..Setup::default()
    })
    .await;
    assert_eq!(h.client.list_all_tools().await.unwrap().len(), 4);
    for (tool, args) in [
        (
            "generate_video",
            json!({"prompt": "p", "aspect_ratio": "1:1"}),
        ),
        ("get_video_task", json!({"task_id": "1"})),
    ] {
        let result = h.call(tool, args).await;
        assert_eq!(error_meta(&result)["kind"], "missing_api_key");
        assert!(text(&result).contains("COMETAPI_KEY"));
    }
    assert!(
        h.sim().requests().is_empty(),
        "nothing is sent without a key"
    );
    h.stop().await;
}

#[tokio::test]
async fn wrong_key_is_an_auth_error() {
    let h = Harness::with(Setup {
        sim: Some(SimConfig {
            required_key: Some("sk-the-right-one".into()),
            ..SimConfig::default()
        }),
        ..Setup::default()
    })
    .await;
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "p", "aspect_ratio": "1:1"}),
        )
        .await;
    assert_eq!(error_meta(&result)["kind"], "auth");
    assert!(text(&result).contains("invalid token"));
    assert_eq!(
        h.sim().requests()[0].authorization.as_deref(),
        Some("Bearer sk-test-0123456789abcdef")
    );
    h.stop().await;
}

#[tokio::test]
async fn a_wrong_base_url_is_reported_with_status_url_and_first_bytes() {
    let sim = kling_omni_mcp::simulator::Simulator::start(SimConfig::default())
        .await
        .unwrap();
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(format!("{}wrong-prefix", sim.url())),
        ..Setup::default()
    })
    .await;
    let result = h.call("get_video_task", json!({"task_id": "1"})).await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "malformed_response");
    let message = text(&result);
    assert!(
        message.contains("HTTP 404") && message.contains("wrong-prefix"),
        "{message}"
    );
    assert!(message.contains("<!DOCTYPE html>"), "{message}");
    assert!(message.contains("COMETAPI_BASE_URL"), "{message}");
    h.stop().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_network_error() {
    // Bind then drop a listener to get a loopback port that refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(format!("http://127.0.0.1:{port}")),
        ..Setup::default()
    })
    .await;
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "p", "aspect_ratio": "1:1"}),
        )
        .await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "network");
    assert_eq!(meta["retryable"], true);
    // Connection refused: the create certainly never arrived, so no double-billing warning.
    assert!(
        !text(&result).contains("may have been created"),
        "{}",
        text(&result)
    );
    h.stop().await;
}
