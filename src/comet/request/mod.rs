//! The create request (`POST /kling/v1/videos/omni-video`): one type that is both what a caller
//! fills in (lenient input, JSON Schema for the MCP tool) and what goes on the wire (strict).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

pub use super::enums::{
    AspectRatio, ImageType, KeepOriginalSound, ModelName, QualityMode, ReferType, ShotType, Sound,
};
pub use storyboard::{Shot, ShotDuration};

/// A video generation request. Field names and values mirror CometAPI's Kling Omni Video API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// `kling-video-o1` (default) or `kling-v3-omni` (Kling 3.0: 3-15 s, sound, storyboards).
    #[serde(default)]
    pub model_name: ModelName,
    /// What to generate, 1-2500 characters (optional only for a `customize` storyboard). Refer
    /// to inputs by 1-based position: `<<<image_1>>>`, `<<<element_1>>>`, `<<<video_1>>>`.
    // Empty means absent: a v3 `customize` storyboard sends its prompts per shot instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prompt: String,
    /// Images: public http(s) URL, local file path or base64; JPG/PNG, each side >= 300 px, <= 10 MB.
    /// Images + elements: at most 7, or 4 with a video.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_list: Vec<ImageInput>,
    /// Subjects from the Kling element library.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element_list: Vec<ElementRef>,
    /// At most 1 video: public http(s) URL, MP4/MOV, 3-10 s, 720-2160 px.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_list: Vec<VideoInput>,
    /// `pro` (1080p, default) or `std` (720p, cheaper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<QualityMode>,
    /// Required for text-only and reference requests; omit with a `first_frame` image or a
    /// `base` video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<AspectRatio>,
    /// Seconds (default 5). O1: 5 or 10 for text-only and first-frame requests, 3-10 with
    /// references. v3: 3-15. Omit for a `base` video edit (output keeps the input's length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<VideoDuration>,
    /// v3 only: native audio. Off when a video is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<bool>")]
    pub sound: Option<Sound>,
    /// v3 only: a storyboard of several shots; needs `shot_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_shot: Option<bool>,
    /// v3 storyboard: `customize` (you give `multi_prompt`) or `intelligence` (the model cuts `prompt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shot_type: Option<ShotType>,
    /// v3 `customize` storyboard: 1-6 shots; shot durations add up to `duration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multi_prompt: Vec<Shot>,
    /// Public https URL that CometAPI POSTs each status change to (not http: the posts carry the video URLs). Optional; polling works without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Your own id for the task, unique in your account. Generated when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
}

/// One image input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    /// Public http(s) URL, a local PNG/JPEG path or `file://` URI (read by this server), or base64.
    pub image_url: String,
    /// Omit for a reference image; `first_frame`/`end_frame` pin the opening/closing frame.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<ImageType>,
}

/// One element from the Kling element library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementRef {
    /// Element id: a positive integer (often 18 digits; send it as a JSON number).
    #[schemars(range(min = 1))]
    pub element_id: u64,
}

/// One video input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VideoInput {
    /// Public http(s) URL (no base64).
    pub video_url: String,
    /// `base` (default): edit this clip. `feature`: use its style/camera for new footage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refer_type: Option<ReferType>,
    /// `yes` or `no`: keep the clip's sound. Default `yes` for `base`, `no` for `feature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_original_sound: Option<KeepOriginalSound>,
}

impl CreateTaskRequest {
    /// A text-only request with every optional field unset.
    pub fn text(prompt: impl Into<String>) -> Self {
        Self {
            model_name: ModelName::default(),
            prompt: prompt.into(),
            image_list: Vec::new(),
            element_list: Vec::new(),
            video_list: Vec::new(),
            mode: None,
            aspect_ratio: None,
            duration: None,
            sound: None,
            multi_shot: None,
            shot_type: None,
            multi_prompt: Vec::new(),
            callback_url: None,
            external_task_id: None,
        }
    }

    /// The body to send: fills in what the API leaves unsettled (spec §9.4) so upstream
    /// defaults can never surprise the user, and a fresh `external_task_id` when none was given.
    ///
    /// ```
    /// use kling_omni_mcp::comet::{AspectRatio, CreateTaskRequest, VideoDuration};
    ///
    /// let mut request = CreateTaskRequest::text("A paper boat drifts down a rainy street");
    /// request.aspect_ratio = Some(AspectRatio::Landscape);
    /// request.duration = VideoDuration::new(5);
    /// let body = serde_json::to_value(request.for_wire()).unwrap();
    /// assert_eq!(body["duration"], "5"); // a string on the wire
    /// assert_eq!(body["mode"], "pro");
    /// assert!(body["external_task_id"].as_str().unwrap().starts_with("kmcp-"));
    /// ```
    pub fn for_wire(&self) -> Self {
        self.clone().into_wire()
    }

    /// A copy of everything but the images (`image_list` is empty), which can be megabytes of
    /// base64: for a body or a preview that puts them back its own way.
    pub fn without_images(&self) -> Self {
        // Every field by name, so a new one cannot be left out unnoticed.
        Self {
            model_name: self.model_name,
            prompt: self.prompt.clone(),
            image_list: Vec::new(),
            element_list: self.element_list.clone(),
            video_list: self.video_list.clone(),
            mode: self.mode,
            aspect_ratio: self.aspect_ratio,
            duration: self.duration,
            sound: self.sound,
            multi_shot: self.multi_shot,
            shot_type: self.shot_type,
            multi_prompt: self.multi_prompt.clone(),
            callback_url: self.callback_url.clone(),
            external_task_id: self.external_task_id.clone(),
        }
    }

    /// [`CreateTaskRequest::for_wire`] without a copy: image payloads can be megabytes.
    pub fn into_wire(self) -> Self {
        let mut wire = self;
        wire.mode.get_or_insert(QualityMode::Pro);
        for video in &mut wire.video_list {
            let refer = *video.refer_type.get_or_insert(ReferType::Base);
            video.keep_original_sound.get_or_insert(match refer {
                ReferType::Base => KeepOriginalSound::Yes,
                ReferType::Feature => KeepOriginalSound::No,
            });
        }
        // Shots are numbered in order, as the API wants; a given index is kept for the check.
        for (shot, index) in wire.multi_prompt.iter_mut().zip(1..) {
            shot.index.get_or_insert(index);
        }
        if wire
            .external_task_id
            .as_deref()
            .is_none_or(|id| id.trim().is_empty())
        {
            wire.external_task_id = Some(new_external_task_id());
        }
        wire
    }
}

/// A high-entropy id (`kmcp-` + 32 hex digits): uniqueness is only per account, and a reseller
/// may pool upstream accounts, so short ids could collide.
pub fn new_external_task_id() -> String {
    format!("kmcp-{}", uuid::Uuid::new_v4().simple())
}

/// Whole seconds, 3-15 (each model narrows it: see the validation's rule table). Accepted as an integer or a numeric string; always sent as a string,
/// which is what the API wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VideoDuration(u8);

impl VideoDuration {
    /// Shortest duration the API accepts.
    pub const MIN: u8 = 3;
    /// Longest duration any model accepts (Kling 3.0 Omni; O1 stops at 10).
    pub const MAX: u8 = 15;

    /// A duration in range, or `None`.
    pub fn new(seconds: u64) -> Option<Self> {
        u8::try_from(seconds)
            .ok()
            .filter(|s| (Self::MIN..=Self::MAX).contains(s))
            .map(Self)
    }

    /// Length in seconds.
    pub fn seconds(self) -> u8 {
        self.0
    }
}

impl fmt::Display for VideoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for VideoDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VideoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const EXPECTED: &str = "whole seconds from 3 to 15";
        let seconds = storyboard::whole_seconds(deserializer, EXPECTED)?;
        Self::new(seconds)
            .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Unsigned(seconds), &EXPECTED))
    }
}

impl JsonSchema for VideoDuration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("VideoDuration")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": Self::MIN, "maximum": Self::MAX })
    }
}

mod storyboard;
#[cfg(test)]
mod tests;
