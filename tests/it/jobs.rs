//! Whole jobs from submit to a final status, in every generation mode and both reply shapes.

use serde_json::{Value, json};

use crate::support::{Harness, assert_ok, structured, text};

/// Checks a result against the tool's declared `outputSchema`: every required property is
/// present, no undeclared property appears, and `status` is one of the declared values.
/// (A full JSON Schema validator would be a heavy dependency for these two flat objects.)
async fn assert_matches_output_schema(h: &Harness, tool: &str, value: &Value) {
    let tools = h.client.list_all_tools().await.unwrap();
    let schema = tools
        .iter()
        .find(|t| t.name == tool)
        .unwrap()
        .output_schema
        .clone()
        .unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for required in schema["required"].as_array().unwrap() {
        assert!(
            value.get(required.as_str().unwrap()).is_some(),
            "missing {required}"
        );
    }
    for key in value.as_object().unwrap().keys() {
        assert!(properties.contains_key(key), "undeclared {key}");
    }
    if let Some(status) = value.get("status") {
        let allowed = properties["status"]["enum"].as_array().unwrap();
        assert!(allowed.contains(status), "{status}");
    }
}

#[tokio::test]
async fn text_to_video_runs_from_submit_to_succeed() {
    let h = Harness::start().await;
    let submitted = h
        .call(
            "generate_video",
            json!({"prompt": "A paper boat drifts down a rainy street", "aspect_ratio": "16:9", "duration": 5, "mode": "std"}),
        )
        .await;
    assert_ok(&submitted);
    let out = structured(&submitted);
    assert_eq!(out["status"], "submitted");
    assert!(
        out["external_task_id"]
            .as_str()
            .unwrap()
            .starts_with("kmcp-")
    );
    assert!(text(&submitted).contains("get_video_task"));
    assert_matches_output_schema(&h, "generate_video", out).await;
    let task_id = out["task_id"].as_str().unwrap().to_owned();

    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let polled = h.call("get_video_task", json!({"task_id": task_id})).await;
        assert_ok(&polled);
        assert_matches_output_schema(&h, "get_video_task", structured(&polled)).await;
        statuses.push(structured(&polled)["status"].as_str().unwrap().to_owned());
        last = Some(polled);
    }
    assert_eq!(statuses, ["submitted", "processing", "succeed"]);
    let done = last.unwrap();
    let out = structured(&done);
    assert_eq!(out["videos"][0]["duration_seconds"], 2.0);
    let url = out["videos"][0]["url"].as_str().unwrap();
    assert!(url.ends_with(&format!("/{task_id}.mp4")), "{url}");
    assert!(text(&done).contains(url));
    assert!(text(&done).contains("expire after about 30 days"));

    // What went on the wire: strict types, every unsettled default explicit.
    let body = h.sim().requests()[0].body.clone().unwrap();
    assert_eq!(body["duration"], "5");
    assert_eq!(body["model_name"], "kling-video-o1");
    assert_eq!(body["mode"], "std");
    assert_eq!(body["external_task_id"], out["external_task_id"]);
    assert!(body.get("image_list").is_none() && body.get("callback_url").is_none());
    h.stop().await;
}

#[tokio::test]
async fn image_and_element_reference_job_keeps_64_bit_element_ids() {
    let h = Harness::start().await;
    let done = h
        .run_job(json!({
            "prompt": "<<<element_1>>> walks through <<<image_1>>>, greets <<<element_2>>>",
            "image_list": [{"image_url": "https://example.com/market.jpg"}],
            "element_list": [{"element_id": 829376081165181009u64}, {"element_id": 829376081165181417u64}],
            "aspect_ratio": "1:1",
            "duration": "7",
            "external_task_id": "my-own-id-1"
        }))
        .await;
    assert_eq!(structured(&done)["status"], "succeed");
    assert_eq!(structured(&done)["external_task_id"], "my-own-id-1");
    let body = h.sim().requests()[0].body.clone().unwrap();
    assert_eq!(
        body["element_list"][0]["element_id"].as_u64(),
        Some(829376081165181009)
    );
    assert_eq!(
        body["element_list"][1]["element_id"].as_u64(),
        Some(829376081165181417)
    );
    assert_eq!(body["duration"], "7");
    h.stop().await;
}

#[tokio::test]
async fn base_video_edit_sends_explicit_defaults_and_no_aspect_ratio() {
    let h = Harness::start().await;
    let done = h
        .run_job(json!({
            "prompt": "Put the crown from <<<image_1>>> on the girl in <<<video_1>>>",
            "image_list": [{"image_url": "https://example.com/crown.png"}],
            "video_list": [{"video_url": "https://example.com/party.mp4"}]
        }))
        .await;
    assert_eq!(structured(&done)["status"], "succeed");
    let body = h.sim().requests()[0].body.clone().unwrap();
    assert_eq!(body["video_list"][0]["refer_type"], "base");
    assert_eq!(body["video_list"][0]["keep_original_sound"], "yes");
    assert!(body.get("aspect_ratio").is_none() && body.get("duration").is_none());
    h.stop().await;
}

#[tokio::test]
async fn first_frame_and_feature_reference_jobs_succeed() {
    let h = Harness::start().await;
    for args in [
        json!({"prompt": "The keeper steps into the storm", "duration": 10,
               "image_list": [{"image_url": "https://example.com/start.png", "type": "first_frame"},
                              {"image_url": "https://example.com/end.png", "type": "END_FRAME"}]}),
        json!({"prompt": "Next shot like <<<video_1>>>", "aspect_ratio": "9:16",
               "video_list": [{"video_url": "https://example.com/tunnel.mp4", "refer_type": "feature"}]}),
    ] {
        assert_eq!(structured(&h.run_job(args).await)["status"], "succeed");
    }
    let feature = h
        .sim()
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .nth(1)
        .unwrap();
    assert_eq!(feature["video_list"][0]["keep_original_sound"], "no");
    h.stop().await;
}

#[tokio::test]
async fn wrapper_shape_replies_normalise_the_same_way() {
    let h = Harness::start().await;
    for prompt in [
        "a cat [sim:wrapper]",
        "a cat [sim:wrapper] [sim:url_in_fail_reason]",
    ] {
        let done = h
            .run_job(json!({"prompt": prompt, "aspect_ratio": "16:9"}))
            .await;
        let out = structured(&done);
        assert_eq!(out["status"], "succeed", "{prompt}");
        assert!(
            out.get("status_message").is_none(),
            "a URL in fail_reason is not an error"
        );
        assert!(out["videos"][0]["url"].as_str().unwrap().ends_with(".mp4"));
    }
    let submitted = h
        .call(
            "generate_video",
            json!({"prompt": "x [sim:wrapper] [sim:polls=9]", "aspect_ratio": "1:1"}),
        )
        .await;
    let id = structured(&submitted)["task_id"].clone();
    h.call("get_video_task", json!({"task_id": id})).await;
    let running = h.call("get_video_task", json!({"task_id": id})).await;
    assert_eq!(structured(&running)["status"], "processing");
    assert_eq!(structured(&running)["progress_percent"], 30);
    assert!(text(&running).contains("(30%)"));
    h.stop().await;
}

#[tokio::test]
async fn a_failed_task_reports_why_and_what_to_do() {
    let h = Harness::start().await;
    for prompt in ["a cat [sim:fail]", "a cat [sim:fail] [sim:wrapper]"] {
        let done = h
            .run_job(json!({"prompt": prompt, "aspect_ratio": "16:9"}))
            .await;
        // A failed job is a successful query: not a tool error.
        assert_ok(&done);
        let out = structured(&done);
        assert_eq!(out["status"], "failed");
        assert!(
            out["status_message"]
                .as_str()
                .unwrap()
                .contains("content-safety")
        );
        assert_eq!(out["videos"], json!([]));
        assert!(text(&done).contains("generate_video again"));
    }
    h.stop().await;
}

#[tokio::test]
async fn dry_run_shows_the_exact_body_and_sends_nothing() {
    let h = Harness::start().await;
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "Edit <<<video_1>>> with <<<image_1>>>", "dry_run": true, "duration": 5,
                   "image_list": [{"image_url": "iVBORw0KGgo".repeat(20)}],
                   "video_list": [{"video_url": "https://example.com/a.mp4", "keep_original_sound": false}]}),
        )
        .await;
    assert_ok(&result);
    let out = structured(&result);
    assert_eq!(out["dry_run"], true);
    assert_eq!(out["mode"], "video_edit");
    assert!(out.get("task_id").is_none());
    let body = &out["request_body"];
    assert_eq!(body["video_list"][0]["keep_original_sound"], "no");
    assert_eq!(body["video_list"][0]["refer_type"], "base");
    assert_eq!(
        body["image_list"][0]["image_url"],
        "<base64 image data, 220 characters>"
    );
    assert!(
        body.get("duration").is_none(),
        "ignored for an edit, so not sent"
    );
    assert!(
        out["warnings"][0]
            .as_str()
            .unwrap()
            .contains("duration is ignored")
    );
    assert!(text(&result).contains("nothing was sent"));
    assert_matches_output_schema(&h, "generate_video", out).await;
    assert!(h.sim().requests().is_empty());
    h.stop().await;
}
