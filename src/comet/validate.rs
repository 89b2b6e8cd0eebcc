//! Pre-flight checks of a create request against every rule of the API (spec §2, §2.2, §2.3),
//! so a request that would be refused, or accepted but wrong, never costs a round trip or money.
//! All problems of a request are reported at once, each naming its JSON path and the fix.

use std::fmt;

use serde::Serialize;

use super::request::{CreateTaskRequest, ImageType, ReferType};

/// Longest prompt the API takes, in characters (not bytes).
pub const MAX_PROMPT_CHARS: usize = 2500;

/// What the API will make of a request, inferred from its inputs (spec §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GenerationMode {
    /// Prompt only.
    TextToVideo,
    /// Starts on a `first_frame` image.
    FirstFrame,
    /// Starts on `first_frame` and ends on `end_frame`.
    FirstEndFrame,
    /// Reference images and/or elements.
    Reference,
    /// New footage styled on a `feature` video.
    VideoFeatureReference,
    /// Edits a `base` video.
    VideoEdit,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON path of the field, e.g. `image_list[1].type`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to change.
    pub fix: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {} ({})", self.field, self.problem, self.fix)
    }
}

/// A request that passed every check: the only thing [`super::Client::create_task`] sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    body: CreateTaskRequest,
    mode: GenerationMode,
    warnings: Vec<String>,
}

impl ValidRequest {
    /// The body to send, with every wire default filled in.
    pub fn body(&self) -> &CreateTaskRequest {
        &self.body
    }

    /// The inferred generation mode.
    pub fn mode(&self) -> GenerationMode {
        self.mode
    }

    /// Things that are allowed but probably not what was meant.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl CreateTaskRequest {
    /// Checks every rule; on success returns the exact body to send (wire defaults filled in,
    /// a `duration` the API would ignore dropped, a `data:` prefix stripped) with the mode and
    /// any warnings.
    pub fn validate(&self) -> Result<ValidRequest, Vec<Violation>> {
        let mut check = Check {
            request: self.for_wire(),
            violations: Vec::new(),
            warnings: Vec::new(),
        };
        let mode = check.run();
        if check.violations.is_empty() {
            Ok(ValidRequest {
                body: check.request,
                mode,
                warnings: check.warnings,
            })
        } else {
            Err(check.violations)
        }
    }
}

/// The state of one validation run.
struct Check {
    request: CreateTaskRequest,
    violations: Vec<Violation>,
    warnings: Vec<String>,
}

impl Check {
    fn run(&mut self) -> GenerationMode {
        let mode = infer_mode(&self.request);
        self.prompt();
        self.image_urls();
        self.videos();
        self.counts();
        self.frames();
        self.aspect_ratio(mode);
        self.duration(mode);
        self.elements();
        self.callback_url();
        self.external_task_id();
        self.placeholders();
        mode
    }

    fn fail(
        &mut self,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.violations.push(Violation::new(field, problem, fix));
    }

    fn prompt(&mut self) {
        let chars = self.request.prompt.chars().count();
        if self.request.prompt.trim().is_empty() {
            self.fail("prompt", "is empty", "describe the video to generate");
        } else if chars > MAX_PROMPT_CHARS {
            self.fail(
                "prompt",
                format!("has {chars} characters; the limit is {MAX_PROMPT_CHARS}"),
                "shorten it",
            );
        }
    }

    fn image_urls(&mut self) {
        for index in 0..self.request.image_list.len() {
            let field = format!("image_list[{index}].image_url");
            let Some(image) = self.request.image_list.get_mut(index) else {
                continue;
            };
            let url = image.image_url.trim().to_owned();
            if let Some(bare) = strip_data_uri(&url) {
                image.image_url = bare.to_owned();
                self.warnings.push(format!(
                    "{field}: removed the data: URI prefix; the API takes bare base64"
                ));
            } else if url.is_empty() {
                self.fail(
                    field,
                    "is empty",
                    "give a public http(s) URL, a local image path, or base64 data",
                );
            } else if looks_like_url(&url) {
                if !is_http_url(&url) {
                    self.fail(
                        field,
                        "is not a valid http(s) URL",
                        "give a public http(s) URL",
                    );
                }
            } else if looks_like_local_path(&url) {
                self.fail(
                    field,
                    "is a local path that was not read",
                    "pass the path to the MCP tool or CLI, which read local images, or upload the image and give its URL",
                );
            } else if !is_base64(&url) {
                self.fail(
                    field,
                    "is neither an http(s) URL nor base64 image data",
                    "give a public http(s) URL or a local image path",
                );
            }
        }
    }

    fn videos(&mut self) {
        let videos = self.request.video_list.clone();
        for (index, video) in videos.iter().enumerate() {
            let url = video.video_url.trim();
            if !is_http_url(url) {
                let problem = if looks_like_local_path(url) {
                    "is a local path, but the API needs a public URL for videos"
                } else {
                    "is not an http(s) URL"
                };
                self.fail(
                    format!("video_list[{index}].video_url"),
                    problem,
                    "upload the video (MP4/MOV, 3-10 s) somewhere public and give its http(s) URL",
                );
            }
        }
    }

    fn counts(&mut self) {
        let (images, elements, videos) = (
            self.request.image_list.len(),
            self.request.element_list.len(),
            self.request.video_list.len(),
        );
        if videos > 1 {
            self.fail(
                "video_list",
                format!("has {videos} videos; the API takes at most 1"),
                "keep one video",
            );
        }
        let limit = if videos == 0 { 7 } else { 4 };
        if images + elements > limit {
            let with = if videos == 0 {
                "without a video"
            } else {
                "with a video"
            };
            self.fail(
                if images > 0 {
                    "image_list"
                } else {
                    "element_list"
                },
                format!(
                    "{images} images + {elements} elements = {}; the limit is {limit} {with}",
                    images + elements
                ),
                "remove some images or elements",
            );
        }
    }

    fn frames(&mut self) {
        let frame_fields = |kind: ImageType, request: &CreateTaskRequest| -> Vec<String> {
            request
                .image_list
                .iter()
                .enumerate()
                .filter(|(_, image)| image.frame == Some(kind))
                .map(|(i, _)| format!("image_list[{i}].type"))
                .collect()
        };
        let firsts = frame_fields(ImageType::FirstFrame, &self.request);
        let ends = frame_fields(ImageType::EndFrame, &self.request);
        for extra in firsts.iter().skip(1) {
            self.fail(
                extra.clone(),
                "is a second first_frame; at most one is allowed",
                "remove `type` to make it a reference image",
            );
        }
        for extra in ends.iter().skip(1) {
            self.fail(
                extra.clone(),
                "is a second end_frame; at most one is allowed",
                "remove `type` to make it a reference image",
            );
        }
        if let Some(end) = ends.first() {
            if firsts.is_empty() {
                self.fail(
                    end.clone(),
                    "is an end_frame without a first_frame",
                    "add a first_frame image, or remove `type`",
                );
            }
            let images = self.request.image_list.len();
            if images > 2 {
                self.fail(
                    end.clone(),
                    format!("is an end_frame among {images} images; end frames allow at most 2"),
                    "use only the first_frame and end_frame images",
                );
            }
        }
        if has_video(&self.request, ReferType::Base) {
            for field in firsts.iter().chain(&ends) {
                self.fail(
                    field.clone(),
                    "is a frame image, which can't be combined with a base video edit",
                    "remove `type`, or use video_list[0].refer_type `feature`",
                );
            }
        } else if !firsts.is_empty() && has_video(&self.request, ReferType::Feature) {
            self.warnings.push("combining a first_frame with a feature video is not documented by the API; the result may ignore one of them".into());
        }
    }

    fn aspect_ratio(&mut self, mode: GenerationMode) {
        let needed = !matches!(
            mode,
            GenerationMode::FirstFrame | GenerationMode::FirstEndFrame | GenerationMode::VideoEdit
        );
        match (needed, self.request.aspect_ratio) {
            (true, None) => self.fail(
                "aspect_ratio",
                format!("is required for {}", mode_name(mode)),
                "set 16:9, 9:16 or 1:1",
            ),
            (false, Some(_)) => self.fail(
                "aspect_ratio",
                format!(
                    "is not supported for {} (the input sets the shape)",
                    mode_name(mode)
                ),
                "remove aspect_ratio",
            ),
            _ => {}
        }
    }

    fn duration(&mut self, mode: GenerationMode) {
        let Some(duration) = self.request.duration else {
            return;
        };
        match mode {
            GenerationMode::VideoEdit => {
                self.request.duration = None;
                self.warnings.push("duration is ignored for a video edit (the output keeps the input's length), so it was not sent".into());
            }
            GenerationMode::TextToVideo
            | GenerationMode::FirstFrame
            | GenerationMode::FirstEndFrame
                if !matches!(duration.seconds(), 5 | 10) =>
            {
                self.fail(
                    "duration",
                    format!("is {duration}; {} takes 5 or 10", mode_name(mode)),
                    "use 5 or 10, or add reference images/elements for 3-10",
                );
            }
            _ => {}
        }
    }

    fn elements(&mut self) {
        let zeros: Vec<usize> = (0..self.request.element_list.len())
            .filter(|&i| {
                self.request
                    .element_list
                    .get(i)
                    .is_some_and(|e| e.element_id == 0)
            })
            .collect();
        for index in zeros {
            self.fail(
                format!("element_list[{index}].element_id"),
                "is 0; element ids are positive",
                "use the id from the Kling element library",
            );
        }
    }

    fn callback_url(&mut self) {
        let Some(url) = self.request.callback_url.clone() else {
            return;
        };
        let valid = reqwest::Url::parse(url.trim())
            .is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
        if !valid {
            self.fail(
                "callback_url",
                "is not a valid https URL",
                "give a public https URL, or omit it (polling works without)",
            );
        }
    }

    fn external_task_id(&mut self) {
        let Some(id) = self.request.external_task_id.clone() else {
            return;
        };
        let ok_chars = id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if id.len() > 64 || !ok_chars {
            self.fail(
                "external_task_id",
                "must be 1-64 characters of letters, digits, '-', '_', '.' or ':'",
                "use a simpler id, or omit it to get a generated one",
            );
        }
    }

    fn placeholders(&mut self) {
        let prompt = self.request.prompt.clone();
        let counts = [
            ("image", self.request.image_list.len()),
            ("element", self.request.element_list.len()),
            ("video", self.request.video_list.len()),
        ];
        let mut used: Vec<(String, usize)> = Vec::new();
        for token in placeholder_tokens(&prompt) {
            let parsed = token
                .rsplit_once('_')
                .and_then(|(kind, n)| Some((kind, n.parse::<usize>().ok()?)));
            let Some((kind, index)) = parsed else {
                self.warnings.push(format!("<<<{token}>>> in the prompt is not a placeholder the API knows (use image_N, element_N or video_1)"));
                continue;
            };
            let Some(&(_, count)) = counts.iter().find(|(name, _)| *name == kind) else {
                self.warnings.push(format!("<<<{token}>>> in the prompt is not a placeholder the API knows (use image_N, element_N or video_1)"));
                continue;
            };
            if index == 0 || index > count {
                self.fail(
                    "prompt",
                    format!("refers to <<<{token}>>>, but {kind}_list has {count} item(s)"),
                    format!("add the {kind} or fix the number (positions start at 1)"),
                );
            }
            used.push((kind.to_owned(), index));
        }
        let is_used = |kind: &str, index: usize| used.iter().any(|(k, i)| k == kind && *i == index);
        for (i, image) in self.request.image_list.iter().enumerate() {
            if image.frame.is_none() && !is_used("image", i + 1) {
                self.warnings.push(format!("image_list[{i}] is never referenced; mention it as <<<image_{}>>> in the prompt", i + 1));
            }
        }
        for i in 0..self.request.element_list.len() {
            if !is_used("element", i + 1) {
                self.warnings.push(format!("element_list[{i}] is never referenced; mention it as <<<element_{}>>> in the prompt", i + 1));
            }
        }
        if !self.request.video_list.is_empty() && !is_used("video", 1) {
            self.warnings.push(
                "video_list[0] is never referenced; mention it as <<<video_1>>> in the prompt"
                    .into(),
            );
        }
    }
}

/// Infers the mode from which inputs are present (spec §2.3).
pub fn infer_mode(request: &CreateTaskRequest) -> GenerationMode {
    let frame = |kind| request.image_list.iter().any(|i| i.frame == Some(kind));
    if has_video(request, ReferType::Base) {
        GenerationMode::VideoEdit
    } else if has_video(request, ReferType::Feature) {
        GenerationMode::VideoFeatureReference
    } else if frame(ImageType::FirstFrame) && frame(ImageType::EndFrame) {
        GenerationMode::FirstEndFrame
    } else if frame(ImageType::FirstFrame) {
        GenerationMode::FirstFrame
    } else if request.image_list.is_empty() && request.element_list.is_empty() {
        GenerationMode::TextToVideo
    } else {
        GenerationMode::Reference
    }
}

fn mode_name(mode: GenerationMode) -> &'static str {
    match mode {
        GenerationMode::TextToVideo => "text-to-video",
        GenerationMode::FirstFrame => "a first_frame request",
        GenerationMode::FirstEndFrame => "a first_frame + end_frame request",
        GenerationMode::Reference => "a reference-image/element request",
        GenerationMode::VideoFeatureReference => "a feature-video request",
        GenerationMode::VideoEdit => "a base video edit",
    }
}

/// A video whose `refer_type` (defaulting to `base`) is `kind`.
fn has_video(request: &CreateTaskRequest, kind: ReferType) -> bool {
    request
        .video_list
        .iter()
        .any(|v| v.refer_type.unwrap_or(ReferType::Base) == kind)
}

/// The text between each `<<<` and the next `>>>`.
fn placeholder_tokens(prompt: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("<<<") {
        let after = rest.get(start + 3..).unwrap_or_default();
        let Some(end) = after.find(">>>") else { break };
        tokens.push(after.get(..end).unwrap_or_default());
        rest = after.get(end + 3..).unwrap_or_default();
    }
    tokens
}

fn strip_data_uri(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let (_, data) = rest.split_once(";base64,")?;
    Some(data)
}

fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) && scheme != "file"
    })
}

fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Whether a string is a filesystem path or `file:` URI rather than a URL or base64.
pub fn looks_like_local_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let windows_drive = bytes.len() > 2
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.get(1) == Some(&b':')
        && matches!(bytes.get(2), Some(b'\\' | b'/'));
    text.starts_with("file:")
        || text.starts_with('/')
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with("~/")
        || text.starts_with(".\\")
        || text.starts_with("..\\")
        || text.starts_with("\\\\")
        || windows_drive
        || (!text.contains("://") && has_image_extension(text) && text.len() < 1024)
}

fn has_image_extension(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Base64 image data: long enough to be an image, and only base64 characters.
fn is_base64(text: &str) -> bool {
    text.len() >= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'))
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
