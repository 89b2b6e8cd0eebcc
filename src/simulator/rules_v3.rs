//! The Kling 3.0 Omni rules the simulator enforces (spec §2.5): `sound` and storyboards, and
//! none of them with O1.

use serde_json::{Map, Value};

/// The fields only Kling 3.0 Omni takes.
pub(super) const V3_FIELDS: &[&str] = &["sound", "multi_shot", "shot_type", "multi_prompt"];

/// Whether the body asks for Kling 3.0 Omni.
pub(super) fn is_v3(body: &Map<String, Value>) -> bool {
    body.get("model_name").and_then(Value::as_str) == Some("kling-v3-omni")
}

/// Whether the body is a storyboard whose shots carry the prompts.
pub(super) fn is_customized(body: &Map<String, Value>) -> bool {
    body.get("multi_shot") == Some(&Value::Bool(true))
        && body.get("shot_type").and_then(Value::as_str) == Some("customize")
}

/// The shot prompts of a customized storyboard, for the placeholder check.
pub(super) fn shot_prompts(body: &Map<String, Value>) -> Vec<&str> {
    body.get("multi_prompt")
        .and_then(Value::as_array)
        .map(|shots| {
            shots
                .iter()
                .filter_map(|shot| shot.get("prompt").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks the v3-only fields; `videos` is the length of `video_list`.
pub(super) fn check(body: &Map<String, Value>, videos: usize) -> Result<(), String> {
    if !is_v3(body) {
        return match V3_FIELDS.iter().find(|field| body.contains_key(**field)) {
            Some(field) => Err(format!("{field} is not supported by kling-video-o1")),
            None => Ok(()),
        };
    }
    match body.get("sound") {
        None => {}
        Some(Value::String(s)) if s == "off" => {}
        Some(Value::String(s)) if s == "on" && videos == 0 => {}
        Some(Value::String(s)) if s == "on" => {
            return Err("sound must be off when video_list is given".into());
        }
        Some(other) => return Err(format!("sound must be \"on\" or \"off\", got {other}")),
    }
    let multi_shot = match body.get("multi_shot") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("multi_shot must be a boolean, got {other}")),
    };
    let shot_type = body
        .get("shot_type")
        .map(|v| v.as_str().unwrap_or_default());
    match (multi_shot, shot_type) {
        (true, None) => return Err("shot_type is required when multi_shot is true".into()),
        (false, Some(_)) => return Err("shot_type requires multi_shot true".into()),
        (_, Some(kind)) if kind != "customize" && kind != "intelligence" => {
            return Err(format!("invalid shot_type {kind}"));
        }
        _ => {}
    }
    let shots = match body.get("multi_prompt") {
        None => None,
        Some(Value::Array(shots)) => Some(shots),
        Some(_) => return Err("multi_prompt must be an array".into()),
    };
    if !is_customized(body) {
        return match shots {
            Some(_) => Err("multi_prompt requires shot_type customize".into()),
            None => Ok(()),
        };
    }
    let shots = shots.map(Vec::as_slice).unwrap_or_default();
    if shots.is_empty() || shots.len() > 6 {
        return Err(format!(
            "multi_prompt must have 1-6 shots, got {}",
            shots.len()
        ));
    }
    let mut total = 0;
    for (i, shot) in shots.iter().enumerate() {
        if shot.get("index").and_then(Value::as_u64) != Some(i as u64 + 1) {
            return Err(format!("multi_prompt[{i}].index must be {}", i + 1));
        }
        let chars = shot
            .get("prompt")
            .and_then(Value::as_str)
            .map(|p| p.trim().chars().count())
            .unwrap_or_default();
        if chars == 0 || chars > 512 {
            return Err(format!(
                "multi_prompt[{i}].prompt must have 1-512 characters"
            ));
        }
        let seconds = shot
            .get("duration")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<u32>().ok())
            .filter(|d| *d >= 1)
            .ok_or_else(|| {
                format!("multi_prompt[{i}].duration must be a string of at least \"1\"")
            })?;
        total += seconds;
    }
    let duration = body
        .get("duration")
        .and_then(Value::as_str)
        .and_then(|d| d.parse::<u32>().ok());
    if duration != Some(total) {
        return Err(format!(
            "multi_prompt durations add up to {total}, not duration"
        ));
    }
    Ok(())
}
