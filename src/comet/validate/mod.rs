//! Pre-flight checks of a create request against every rule of the API (spec §2, §2.2, §2.3),
//! so a request that would be refused, or accepted but wrong, never costs a round trip or money.
//! All problems of a request are reported at once, each naming its JSON path and the fix.

use std::sync::Arc;

use super::ids::ExternalTaskId;
use super::mode::{GenerationMode, has_video, infer_mode, mode_name};
use super::request::{CreateTaskRequest, ImageType, ReferType};
use super::violation::Violation;

/// Longest prompt the API takes, in characters (not bytes).
pub const MAX_PROMPT_CHARS: usize = 2500;

/// A request that passed every check: the only thing [`super::Client::create_task`] sends.
/// Cheap to clone: clones share the body, whose images can be megabytes of base64.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    body: Arc<CreateTaskRequest>,
    mode: GenerationMode,
    warnings: Vec<String>,
    external_task_id: ExternalTaskId,
}

impl ValidRequest {
    /// The external id the create carries (the caller's, or a generated one).
    pub fn external_task_id(&self) -> &ExternalTaskId {
        &self.external_task_id
    }

    /// The body to send, with every wire default filled in.
    pub fn body(&self) -> &CreateTaskRequest {
        &self.body
    }

    /// The body, shared: for a request body that streams it without a copy.
    pub fn shared_body(&self) -> Arc<CreateTaskRequest> {
        Arc::clone(&self.body)
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
        self.clone().into_valid()
    }

    /// [`CreateTaskRequest::validate`] without a copy of the request, whose images can be
    /// megabytes of base64.
    pub fn into_valid(self) -> Result<ValidRequest, Vec<Violation>> {
        let mut check = Check {
            request: self.into_wire(),
            violations: Vec::new(),
            warnings: Vec::new(),
            external: None,
        };
        let mode = check.run();
        match (check.external, check.violations.is_empty()) {
            (Some(external_task_id), true) => Ok(ValidRequest {
                body: Arc::new(check.request),
                mode,
                warnings: check.warnings,
                external_task_id,
            }),
            // `into_wire` always fills the id in, and `Check` keeps it once parsed or flags it.
            (None, true) => Err(vec![Violation::new(
                "external_task_id",
                "is missing",
                "leave it out to get a generated one",
            )]),
            (_, false) => Err(check.violations),
        }
    }
}

/// The state of one validation run.
pub(super) struct Check {
    pub(super) request: CreateTaskRequest,
    pub(super) violations: Vec<Violation>,
    pub(super) warnings: Vec<String>,
    /// The external id, once parsed (the one place it is).
    pub(super) external: Option<ExternalTaskId>,
}

impl Check {
    fn run(&mut self) -> GenerationMode {
        let mode = infer_mode(&self.request);
        let rules = models::rules(self.request.model_name);
        self.model_fields(rules);
        self.sound();
        self.storyboard(rules);
        self.prompt();
        self.image_urls();
        self.videos();
        self.counts();
        self.frames();
        self.aspect_ratio(mode);
        self.duration(mode, rules);
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
        if self.request.prompt.is_empty() && self.is_customized_storyboard() {
            // The shots carry the prompts (spec §2.5).
        } else if self.request.prompt.trim().is_empty() {
            self.fail("prompt", "is empty", "describe the video to generate");
        } else if chars > MAX_PROMPT_CHARS {
            self.fail(
                "prompt",
                format!("has {chars} characters; the limit is {MAX_PROMPT_CHARS}"),
                "shorten it",
            );
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

    /// R7, literally: required unless a `first_frame` image or a `base` video sets the shape
    /// (a first frame wins even next to a `feature` video).
    fn aspect_ratio(&mut self, mode: GenerationMode) {
        let shaped_by = if has_first_frame(&self.request) {
            Some("a first_frame image")
        } else if mode == GenerationMode::VideoEdit {
            Some("a base video edit")
        } else {
            None
        };
        match (shaped_by, self.request.aspect_ratio) {
            (None, None) => self.fail(
                "aspect_ratio",
                format!("is required for {}", mode_name(mode)),
                "set 16:9, 9:16 or 1:1",
            ),
            (Some(input), Some(_)) => self.fail(
                "aspect_ratio",
                format!("is not supported with {input} (the input sets the shape)"),
                "remove aspect_ratio",
            ),
            _ => {}
        }
    }

    /// R8 and R9 with the model's durations; ignored for a base edit.
    fn duration(&mut self, mode: GenerationMode, rules: &models::ModelRules) {
        let Some(duration) = self.request.duration else {
            return;
        };
        let text_or_frame = mode == GenerationMode::TextToVideo || has_first_frame(&self.request);
        let allowed = if text_or_frame {
            rules.text_and_frame_seconds
        } else {
            rules.other_seconds
        };
        if mode == GenerationMode::VideoEdit {
            self.request.duration = None;
            self.warnings.push("duration is ignored for a video edit (the output keeps the input's length), so it was not sent".into());
        } else if !allowed.allows(duration.seconds()) {
            let model = self.request.model_name;
            let fix = if allowed == rules.other_seconds {
                format!("use {allowed}")
            } else {
                format!(
                    "use {allowed}, or add reference images/elements for {}",
                    rules.other_seconds
                )
            };
            let takes = if text_or_frame {
                "text-only and first_frame requests take"
            } else {
                "this request takes"
            };
            self.fail(
                "duration",
                format!("is {duration}; with {model}, {takes} {allowed}"),
                fix,
            );
        }
    }
}

fn has_first_frame(request: &CreateTaskRequest) -> bool {
    request
        .image_list
        .iter()
        .any(|i| i.frame == Some(ImageType::FirstFrame))
}

mod fields;
mod models;
mod storyboard;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod v3_tests;
