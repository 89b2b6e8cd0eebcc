//! The `generate` request from its flags: each flag parsed straight into the request type
//! (with the tool's lenient value rules, problems named by flag), then prepared by the same
//! [`jobs::prepare`] as the tool — local images read from the directories the user named.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Exit;
use super::args::GenerateArgs;
use crate::comet::{
    CreateTaskRequest, ElementRef, ImageInput, Shot, ShotType, Sound, VideoDuration, VideoInput,
    Violation, looks_like_local_path,
};
use crate::local_images::AllowedRoots;

/// The typed request, and the directories its local images may be read from: each named
/// file's own directory (the user named the file, so its directory is allowed).
pub(super) fn build_request(
    args: &GenerateArgs,
) -> Result<(CreateTaskRequest, AllowedRoots), Vec<Violation>> {
    let mut violations = Vec::new();
    let mut request = CreateTaskRequest::text(args.prompt.clone().unwrap_or_default());
    let mut dirs = Vec::new();
    for spec in &args.images {
        let (source, frame) = split_suffix(spec, &["first_frame", "end_frame"]);
        if let Some(unknown) = frame.is_none().then(|| unknown_suffix(spec)).flatten() {
            let index = request.image_list.len();
            violations.push(Violation::new(
                format!("image_list[{index}].type"),
                format!("unknown suffix `:{unknown}`"),
                "use `:first_frame` or `:end_frame`, or no suffix for a reference image",
            ));
        }
        let image_url = if looks_like_local_path(source) {
            // Absolute, so it resolves the same whatever the allowed directories are.
            let path = absolute(Path::new(source.strip_prefix("file://").unwrap_or(source)));
            dirs.extend(path.parent().map(Path::to_path_buf));
            path.display().to_string()
        } else {
            source.to_owned()
        };
        let index = request.image_list.len();
        let frame = frame
            .map(|f| lenient(&format!("image_list[{index}].type"), Value::from(f)))
            .transpose();
        request.image_list.push(ImageInput {
            image_url,
            frame: keep(frame, &mut violations).flatten(),
        });
    }
    request.element_list = args
        .elements
        .iter()
        .map(|&element_id| ElementRef { element_id })
        .collect();
    if let Some(spec) = &args.video {
        let (url, refer) = split_suffix(spec, &["feature", "base"]);
        if let Some(unknown) = refer.is_none().then(|| unknown_suffix(spec)).flatten() {
            violations.push(Violation::new(
                "video_list[0].refer_type",
                format!("unknown suffix `:{unknown}`"),
                "use `:feature` or `:base`, or no suffix to edit the video",
            ));
        }
        let refer = refer
            .map(|r| lenient("video_list[0].refer_type", Value::from(r)))
            .transpose();
        request.video_list.push(VideoInput {
            video_url: url.to_owned(),
            refer_type: keep(refer, &mut violations).flatten(),
            keep_original_sound: None,
        });
    }
    let text = |value: &Option<String>| value.as_ref().map(|v| Value::from(v.as_str()));
    request.mode = keep(optional("mode", text(&args.mode)), &mut violations).flatten();
    request.aspect_ratio = keep(
        optional("aspect_ratio", text(&args.aspect_ratio)),
        &mut violations,
    )
    .flatten();
    request.duration = keep(optional("duration", text(&args.duration)), &mut violations).flatten();
    if let Some(model) = keep(optional("model_name", text(&args.model)), &mut violations).flatten()
    {
        request.model_name = model;
    }
    storyboard(args, &mut request, &mut violations);
    request.external_task_id = args.external_task_id.clone();
    match violations.is_empty() {
        true => Ok((request, AllowedRoots::new(dirs))),
        false => Err(violations),
    }
}

/// `--sound`, `--shot` and `--auto-shots`: the v3 fields (the request's rules refuse them
/// with O1, naming the flag).
fn storyboard(
    args: &GenerateArgs,
    request: &mut CreateTaskRequest,
    violations: &mut Vec<Violation>,
) {
    if args.sound {
        request.sound = Some(Sound::On);
    }
    if args.auto_shots {
        request.multi_shot = Some(true);
        request.shot_type = Some(ShotType::Intelligence);
    }
    if args.shots.is_empty() {
        return;
    }
    request.multi_shot = Some(true);
    request.shot_type = Some(ShotType::Customize);
    for (i, spec) in args.shots.iter().enumerate() {
        let field = format!("multi_prompt[{i}]");
        let Some((seconds, prompt)) = spec.split_once(':') else {
            violations.push(Violation::new(
                field,
                format!("`{spec}` is not SECS:PROMPT"),
                "write the shot as e.g. `--shot \"3:The boat drifts away\"`",
            ));
            continue;
        };
        let duration = lenient(&format!("{field}.duration"), Value::from(seconds.trim()));
        if let Some(duration) = keep(duration, violations) {
            request.multi_prompt.push(Shot {
                index: None,
                prompt: prompt.trim().to_owned(),
                duration,
            });
        }
    }
    // The shots say how long the video is; an explicit --duration is still checked against them.
    if request.duration.is_none() {
        let total: u64 = request
            .multi_prompt
            .iter()
            .map(|shot| u64::from(shot.duration.seconds()))
            .sum();
        request.duration = VideoDuration::new(total);
    }
}

/// A flag's value read by the request field's own (lenient) rules.
fn lenient<T: DeserializeOwned>(field: &str, value: Value) -> Result<T, Violation> {
    serde_json::from_value(value)
        .map_err(|err| Violation::new(field, err.to_string(), "see kling-omni-mcp generate --help"))
}

fn optional<T: DeserializeOwned>(
    field: &str,
    value: Option<Value>,
) -> Result<Option<T>, Violation> {
    value.map(|v| lenient(field, v)).transpose()
}

/// The value, or `None` with its violation kept.
fn keep<T>(result: Result<T, Violation>, violations: &mut Vec<Violation>) -> Option<T> {
    result.map_err(|v| violations.push(v)).ok()
}

/// `path` made absolute against the working directory (left as is if that is unknown).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `"a.png:first_frame"` → (`"a.png"`, `Some("first_frame")`), for the known suffixes only, so
/// the colons of a URL stay where they are.
fn split_suffix<'a>(spec: &'a str, suffixes: &[&'static str]) -> (&'a str, Option<&'static str>) {
    for suffix in suffixes {
        if let Some(rest) = spec.strip_suffix(suffix).and_then(|r| r.strip_suffix(':')) {
            return (rest, Some(suffix));
        }
    }
    (spec, None)
}

/// A suffix that looks like a typo of a known one (`a.png:firstframe`): letters, `_` or `-`
/// after the last colon. A URL's port or path (`:8080/a.png`) and data URIs never match.
fn unknown_suffix(spec: &str) -> Option<&str> {
    let (head, tail) = spec.rsplit_once(':')?;
    let word = !tail.is_empty()
        && tail
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-');
    (word && !head.is_empty() && !head.ends_with(':')).then_some(tail)
}

/// Prints each violation on its own line, named by flag.
pub(super) fn refuse(violations: &[Violation]) -> Exit {
    for violation in violations {
        let named = Violation {
            field: flag_for(&violation.field),
            ..violation.clone()
        };
        eprintln!("error [invalid_request]: {named}");
    }
    Exit::BadInput
}

/// The flag a request field comes from: `aspect_ratio` → `--aspect-ratio`, `image_list[1].type`
/// → `--image 2`.
fn flag_for(field: &str) -> String {
    let (list, rest) = field.split_once('[').unwrap_or((field, ""));
    let index = rest.split(']').next().and_then(|n| n.parse::<usize>().ok());
    match (list, index) {
        ("image_list", Some(i)) => format!("--image {}", i + 1),
        ("element_list", Some(i)) => format!("--element {}", i + 1),
        ("video_list", _) => "--video".to_owned(),
        ("model_name", _) => "--model".to_owned(),
        ("multi_prompt", Some(i)) => format!("--shot {}", i + 1),
        ("multi_prompt", None) => "--shot".to_owned(),
        ("multi_shot" | "shot_type", _) => "--shot/--auto-shots".to_owned(),
        (name, _) if name.starts_with("--") || name.contains(' ') => name.to_owned(),
        (name, _) => format!("--{}", name.replace('_', "-")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_fields_are_named_as_flags() {
        assert_eq!(flag_for("aspect_ratio"), "--aspect-ratio");
        assert_eq!(flag_for("image_list[1].type"), "--image 2");
        assert_eq!(flag_for("video_list[0].video_url"), "--video");
        assert_eq!(flag_for("--image 1"), "--image 1");
        assert_eq!(flag_for("multi_prompt[1].prompt"), "--shot 2");
        assert_eq!(flag_for("sound"), "--sound");
    }

    #[test]
    fn a_mistyped_suffix_is_named_not_read_as_part_of_the_path() {
        assert_eq!(unknown_suffix("a.png:firstframe"), Some("firstframe"));
        assert_eq!(
            unknown_suffix("https://e.com/v.mp4:Feature"),
            Some("Feature")
        );
        assert_eq!(unknown_suffix("https://e.com:8080/a.png"), None);
        assert_eq!(unknown_suffix("https://e.com/a.png"), None);
        assert_eq!(unknown_suffix("data:image/png;base64,iVBORw0KGgo="), None);
        assert_eq!(unknown_suffix("./frames/a.png"), None);
    }

    #[test]
    fn suffixes_split_without_breaking_urls() {
        assert_eq!(
            split_suffix(
                "https://e.com/a.png:first_frame",
                &["first_frame", "end_frame"]
            ),
            ("https://e.com/a.png", Some("first_frame"))
        );
        assert_eq!(
            split_suffix("https://e.com:8080/a.png", &["first_frame"]),
            ("https://e.com:8080/a.png", None)
        );
        assert_eq!(
            split_suffix("https://e.com/v.mp4:feature", &["feature", "base"]),
            ("https://e.com/v.mp4", Some("feature"))
        );
    }
}
