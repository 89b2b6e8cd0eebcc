//! Kling 3.0 Omni end to end: the fixtures are what is sent, every rule refuses before
//! sending, and a storyboard with sound runs to `succeed` through a tool call and a task.

use serde_json::{Value, json};

use crate::support::{Harness, assert_ok, error_meta, structured, text};
use crate::tasks::{modern, result_of, submit_task, until_done};

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/comet/requests/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The storyboard of `v3_multi_shot_sound.json`, as an agent writes it.
pub(crate) fn storyboard_args() -> Value {
    json!({
        "model_name": "kling-v3-omni", "mode": "pro", "aspect_ratio": "16:9", "duration": 5,
        "sound": true, "multi_shot": true, "shot_type": "customize",
        "multi_prompt": [
            {"prompt": "A paper boat is set down on a still pond at dawn, close-up", "duration": 2},
            {"prompt": "The boat drifts toward the rising sun, wide shot, birdsong", "duration": 3}
        ],
        "external_task_id": "kmcp-9c41d2e07a6b3f18"
    })
}

/// The body of the one create the simulator received.
fn sent_body(h: &Harness) -> Value {
    let creates: Vec<Value> = h
        .sim()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.body)
        .collect();
    assert_eq!(creates.len(), 1, "{creates:?}");
    creates.into_iter().next().unwrap()
}

#[tokio::test]
async fn the_v3_fixtures_are_exactly_what_the_tool_sends() {
    let text_15s = json!({
        "model_name": "kling-v3-omni",
        "prompt": "A lighthouse keeper climbs the spiral stairs at night and lights the lamp, waves crashing below",
        "mode": "std", "aspect_ratio": "9:16", "duration": 15, "sound": true,
        "external_task_id": "kmcp-51e8a9037c2d6b4f"
    });
    for (name, args) in [
        ("v3_multi_shot_sound", storyboard_args()),
        ("v3_text_to_video_15s", text_15s),
    ] {
        let h = Harness::start().await;
        let dry = h
            .call("generate_video", {
                let mut dry = args.clone();
                dry["dry_run"] = json!(true);
                dry
            })
            .await;
        assert_ok(&dry);
        assert_eq!(
            structured(&dry)["request_body"],
            fixture(name),
            "{name} dry run"
        );
        let result = h.call("generate_video", args).await;
        assert_ok(&result);
        assert_eq!(sent_body(&h), fixture(name), "{name}");
        h.stop().await;
    }
}

#[tokio::test]
async fn every_v3_rule_refuses_by_field_and_sends_nothing() {
    let h = Harness::start().await;
    let with = |extra: Value| {
        let mut args = storyboard_args();
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                args.as_object_mut().unwrap().remove(key);
            } else {
                args[key] = value.clone();
            }
        }
        args
    };
    let shot = |seconds: u64| json!({"prompt": "a shot", "duration": seconds});
    let cases = [
        (with(json!({"model_name": "kling-video-o1"})), "sound"),
        (with(json!({"model_name": "kling-video-o1"})), "multi_shot"),
        (with(json!({"model_name": "kling-video-o1"})), "shot_type"),
        (
            with(json!({"model_name": "kling-video-o1"})),
            "multi_prompt",
        ),
        (
            json!({"prompt": "p", "aspect_ratio": "16:9", "duration": 12}),
            "duration",
        ),
        (
            with(
                json!({"video_list": [{"video_url": "https://example.com/a.mp4", "refer_type": "feature"}]}),
            ),
            "sound",
        ),
        (with(json!({"shot_type": null})), "shot_type"),
        (with(json!({"multi_shot": false})), "shot_type"),
        (with(json!({"multi_prompt": []})), "multi_prompt"),
        (
            with(json!({"shot_type": "intelligence", "prompt": "p"})),
            "multi_prompt",
        ),
        (
            with(json!({"multi_prompt": vec![shot(1); 7], "duration": 7})),
            "multi_prompt",
        ),
        (
            with(json!({"multi_prompt": [{"prompt": "x".repeat(513), "duration": 5}]})),
            "multi_prompt[0].prompt",
        ),
        (with(json!({"duration": 6})), "multi_prompt"),
        (with(json!({"duration": null})), "duration"),
        (
            with(json!({"multi_prompt": [{"index": 2, "prompt": "a", "duration": 5}]})),
            "multi_prompt[0].index",
        ),
        (
            with(json!({"shot_type": "intelligence", "multi_prompt": null})),
            "prompt",
        ),
        (
            with(json!({"multi_prompt": [{"prompt": "<<<image_1>>> drifts", "duration": 5}]})),
            "multi_prompt[0].prompt",
        ),
    ];
    for (args, field) in cases {
        let result = h.call("generate_video", args.clone()).await;
        let meta = error_meta(&result);
        assert_eq!(meta["kind"], "invalid_request", "{args}");
        let named: Vec<&str> = meta["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["field"].as_str().unwrap())
            .collect();
        assert!(named.contains(&field), "{args}: {field} not in {named:?}");
        assert!(
            text(&result).contains(&format!("`{field}`")),
            "{}",
            text(&result)
        );
    }
    let refused = h.call("generate_video", json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "1:1", "duration": 16})).await;
    assert_eq!(error_meta(&refused)["field"], "duration");
    assert!(
        h.sim().requests().is_empty(),
        "nothing reaches the upstream"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_storyboard_with_sound_runs_to_succeed_through_the_tool() {
    let h = Harness::start().await;
    let mut args = storyboard_args();
    args["wait_seconds"] = json!(30);
    let result = h.call("generate_video", args).await;
    assert_ok(&result);
    assert_eq!(
        structured(&result)["status"],
        "succeed",
        "{}",
        text(&result)
    );
    let listed = h.call("list_video_tasks", json!({})).await;
    assert!(
        text(&listed).contains("[v3, sound, 2 shots] A paper boat"),
        "{}",
        text(&listed)
    );
    h.stop().await;
}

#[tokio::test]
async fn a_storyboard_with_sound_runs_to_succeed_as_a_task() {
    let h = Harness::with(modern(true)).await;
    let created = submit_task(&h, storyboard_args()).await;
    let done = until_done(&h, &created.task.task_id).await;
    let result = result_of(&done);
    assert_ok(&result);
    assert_eq!(structured(&result)["status"], "succeed");
    assert_eq!(sent_body(&h)["sound"], "on");
    h.stop().await;
}

#[tokio::test]
async fn an_account_without_v3_sees_the_upstream_refusal_with_a_fix_naming_o1() {
    let h = Harness::start().await;
    let result = h
        .call(
            "generate_video",
            json!({"model_name": "kling-v3-omni", "prompt": "x [sim:error=1103]", "aspect_ratio": "16:9"}),
        )
        .await;
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "permission_denied", "{}", text(&result));
    assert_eq!(meta["code"], "1103");
    let shown = text(&result);
    assert!(
        shown.contains("kling-v3-omni is not enabled for this account"),
        "the upstream words, as they come: {shown}"
    );
    assert!(shown.contains("use kling-video-o1"), "{shown}");
    h.stop().await;
}
