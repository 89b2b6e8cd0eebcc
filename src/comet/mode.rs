//! The generation mode a request asks for, inferred from which inputs are present (spec §2.3).

use serde::Serialize;

use super::request::{CreateTaskRequest, ImageType, ReferType};

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

impl GenerationMode {
    /// The snake_case name used in tool output and the task store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TextToVideo => "text_to_video",
            Self::FirstFrame => "first_frame",
            Self::FirstEndFrame => "first_end_frame",
            Self::Reference => "reference",
            Self::VideoFeatureReference => "video_feature_reference",
            Self::VideoEdit => "video_edit",
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

pub(super) fn mode_name(mode: GenerationMode) -> &'static str {
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
pub(super) fn has_video(request: &CreateTaskRequest, kind: ReferType) -> bool {
    request
        .video_list
        .iter()
        .any(|v| v.refer_type.unwrap_or(ReferType::Base) == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_serialized_form() {
        for mode in [
            GenerationMode::TextToVideo,
            GenerationMode::FirstFrame,
            GenerationMode::FirstEndFrame,
            GenerationMode::Reference,
            GenerationMode::VideoFeatureReference,
            GenerationMode::VideoEdit,
        ] {
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
        }
    }
}
