//! The create-request rules the simulator enforces, as the real API would: the first broken
//! rule is answered with HTTP 400 and Kling code 1201 (spec §2, §2.2).

use serde_json::{Map, Value};

use super::rules_v3;

const TOP_LEVEL_FIELDS: &[&str] = &[
    "model_name",
    "prompt",
    "image_list",
    "element_list",
    "video_list",
    "mode",
    "aspect_ratio",
    "duration",
    "callback_url",
    "external_task_id",
    "sound",
    "multi_shot",
    "shot_type",
    "multi_prompt",
];

/// Checks a create body; `Err` holds the message the fake API sends back.
pub(super) fn check_create(body: &Value) -> Result<(), String> {
    let body = body.as_object().ok_or("body must be a JSON object")?;
    if let Some(field) = body
        .keys()
        .find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str()))
    {
        return Err(format!("unknown parameter {field}"));
    }
    one_of(body, "model_name", &["kling-video-o1", "kling-v3-omni"])?;
    one_of(body, "mode", &["std", "pro"])?;
    one_of(body, "aspect_ratio", &["16:9", "9:16", "1:1"])?;
    // A customized storyboard carries its prompts per shot (spec §2.5).
    let prompt = match body.get("prompt").and_then(Value::as_str) {
        None if rules_v3::is_customized(body) => "",
        None => return Err("prompt is required".into()),
        Some(prompt) => prompt,
    };
    let prompt_chars = prompt.chars().count();
    if body.contains_key("prompt") && (prompt.trim().is_empty() || prompt_chars > 2500) {
        return Err(format!(
            "prompt must have 1-2500 characters, got {prompt_chars}"
        ));
    }
    let images = list(body, "image_list")?;
    let elements = list(body, "element_list")?;
    let videos = list(body, "video_list")?;
    let mut first = 0;
    let mut end = 0;
    for image in images {
        let url = string(image, "image_url")?.ok_or("image_list[].image_url is required")?;
        if url.starts_with("data:") {
            return Err("image_url must be a URL or bare base64 without a data: prefix".into());
        }
        match string(image, "type")? {
            None => {}
            Some("first_frame") => first += 1,
            Some("end_frame") => end += 1,
            Some(other) => return Err(format!("invalid image type {other}")),
        }
    }
    for element in elements {
        let id = element.get("element_id").ok_or("element_id is required")?;
        if id.as_u64().is_none_or(|id| id == 0) {
            return Err(format!("element_id must be a positive integer, got {id}"));
        }
    }
    if videos.len() > 1 {
        return Err("video_list takes at most 1 video".into());
    }
    let mut base_video = false;
    for video in videos {
        let url = string(video, "video_url")?.ok_or("video_list[].video_url is required")?;
        if !is_http(url) {
            return Err("video_url must be an http(s) URL".into());
        }
        match string(video, "refer_type")? {
            None | Some("base") => base_video = true,
            Some("feature") => {}
            Some(other) => return Err(format!("invalid refer_type {other}")),
        }
        if let Some(sound) = string(video, "keep_original_sound")?
            && sound != "yes"
            && sound != "no"
        {
            return Err(format!(
                "keep_original_sound must be yes or no, got {sound}"
            ));
        }
    }
    let refs = images.len() + elements.len();
    let limit = if videos.is_empty() { 7 } else { 4 };
    if refs > limit {
        return Err(format!(
            "at most {limit} images and elements in total, got {refs}"
        ));
    }
    if first > 1 || end > 1 || (end == 1 && first == 0) {
        return Err("end_frame needs exactly one first_frame; at most one of each".into());
    }
    if end == 1 && images.len() > 2 {
        return Err("end_frame cannot be used with more than 2 images".into());
    }
    if first > 0 && base_video {
        return Err("first_frame/end_frame cannot be combined with a base video".into());
    }
    let framed = first > 0 || base_video;
    match (framed, body.contains_key("aspect_ratio")) {
        (false, false) => return Err("aspect_ratio is required for this request".into()),
        (true, true) => {
            return Err("aspect_ratio is not supported with a first frame or base video".into());
        }
        _ => {}
    }
    rules_v3::check(body, videos.len())?;
    let v3 = rules_v3::is_v3(body);
    if let Some(duration) = body.get("duration") {
        let max = if v3 { 15 } else { 10 };
        let seconds = duration
            .as_str()
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|d| (3..=max).contains(d))
            .ok_or_else(|| {
                format!("duration must be a string from \"3\" to \"{max}\", got {duration}")
            })?;
        let text_or_frame =
            (images.is_empty() && elements.is_empty() && videos.is_empty()) || first > 0;
        if !v3 && text_or_frame && seconds != 5 && seconds != 10 {
            return Err(
                "duration must be 5 or 10 for text-to-video and first-frame generation".into(),
            );
        }
    }
    if let Some(url) = string_field(body, "callback_url")?
        && !is_http(url)
    {
        return Err("callback_url must be an http(s) URL".into());
    }
    for text in std::iter::once(prompt).chain(rules_v3::shot_prompts(body)) {
        check_placeholders(text, images.len(), elements.len(), videos.len())?;
    }
    Ok(())
}

fn check_placeholders(
    prompt: &str,
    images: usize,
    elements: usize,
    videos: usize,
) -> Result<(), String> {
    let mut rest = prompt;
    while let Some(start) = rest.find("<<<") {
        let after = rest.get(start + 3..).unwrap_or_default();
        let Some(close) = after.find(">>>") else {
            break;
        };
        let token = after.get(..close).unwrap_or_default();
        rest = after.get(close + 3..).unwrap_or_default();
        let Some((name, index)) = token.rsplit_once('_') else {
            continue;
        };
        let count = match name {
            "image" => images,
            "element" => elements,
            "video" => videos,
            _ => continue,
        };
        if !index.parse::<usize>().is_ok_and(|n| n >= 1 && n <= count) {
            return Err(format!(
                "placeholder <<<{token}>>> has no matching {name}_list item"
            ));
        }
    }
    Ok(())
}

fn one_of(body: &Map<String, Value>, field: &str, allowed: &[&str]) -> Result<(), String> {
    match string_field(body, field)? {
        Some(value) if !allowed.contains(&value) => Err(format!("invalid {field} {value}")),
        _ => Ok(()),
    }
}

fn list<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], String> {
    match body.get(field) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("{field} must be an array")),
    }
}

fn string<'a>(item: &'a Value, field: &str) -> Result<Option<&'a str>, String> {
    item.as_object()
        .ok_or("list items must be objects")
        .map_err(str::to_owned)
        .and_then(|object| string_field(object, field))
}

fn string_field<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(other) => Err(format!("{field} must be a non-empty string, got {other}")),
    }
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_request_fixture_passes() {
        for text in [
            include_str!("../../tests/fixtures/comet/requests/text_to_video.json"),
            include_str!("../../tests/fixtures/comet/requests/first_frame.json"),
            include_str!("../../tests/fixtures/comet/requests/first_end_frame.json"),
            include_str!("../../tests/fixtures/comet/requests/image_element_reference.json"),
            include_str!("../../tests/fixtures/comet/requests/video_base_edit.json"),
            include_str!("../../tests/fixtures/comet/requests/video_feature_reference.json"),
            include_str!("../../tests/fixtures/comet/requests/v3_multi_shot_sound.json"),
            include_str!("../../tests/fixtures/comet/requests/v3_text_to_video_15s.json"),
        ] {
            let body: Value = serde_json::from_str(text).unwrap();
            assert_eq!(check_create(&body), Ok(()), "{text}");
        }
    }

    #[test]
    fn v3_takes_3_to_15_seconds_in_every_mode() {
        let body = json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "1:1", "duration": "7"});
        assert_eq!(check_create(&body), Ok(()));
    }

    #[test]
    fn broken_rules_are_refused() {
        let cases = [
            json!({"prompt": "p"}),
            json!({"prompt": "", "aspect_ratio": "1:1"}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "duration": 5}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "duration": "7"}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "negative_prompt": "x"}),
            json!({"prompt": "<<<image_2>>>", "aspect_ratio": "1:1", "image_list": [{"image_url": "https://e/a.png"}]}),
            json!({"prompt": "p", "image_list": [{"image_url": "https://e/a.png", "type": "end_frame"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "image_list": [{"image_url": "https://e/a.png", "type": "first_frame"}]}),
            json!({"prompt": "p", "video_list": [{"video_url": "https://e/a.mp4", "refer_type": "base"}], "image_list": [{"image_url": "https://e/a.png", "type": "first_frame"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "element_list": [{"element_id": "12"}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "video_list": [{"video_url": "https://e/a.mp4", "refer_type": "feature"}], "element_list": [{"element_id": 1}, {"element_id": 2}, {"element_id": 3}, {"element_id": 4}, {"element_id": 5}]}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "duration": "15"}),
            json!({"prompt": "p", "aspect_ratio": "1:1", "sound": "on"}),
            json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "1:1", "duration": "16"}),
            json!({"model_name": "kling-v3-omni", "prompt": "<<<video_1>>>", "sound": "on", "video_list": [{"video_url": "https://e/a.mp4"}]}),
            json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "1:1", "multi_shot": true}),
            json!({"model_name": "kling-v3-omni", "prompt": "p", "aspect_ratio": "1:1", "shot_type": "intelligence"}),
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "1:1", "duration": "5", "multi_shot": true, "shot_type": "customize", "multi_prompt": [{"index": 1, "prompt": "a", "duration": "4"}]}),
            json!({"model_name": "kling-v3-omni", "aspect_ratio": "1:1", "multi_shot": true, "shot_type": "intelligence"}),
        ];
        for body in cases {
            assert!(check_create(&body).is_err(), "{body}");
        }
    }
}
