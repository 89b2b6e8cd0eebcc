//! Small holes found by the security review (issue 12): odd ids, default image roots, what
//! path errors reveal, and unparseable input on stdio.

use kling_omni_mcp::simulator::{Endpoint, Fault};
use serde_json::json;

use crate::support::{Harness, Setup, assert_ok, error_meta, structured, text};

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

#[tokio::test]
async fn started_in_the_root_with_home_at_the_root_no_file_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("any.png");
    std::fs::write(&image, crate::http_hardening::png(800, 800)).unwrap();
    let h = Harness::with(Setup {
        cwd: Some("/".into()),
        env: vec![("HOME", "/".into())],
        ..Setup::default()
    })
    .await;
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1", "dry_run": true,
                   "image_list": [{"image_url": image.display().to_string()}]}),
        )
        .await;
    let message = text(&result);
    assert_eq!(error_meta(&result)["field"], "image_list[0].image_url");
    assert!(message.contains("--allow-dir"), "{message}");
    let stderr = h.stop().await;
    assert!(stderr.contains("local images are disabled"), "{stderr}");
}

#[tokio::test]
async fn outside_the_roots_a_missing_and_an_existing_file_get_the_same_answer() {
    let allowed = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let existing = elsewhere.path().join("secret.png");
    std::fs::write(&existing, crate::http_hardening::png(800, 800)).unwrap();
    let missing = elsewhere.path().join("nothing-here.png");
    let h = Harness::with(Setup {
        args: vec!["--allow-dir".into(), allowed.path().display().to_string()],
        ..Setup::default()
    })
    .await;
    let mut answers = Vec::new();
    for path in [&existing, &missing] {
        let result = h
            .call(
                "generate_video",
                json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1",
                       "image_list": [{"image_url": path.display().to_string()}]}),
            )
            .await;
        let message = text(&result);
        assert!(
            message.contains("outside the allowed directories"),
            "{message}"
        );
        assert!(
            !message.contains(&elsewhere.path().display().to_string()),
            "{message}"
        );
        answers.push(message);
    }
    assert_eq!(answers[0], answers[1]);
    h.stop().await;
}

#[tokio::test]
async fn lines_that_are_not_json_get_a_parse_error_with_a_null_id() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let h_sim = kling_omni_mcp::simulator::Simulator::start(Default::default())
        .await
        .unwrap();
    let mut child = tokio::process::Command::new(crate::support::BIN)
        .env("COMETAPI_KEY", crate::support::TEST_KEY)
        .env("COMETAPI_BASE_URL", h_sim.url().as_str())
        .env("KLING_MCP_STORE", "off")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || -> serde_json::Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("a reply")
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
    // One step at a time: the order of replies to lines sent together is not defined.
    let steps = [
        "this is not json\n".to_owned(),
        format!("{initialize}\n"),
        format!("{initialized}\n{{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \n"),
        format!("{list}\n"),
    ];
    let mut replies = Vec::new();
    for step in steps {
        stdin.write_all(step.as_bytes()).await.unwrap();
        replies.push(next().await);
    }
    for parse_error in [&replies[0], &replies[2]] {
        assert_eq!(parse_error["id"], serde_json::Value::Null, "{parse_error}");
        assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");
    }
    assert_eq!(replies[1]["id"], 1, "initialize is answered");
    assert_eq!(replies[3]["id"], 3);
    assert_eq!(replies[3]["result"]["tools"].as_array().unwrap().len(), 4);
    drop(stdin);
    assert!(child.wait().await.unwrap().success());
}
