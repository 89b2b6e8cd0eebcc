use serde_json::{Value, json};

use super::*;

macro_rules! request_fixture {
    ($name:literal) => {
        include_str!(concat!(
            "../../../tests/fixtures/comet/requests/",
            $name,
            ".json"
        ))
    };
}

const REQUEST_FIXTURES: &[(&str, &str)] = &[
    ("text_to_video", request_fixture!("text_to_video")),
    ("first_frame", request_fixture!("first_frame")),
    ("first_end_frame", request_fixture!("first_end_frame")),
    (
        "image_element_reference",
        request_fixture!("image_element_reference"),
    ),
    ("video_base_edit", request_fixture!("video_base_edit")),
    (
        "video_feature_reference",
        request_fixture!("video_feature_reference"),
    ),
    (
        "v3_multi_shot_sound",
        request_fixture!("v3_multi_shot_sound"),
    ),
    (
        "v3_text_to_video_15s",
        request_fixture!("v3_text_to_video_15s"),
    ),
];

#[test]
fn every_request_fixture_round_trips_byte_for_byte_as_json() {
    for (name, text) in REQUEST_FIXTURES {
        let expected: Value = serde_json::from_str(text).unwrap();
        let request: CreateTaskRequest = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_value(&request).unwrap(), expected, "{name}");
        // The fixtures already carry every wire default, so `for_wire` must not change them.
        assert_eq!(request.for_wire(), request, "{name}");
    }
}

#[test]
fn none_is_never_serialised() {
    let body = serde_json::to_value(CreateTaskRequest::text("a cat")).unwrap();
    assert_eq!(
        body,
        json!({"model_name": "kling-video-o1", "prompt": "a cat"})
    );
    let video = VideoInput {
        video_url: "https://example.com/a.mp4".into(),
        refer_type: None,
        keep_original_sound: None,
    };
    assert_eq!(
        serde_json::to_value(video).unwrap(),
        json!({"video_url": "https://example.com/a.mp4"})
    );
}

#[test]
fn element_ids_above_2_pow_53_stay_exact() {
    let request: CreateTaskRequest = serde_json::from_str(
        r#"{"prompt":"p","element_list":[{"element_id":829376081165181009}]}"#,
    )
    .unwrap();
    assert_eq!(request.element_list[0].element_id, 829_376_081_165_181_009);
    let text = serde_json::to_string(&request).unwrap();
    assert!(
        text.contains(r#""element_id":829376081165181009"#),
        "{text}"
    );
}

#[test]
fn element_ids_must_be_json_integers() {
    for bad in [json!("829376081165181009"), json!(1.5), json!(-3)] {
        let body = json!({"prompt": "p", "element_list": [{"element_id": bad}]});
        assert!(serde_json::from_value::<CreateTaskRequest>(body).is_err());
    }
}

#[test]
fn duration_is_taken_as_number_or_string_and_sent_as_string() {
    for input in [json!(7), json!("7"), json!(7.0), json!(" 7 ")] {
        let body = json!({"prompt": "p", "duration": input});
        let request: CreateTaskRequest = serde_json::from_value(body).unwrap();
        assert_eq!(
            serde_json::to_value(&request).unwrap()["duration"],
            json!("7")
        );
    }
}

#[test]
fn duration_out_of_range_is_refused_with_the_range() {
    for input in [json!(2), json!(16), json!("ten"), json!(5.5), json!(-1)] {
        let body = json!({"prompt": "p", "duration": input});
        let err = serde_json::from_value::<CreateTaskRequest>(body).unwrap_err();
        assert!(
            err.to_string().contains("whole seconds from 3 to 15")
                || err.to_string().contains("invalid type"),
            "{input}: {err}"
        );
    }
}

#[test]
fn unknown_fields_are_refused_not_dropped() {
    let body = json!({"prompt": "p", "negative_prompt": "blur"});
    let err = serde_json::from_value::<CreateTaskRequest>(body).unwrap_err();
    assert!(err.to_string().contains("unknown field `negative_prompt`"));
}

#[test]
fn for_wire_fills_unsettled_defaults_and_an_external_id() {
    let mut request = CreateTaskRequest::text("p");
    request.video_list = vec![
        VideoInput {
            video_url: "https://example.com/a.mp4".into(),
            refer_type: None,
            keep_original_sound: None,
        },
        VideoInput {
            video_url: "https://example.com/b.mp4".into(),
            refer_type: Some(ReferType::Feature),
            keep_original_sound: None,
        },
    ];
    let wire = serde_json::to_value(request.for_wire()).unwrap();
    assert_eq!(wire["mode"], json!("pro"));
    assert_eq!(wire["video_list"][0]["refer_type"], json!("base"));
    assert_eq!(wire["video_list"][0]["keep_original_sound"], json!("yes"));
    assert_eq!(wire["video_list"][1]["keep_original_sound"], json!("no"));
    let id = wire["external_task_id"].as_str().unwrap();
    assert!(id.starts_with("kmcp-") && id.len() == 37, "{id}");
    assert_ne!(new_external_task_id(), new_external_task_id());
}

#[test]
fn a_given_external_id_is_kept() {
    let mut request = CreateTaskRequest::text("p");
    request.external_task_id = Some("mine-1".into());
    assert_eq!(
        request.for_wire().external_task_id.as_deref(),
        Some("mine-1")
    );
}

#[test]
fn sound_is_taken_as_a_boolean_or_on_off_and_sent_as_on_off() {
    for (input, wire) in [
        (json!(true), "on"),
        (json!(false), "off"),
        (json!("ON"), "on"),
    ] {
        let body = json!({"model_name": "kling-v3-omni", "prompt": "p", "sound": input});
        let request: CreateTaskRequest = serde_json::from_value(body).unwrap();
        assert_eq!(
            serde_json::to_value(&request).unwrap()["sound"],
            json!(wire)
        );
    }
}

#[test]
fn the_v3_fields_are_left_out_when_absent() {
    let text = serde_json::to_string(&CreateTaskRequest::text("p").for_wire()).unwrap();
    for field in ["sound", "multi_shot", "shot_type", "multi_prompt"] {
        assert!(!text.contains(field), "{text}");
    }
}

#[test]
fn the_list_head_names_sound_and_shots_and_is_the_prompt_for_o1() {
    assert_eq!(CreateTaskRequest::text("a cat").list_head(), "a cat");
    let storyboard: CreateTaskRequest =
        serde_json::from_str(request_fixture!("v3_multi_shot_sound")).unwrap();
    assert_eq!(
        storyboard.list_head(),
        "[v3, sound, 2 shots] A paper boat is set down on a still pond at dawn, close-up / The boat drifts toward the rising sun, wide shot, birdsong"
    );
}

/// `text` without the whitespace between JSON tokens (strings kept as they are).
fn minified(text: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            (in_string, escaped) = match (escaped, c) {
                (true, _) => (true, false),
                (false, '\\') => (true, true),
                (false, '"') => (false, false),
                _ => (true, false),
            };
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

#[test]
fn the_v3_fixtures_are_sent_byte_for_byte() {
    for (name, text) in REQUEST_FIXTURES
        .iter()
        .filter(|(n, _)| n.starts_with("v3_"))
    {
        let request: CreateTaskRequest = serde_json::from_str(text).unwrap();
        let valid = request.validate().unwrap();
        let sent = serde_json::to_string(valid.body()).unwrap();
        assert_eq!(sent, minified(text), "{name}");
    }
}
