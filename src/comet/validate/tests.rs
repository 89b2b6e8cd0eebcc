use serde_json::{Value, json};

use super::*;

const IMG: &str = "https://example.com/a.png";
const IMG2: &str = "https://example.com/b.png";
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

/// (rule, accepted request, refused request, field named for the refusal)
fn rule_table() -> Vec<(&'static str, Value, Value, &'static str)> {
    let long = "x".repeat(2501);
    let max = "é".repeat(2500); // 2500 characters, 5000 bytes
    vec![
        (
            "R1 prompt not empty",
            json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
            json!({"prompt": "  ", "aspect_ratio": "1:1"}),
            "prompt",
        ),
        (
            "R1 prompt <= 2500 characters",
            json!({"prompt": max, "aspect_ratio": "1:1"}),
            json!({"prompt": long, "aspect_ratio": "1:1"}),
            "prompt",
        ),
        (
            "R2 <= 7 refs without video",
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": vec![json!({"image_url": IMG}); 4], "element_list": vec![json!({"element_id": 1}); 3]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": vec![json!({"image_url": IMG}); 4], "element_list": vec![json!({"element_id": 1}); 4]}),
            "image_list",
        ),
        (
            "R2 <= 4 refs with a video",
            json!({"prompt": "p", "image_list": vec![json!({"image_url": IMG}); 4], "video_list": [{"video_url": VID}]}),
            json!({"prompt": "p", "image_list": vec![json!({"image_url": IMG}); 4], "element_list": [{"element_id": 1}], "video_list": [{"video_url": VID}]}),
            "image_list",
        ),
        (
            "R2 counts elements alone",
            json!({"prompt": "p", "aspect_ratio": "1:1", "element_list": vec![json!({"element_id": 1}); 7]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "element_list": vec![json!({"element_id": 1}); 8]}),
            "element_list",
        ),
        (
            "R3 at most one video",
            json!({"prompt": "p", "video_list": [{"video_url": VID}]}),
            json!({"prompt": "p", "video_list": [{"video_url": VID}, {"video_url": VID}]}),
            "video_list",
        ),
        (
            "R4 end_frame needs first_frame",
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}, {"image_url": IMG2, "type": "end_frame"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG}, {"image_url": IMG2, "type": "end_frame"}]}),
            "image_list[1].type",
        ),
        (
            "R4 one first_frame",
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}, {"image_url": IMG2, "type": "first_frame"}]}),
            "image_list[1].type",
        ),
        (
            "R5 no end_frame with more than 2 images",
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}, {"image_url": IMG2, "type": "end_frame"}]}),
            json!({"prompt": "p <<<image_3>>>", "image_list": [{"image_url": IMG, "type": "first_frame"}, {"image_url": IMG2, "type": "end_frame"}, {"image_url": IMG}]}),
            "image_list[1].type",
        ),
        (
            "R6 no frames with a base video",
            json!({"prompt": "p <<<image_1>>>", "image_list": [{"image_url": IMG}], "video_list": [{"video_url": VID, "refer_type": "base"}]}),
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}], "video_list": [{"video_url": VID, "refer_type": "base"}]}),
            "image_list[0].type",
        ),
        (
            "R7 aspect_ratio required for text",
            json!({"prompt": "p", "aspect_ratio": "9:16"}),
            json!({"prompt": "p"}),
            "aspect_ratio",
        ),
        (
            "R7 aspect_ratio required for references",
            json!({"prompt": "<<<image_1>>>", "aspect_ratio": "16:9", "image_list": [{"image_url": IMG}]}),
            json!({"prompt": "<<<image_1>>>", "image_list": [{"image_url": IMG}]}),
            "aspect_ratio",
        ),
        (
            "R7 aspect_ratio required for a feature video",
            json!({"prompt": "p", "aspect_ratio": "16:9", "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            json!({"prompt": "p", "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            "aspect_ratio",
        ),
        (
            "R7 aspect_ratio refused with a first frame",
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            "aspect_ratio",
        ),
        (
            "R7 aspect_ratio refused with a base video",
            json!({"prompt": "p", "video_list": [{"video_url": VID}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "video_list": [{"video_url": VID}]}),
            "aspect_ratio",
        ),
        (
            "R7 a first frame wins over a feature video",
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}], "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG, "type": "first_frame"}], "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            "aspect_ratio",
        ),
        (
            "R8 a first frame with a feature video takes 5 or 10",
            json!({"prompt": "p", "duration": 10, "image_list": [{"image_url": IMG, "type": "first_frame"}], "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            json!({"prompt": "p", "duration": 4, "image_list": [{"image_url": IMG, "type": "first_frame"}], "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            "duration",
        ),
        (
            "R8 text-to-video takes 5 or 10",
            json!({"prompt": "p", "aspect_ratio": "1:1", "duration": 10}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "duration": 7}),
            "duration",
        ),
        (
            "R8 first frame takes 5 or 10",
            json!({"prompt": "p", "duration": 5, "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            json!({"prompt": "p", "duration": 3, "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            "duration",
        ),
        (
            "R11 element ids are positive",
            json!({"prompt": "<<<element_1>>>", "aspect_ratio": "1:1", "element_list": [{"element_id": 1}]}),
            json!({"prompt": "<<<element_1>>>", "aspect_ratio": "1:1", "element_list": [{"element_id": 0}]}),
            "element_list[0].element_id",
        ),
        (
            "placeholders point at list items",
            json!({"prompt": "<<<image_2>>>", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG}, {"image_url": IMG2}]}),
            json!({"prompt": "<<<image_3>>>", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG}, {"image_url": IMG2}]}),
            "prompt",
        ),
        (
            "placeholders start at 1",
            json!({"prompt": "<<<video_1>>>", "video_list": [{"video_url": VID}]}),
            json!({"prompt": "<<<video_0>>>", "video_list": [{"video_url": VID}]}),
            "prompt",
        ),
        (
            "image URLs are http(s)",
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": IMG}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": "ftp://example.com/a.png"}]}),
            "image_list[0].image_url",
        ),
        (
            "image data is URL or base64",
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": "iVBORw0KGgo".repeat(10)}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": "not an image"}]}),
            "image_list[0].image_url",
        ),
        (
            "video URLs are http(s), not local",
            json!({"prompt": "p", "video_list": [{"video_url": VID}]}),
            json!({"prompt": "p", "video_list": [{"video_url": "/home/me/clip.mp4"}]}),
            "video_list[0].video_url",
        ),
        (
            "callback_url is https",
            json!({"prompt": "p", "aspect_ratio": "1:1", "callback_url": "https://example.com/hook"}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "callback_url": "http://example.com/hook"}),
            "callback_url",
        ),
        (
            "external_task_id is sane",
            json!({"prompt": "p", "aspect_ratio": "1:1", "external_task_id": "order-42_v1.2"}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "external_task_id": "has spaces/and slashes"}),
            "external_task_id",
        ),
    ]
}

#[test]
fn every_rule_accepts_the_good_case_and_names_the_field_in_the_bad_one() {
    for (rule, good, bad, field) in rule_table() {
        assert_eq!(
            fields(good),
            Vec::<String>::new(),
            "{rule}: good case refused"
        );
        let refused = fields(bad);
        assert!(
            refused.iter().any(|f| f == field),
            "{rule}: expected `{field}` in {refused:?}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let violations = request(json!({
        "prompt": "<<<image_9>>>", "duration": 7,
        "callback_url": "nope", "element_list": [{"element_id": 0}]
    }))
    .validate()
    .unwrap_err();
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    for field in [
        "prompt",
        "aspect_ratio",
        "element_list[0].element_id",
        "callback_url",
    ] {
        assert!(fields.contains(&field), "{field} in {fields:?}");
    }
    assert!(
        violations
            .iter()
            .all(|v| !v.fix.is_empty() && !v.problem.is_empty())
    );
}

#[test]
fn modes_are_inferred_from_the_inputs() {
    let cases = [
        (json!({"prompt": "p"}), GenerationMode::TextToVideo),
        (
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}]}),
            GenerationMode::FirstFrame,
        ),
        (
            json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}, {"image_url": IMG2, "type": "end_frame"}]}),
            GenerationMode::FirstEndFrame,
        ),
        (
            json!({"prompt": "p", "element_list": [{"element_id": 5}]}),
            GenerationMode::Reference,
        ),
        (
            json!({"prompt": "p", "video_list": [{"video_url": VID, "refer_type": "feature"}]}),
            GenerationMode::VideoFeatureReference,
        ),
        (
            json!({"prompt": "p", "video_list": [{"video_url": VID}]}),
            GenerationMode::VideoEdit,
        ),
    ];
    for (value, mode) in cases {
        assert_eq!(infer_mode(&request(value.clone())), mode, "{value}");
    }
}

#[test]
fn duration_is_dropped_and_reported_for_a_video_edit() {
    let valid = request(
        json!({"prompt": "<<<video_1>>>", "duration": 7, "video_list": [{"video_url": VID}]}),
    )
    .validate()
    .unwrap();
    assert_eq!(valid.body().duration, None);
    assert!(
        valid
            .warnings()
            .iter()
            .any(|w| w.contains("duration is ignored"))
    );
    assert_eq!(valid.mode(), GenerationMode::VideoEdit);
}

#[test]
fn references_take_3_to_10_seconds() {
    for seconds in 3..=10 {
        let value = json!({"prompt": "<<<element_1>>>", "aspect_ratio": "1:1", "duration": seconds, "element_list": [{"element_id": 9}]});
        assert!(request(value).validate().is_ok(), "{seconds}");
    }
}

#[test]
fn unreferenced_items_and_unknown_placeholders_warn_but_pass() {
    let valid = request(json!({
        "prompt": "a <<<img_1>>> scene",
        "aspect_ratio": "1:1",
        "image_list": [{"image_url": IMG}],
        "element_list": [{"element_id": 3}]
    }))
    .validate()
    .unwrap();
    let warnings = valid.warnings().join("\n");
    assert!(
        warnings.contains("image_list[0] is never referenced"),
        "{warnings}"
    );
    assert!(
        warnings.contains("element_list[0] is never referenced"),
        "{warnings}"
    );
    assert!(warnings.contains("<<<img_1>>>"), "{warnings}");
    // Frame images are usually not mentioned; that is fine.
    let framed =
        request(json!({"prompt": "p", "image_list": [{"image_url": IMG, "type": "first_frame"}]}));
    assert!(framed.validate().unwrap().warnings().is_empty());
}

#[test]
fn a_data_uri_prefix_is_stripped_with_a_warning() {
    let data = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(10));
    let valid = request(json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1", "image_list": [{"image_url": data}]}))
        .validate()
        .unwrap();
    assert_eq!(
        valid.body().image_list[0].image_url,
        "iVBORw0KGgo".repeat(10)
    );
    assert!(valid.warnings()[0].contains("data: URI prefix"));
}

#[test]
fn unread_local_image_paths_are_refused_with_a_hint() {
    for path in [
        "/tmp/a.png",
        "./a.png",
        "C:\\pics\\a.png",
        "file:///tmp/a.png",
        "cat.jpg",
    ] {
        let violations = request(
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": path}]}),
        )
        .validate()
        .unwrap_err();
        assert!(
            violations[0].problem.contains("local path"),
            "{path}: {violations:?}"
        );
    }
}

#[test]
fn the_valid_body_is_wire_ready() {
    let valid = request(json!({"prompt": "p", "aspect_ratio": "1:1"}))
        .validate()
        .unwrap();
    let body = serde_json::to_value(valid.body()).unwrap();
    assert_eq!(body["mode"], "pro");
    assert!(
        body["external_task_id"]
            .as_str()
            .unwrap()
            .starts_with("kmcp-")
    );
}

#[test]
fn every_request_fixture_is_valid() {
    for text in [
        include_str!("../../../tests/fixtures/comet/requests/text_to_video.json"),
        include_str!("../../../tests/fixtures/comet/requests/first_frame.json"),
        include_str!("../../../tests/fixtures/comet/requests/first_end_frame.json"),
        include_str!("../../../tests/fixtures/comet/requests/image_element_reference.json"),
        include_str!("../../../tests/fixtures/comet/requests/video_base_edit.json"),
        include_str!("../../../tests/fixtures/comet/requests/video_feature_reference.json"),
    ] {
        let parsed: CreateTaskRequest = serde_json::from_str(text).unwrap();
        let valid = parsed
            .validate()
            .unwrap_or_else(|v| panic!("{text}: {v:?}"));
        assert_eq!(
            valid.body(),
            &parsed,
            "validation must not change a valid fixture"
        );
    }
}
