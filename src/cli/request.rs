//! The `generate` request from its flags: the same request type, lenient parsing and error
//! paths as the tool, with local image files read and problems named by flag.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::Exit;
use super::tasks::GenerateArgs;
use crate::comet::{CreateTaskRequest, Violation, looks_like_local_path};
use crate::local_images::{AllowedRoots, load_image};

/// The request from the flags: lenient parsing and errors naming the flag, as for the tool.
pub(super) fn build_request(args: &GenerateArgs) -> Result<CreateTaskRequest, Vec<Violation>> {
    let mut body = Map::new();
    body.insert("prompt".into(), json!(args.prompt));
    let mut violations = Vec::new();
    let mut images = Vec::new();
    for (index, spec) in args.images.iter().enumerate() {
        let (source, frame) = split_suffix(spec, &["first_frame", "end_frame"]);
        let url = if looks_like_local_path(source) {
            // The user named this file, so its own directory is allowed.
            let path = Path::new(source.strip_prefix("file://").unwrap_or(source));
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."));
            match load_image(source, &AllowedRoots::new([dir])) {
                Ok(image) => image.base64,
                Err(err) => {
                    violations.push(Violation::new(
                        format!("--image {}", index + 1),
                        err.to_string(),
                        "give a PNG or JPEG file, or a public URL",
                    ));
                    continue;
                }
            }
        } else {
            source.to_owned()
        };
        images.push(match frame {
            Some(frame) => json!({"image_url": url, "type": frame}),
            None => json!({"image_url": url}),
        });
    }
    if !images.is_empty() {
        body.insert("image_list".into(), Value::Array(images));
    }
    if !args.elements.is_empty() {
        body.insert(
            "element_list".into(),
            args.elements
                .iter()
                .map(|id| json!({"element_id": id}))
                .collect(),
        );
    }
    if let Some(spec) = &args.video {
        let (url, refer) = split_suffix(spec, &["feature", "base"]);
        let video = match refer {
            Some(refer) => json!({"video_url": url, "refer_type": refer}),
            None => json!({"video_url": url}),
        };
        body.insert("video_list".into(), json!([video]));
    }
    for (key, value) in [
        ("mode", args.mode.as_ref().map(|v| json!(v))),
        ("aspect_ratio", args.aspect_ratio.as_ref().map(|v| json!(v))),
        ("duration", args.duration.map(|v| json!(v))),
        ("model_name", args.model.as_ref().map(|v| json!(v))),
        (
            "external_task_id",
            args.external_task_id.as_ref().map(|v| json!(v)),
        ),
    ] {
        if let Some(value) = value {
            body.insert(key.into(), value);
        }
    }
    if !violations.is_empty() {
        return Err(violations);
    }
    serde_path_to_error::deserialize(Value::Object(body)).map_err(|err| {
        let field = format!("--{}", err.path().to_string().replace('_', "-"));
        vec![Violation::new(
            field,
            err.into_inner().to_string(),
            "see kling-omni-mcp generate --help",
        )]
    })
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
