//! Kling 3.0 Omni rules (spec §2.5): one refusal per rule, each naming its field.

use serde_json::{Value, json};

use super::*;

const VID: &str = "https://example.com/a.mp4";

fn request(value: Value) -> CreateTaskRequest {
    serde_json::from_value(value).unwrap()
}

fn fields(value: Value) -> Vec<String> {
    match request(value).validate() {
        Ok(_) => Vec::new(),
        Err(violations) => violations.into_iter().map(|v| v.field).collect(),
    }
}

fn storyboard(shots: Value, duration: u64) -> Value {
    json!({"model_name": "kling-v3-omni", "aspect_ratio": "16:9", "duration": duration,
           "multi_shot": true, "shot_type": "customize", "multi_prompt": shots})
}

/// (rule, accepted request, refused request, field named for the refusal)
fn rule_table() -> Vec<(&'static str, Value, Value, &'static str)> {
    let v3 = |extra: Value| {
        let mut base =
            json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "16:9"});
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    };
    let shot = |seconds: u64| json!({"prompt": "a shot", "duration": seconds});
    vec![
        (
            "v3 text-to-video takes 3-15",
            v3(json!({"duration": 15})),
            v3(json!({"duration": 16})),
            "",
        ),
        (
            "v3 text-to-video takes 7 (O1 would not)",
            v3(json!({"duration": 7})),
            json!({"prompt": "p", "aspect_ratio": "16:9", "duration": 7}),
            "duration",
        ),
        (
            "O1 references stop at 10",
            json!({"model_name": "kling-v3-omni", "prompt": "<<<element_1>>>", "aspect_ratio": "1:1", "duration": 12, "element_list": [{"element_id": 9}]}),
            json!({"prompt": "<<<element_1>>>", "aspect_ratio": "1:1", "duration": 12, "element_list": [{"element_id": 9}]}),
            "duration",
        ),
        (
            "v3 first frame takes 3-15",
            json!({"model_name": "kling-v3-omni", "prompt": "p", "duration": 4, "image_list": [{"image_url": "https://example.com/a.png", "type": "first_frame"}]}),
            json!({"prompt": "p", "duration": 4, "image_list": [{"image_url": "https://example.com/a.png", "type": "first_frame"}]}),
            "duration",
        ),
        (
            "sound only with v3",
            v3(json!({"sound": true})),
            json!({"prompt": "p", "aspect_ratio": "16:9", "sound": true}),
            "sound",
        ),
        (
            "multi_shot only with v3",
            v3(json!({"multi_shot": true, "shot_type": "intelligence"})),
            json!({"prompt": "p", "aspect_ratio": "16:9", "multi_shot": false}),
            "multi_shot",
        ),
        (
            "shot_type only with v3",
            v3(json!({"multi_shot": true, "shot_type": "intelligence"})),
            json!({"prompt": "p", "aspect_ratio": "16:9", "shot_type": "intelligence"}),
            "shot_type",
        ),
        (
            "multi_prompt only with v3",
            storyboard(json!([shot(5)]), 5),
            json!({"prompt": "p", "aspect_ratio": "16:9", "multi_prompt": [shot(5)]}),
            "multi_prompt",
        ),
        (
            "sound off with a video",
            json!({"model_name": "kling-v3-omni", "prompt": "<<<video_1>>>", "sound": false, "video_list": [{"video_url": VID}]}),
            json!({"model_name": "kling-v3-omni", "prompt": "<<<video_1>>>", "sound": "on", "video_list": [{"video_url": VID}]}),
            "sound",
        ),
        (
            "shot_type required with multi_shot",
            v3(json!({"multi_shot": true, "shot_type": "intelligence"})),
            v3(json!({"multi_shot": true})),
            "shot_type",
        ),
        (
            "shot_type only with multi_shot",
            v3(json!({"multi_shot": true, "shot_type": "intelligence"})),
            v3(json!({"multi_shot": false, "shot_type": "intelligence"})),
            "shot_type",
        ),
        (
            "multi_prompt required with customize",
            storyboard(json!([shot(5)]), 5),
            storyboard(json!([]), 5),
            "multi_prompt",
        ),
        (
            "multi_prompt only with customize",
            v3(json!({"multi_shot": true, "shot_type": "intelligence"})),
            v3(json!({"multi_shot": true, "shot_type": "intelligence", "multi_prompt": [shot(5)]})),
            "multi_prompt",
        ),
        (
            "at most 6 shots",
            storyboard(json!(vec![shot(2); 6]), 12),
            storyboard(json!(vec![shot(2); 7]), 14),
            "multi_prompt",
        ),
        (
            "shot prompt 1-512 characters",
            storyboard(json!([{"prompt": "é".repeat(512), "duration": 5}]), 5),
            storyboard(json!([{"prompt": "x".repeat(513), "duration": 5}]), 5),
            "multi_prompt[0].prompt",
        ),
        (
            "shot prompt not empty",
            storyboard(json!([shot(5)]), 5),
            storyboard(json!([{"prompt": " ", "duration": 5}]), 5),
            "multi_prompt[0].prompt",
        ),
        (
            "shot durations sum to duration",
            storyboard(json!([shot(2), shot(3)]), 5),
            storyboard(json!([shot(2), shot(3)]), 6),
            "multi_prompt",
        ),
        (
            "a storyboard needs its duration",
            storyboard(json!([shot(2), shot(3)]), 5),
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "16:9", "multi_shot": true, "shot_type": "customize", "multi_prompt": [shot(2), shot(3)]}),
            "duration",
        ),
        (
            "no customized shots with a base video edit",
            json!({"model_name": "kling-v3-omni", "prompt": "<<<video_1>>> in shots", "multi_shot": true, "shot_type": "intelligence", "video_list": [{"video_url": VID}]}),
            json!({"model_name": "kling-v3-omni", "duration": 5, "multi_shot": true, "shot_type": "customize", "multi_prompt": [{"prompt": "<<<video_1>>>", "duration": 5}], "video_list": [{"video_url": VID}]}),
            "multi_prompt",
        ),
        (
            "a given index is checked",
            storyboard(
                json!([{"index": 1, "prompt": "a", "duration": 2}, {"index": 2, "prompt": "b", "duration": 3}]),
                5,
            ),
            storyboard(
                json!([{"index": 2, "prompt": "a", "duration": 2}, {"index": 1, "prompt": "b", "duration": 3}]),
                5,
            ),
            "multi_prompt[0].index",
        ),
        (
            "prompt optional only for customize",
            storyboard(json!([shot(5)]), 5),
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "16:9", "multi_shot": true, "shot_type": "intelligence"}),
            "prompt",
        ),
        (
            "placeholders are checked in shot prompts",
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "16:9", "duration": 5, "multi_shot": true, "shot_type": "customize",
                   "element_list": [{"element_id": 9}], "multi_prompt": [{"prompt": "<<<element_1>>> waves", "duration": 5}]}),
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "16:9", "duration": 5, "multi_shot": true, "shot_type": "customize",
                   "element_list": [{"element_id": 9}], "multi_prompt": [{"prompt": "<<<element_2>>> waves", "duration": 5}]}),
            "multi_prompt[0].prompt",
        ),
    ]
}

#[test]
fn every_v3_rule_accepts_its_good_case_and_names_the_field_of_its_bad_one() {
    for (rule, good, bad, field) in rule_table() {
        assert_eq!(fields(good.clone()), Vec::<String>::new(), "{rule}: {good}");
        if field.is_empty() {
            // Out of every model's range: refused while parsing, naming the range.
            let err = serde_json::from_value::<CreateTaskRequest>(bad).unwrap_err();
            assert!(err.to_string().contains("from 3 to 15"), "{rule}: {err}");
        } else {
            let named = fields(bad.clone());
            assert!(named.iter().any(|f| f == field), "{rule}: {named:?}");
        }
    }
}

#[test]
fn every_broken_rule_is_named_at_once() {
    let named = fields(
        json!({"prompt": "<<<video_1>>>", "sound": true, "multi_shot": true,
        "shot_type": "customize", "multi_prompt": [{"prompt": "a", "duration": 1}],
        "video_list": [{"video_url": VID}]}),
    );
    for field in ["sound", "multi_shot", "shot_type", "multi_prompt"] {
        assert!(named.iter().any(|f| f == field), "{field}: {named:?}");
    }
    // O1 has no storyboards, so a missing prompt is named too.
    let named = fields(
        json!({"aspect_ratio": "1:1", "multi_shot": true, "shot_type": "customize",
        "multi_prompt": [{"prompt": "a", "duration": 5}], "duration": 5}),
    );
    for field in ["prompt", "multi_shot", "shot_type", "multi_prompt"] {
        assert!(named.iter().any(|f| f == field), "{field}: {named:?}");
    }
}

#[test]
fn shots_are_numbered_in_order_and_sent_as_strings() {
    let valid = request(storyboard(
        json!([{"prompt": "a", "duration": 2}, {"prompt": "b", "duration": "3"}]),
        5,
    ))
    .validate()
    .unwrap();
    let body = serde_json::to_value(valid.body()).unwrap();
    assert_eq!(
        body["multi_prompt"],
        json!([{"index": 1, "prompt": "a", "duration": "2"}, {"index": 2, "prompt": "b", "duration": "3"}])
    );
    assert_eq!(body["duration"], json!("5"));
    assert!(body.get("prompt").is_none(), "{body}");
}

#[test]
fn a_prompt_next_to_customized_shots_is_sent_with_a_warning() {
    let mut value = storyboard(json!([{"prompt": "a", "duration": 5}]), 5);
    value["prompt"] = json!("the whole story");
    let valid = request(value).validate().unwrap();
    assert!(
        valid
            .warnings()
            .iter()
            .any(|w| w.contains("prompt is not used")),
        "{:?}",
        valid.warnings()
    );
}
