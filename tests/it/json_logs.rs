//! `--log-format json`: every stderr line is one JSON object, at debug level too, and neither
//! the API key nor the HTTP token appears in any of them.
//! Run: `cargo test --test it json_logs::`

use serde_json::{Value, json};

use crate::http::{HttpServer, TOKEN, call, submit};
use crate::support::{TEST_KEY, structured};

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_carry_no_secret() {
    let server = HttpServer::start_on(
        &["--log-format", "json"],
        std::sync::Arc::new(
            kling_omni_mcp::simulator::Simulator::start(kling_omni_mcp::simulator::SimConfig {
                finish_after_polls: 2,
                ..Default::default()
            })
            .await
            .unwrap(),
        ),
        &[("RUST_LOG", "debug")],
    )
    .await;
    let client = server.client().await;
    let task_id = submit(&client, json!({"prompt": "a cat", "aspect_ratio": "16:9"})).await;
    let done = call(
        &client,
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 20}),
    )
    .await;
    assert_eq!(structured(&done)["status"], "succeed");
    // A refused request logs its reason; a wrong token must not show up either.
    let refused = server
        .post(
            &[("authorization", "Bearer not-the-token")],
            "{}".to_owned(),
        )
        .await;
    assert_eq!(refused.status(), 401);
    server
        .wait_for_log(&["HTTP request refused", "\"status\":401"])
        .await;
    client.cancel().await.unwrap();

    let log = server.log();
    let mut levels = std::collections::HashSet::new();
    for line in log.lines() {
        let object: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"));
        assert!(object.is_object(), "{line}");
        assert!(object["timestamp"].is_string(), "{line}");
        levels.insert(object["level"].as_str().unwrap().to_owned());
        assert!(object["fields"].is_object(), "{line}");
        assert!(
            !line.contains(TEST_KEY),
            "the API key in a log line: {line}"
        );
        assert!(
            !line.contains(TOKEN),
            "the HTTP token in a log line: {line}"
        );
        assert!(
            !line.contains("not-the-token"),
            "a presented token in a log line: {line}"
        );
    }
    assert!(
        levels.contains("DEBUG") && levels.contains("INFO"),
        "{levels:?}"
    );
    assert!(log.lines().count() > 10, "{log}");
}
