//! Kling 3.0 Omni storyboard shots (`multi_prompt`, spec §2.5) and the whole-seconds type that
//! both the video and each shot send as a JSON string.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use super::{CreateTaskRequest, ModelName, ShotType, Sound};

/// One shot of a customized storyboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shot {
    /// 1-based position; assigned in order when omitted (and checked when given). Kept out of
    /// the tool schema: agents never need to write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub index: Option<u32>,
    /// What happens in this shot, 1-512 characters.
    pub prompt: String,
    /// Seconds, at least 1.
    pub duration: ShotDuration,
}

impl CreateTaskRequest {
    /// A one-line head for task lists: a v3 request's model and features in brackets
    /// (`[v3, sound, 2 shots]`), so `list` shows them without columns of their own, then the
    /// prompt, or the shot prompts of a customized storyboard (which has none). An O1
    /// request's head is its prompt, as before.
    pub fn list_head(&self) -> String {
        let mut tags = Vec::new();
        if self.model_name == ModelName::KlingV3Omni {
            tags.push("v3".to_owned());
        }
        if self.sound == Some(Sound::On) {
            tags.push("sound".to_owned());
        }
        match (self.multi_shot, self.shot_type) {
            (Some(true), Some(ShotType::Customize)) => {
                tags.push(format!("{} shots", self.multi_prompt.len()));
            }
            (Some(true), Some(ShotType::Intelligence)) => tags.push("auto shots".to_owned()),
            _ => {}
        }
        let text = if self.prompt.is_empty() {
            let shots: Vec<&str> = self
                .multi_prompt
                .iter()
                .map(|s| s.prompt.as_str())
                .collect();
            shots.join(" / ")
        } else {
            self.prompt.clone()
        };
        match tags.is_empty() {
            true => text,
            false => format!("[{}] {text}", tags.join(", ")),
        }
    }
}

/// Length of one shot in whole seconds (at least 1), sent as a string like the video's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShotDuration(u8);

impl ShotDuration {
    /// Shortest shot the API takes.
    pub const MIN: u8 = 1;

    /// A shot length of at least one second, or `None`.
    pub fn new(seconds: u64) -> Option<Self> {
        u8::try_from(seconds)
            .ok()
            .filter(|s| *s >= Self::MIN)
            .map(Self)
    }

    /// Length in seconds.
    pub fn seconds(self) -> u8 {
        self.0
    }
}

impl Serialize for ShotDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ShotDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const EXPECTED: &str = "whole seconds, at least 1";
        let seconds = whole_seconds(deserializer, EXPECTED)?;
        Self::new(seconds)
            .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Unsigned(seconds), &EXPECTED))
    }
}

impl JsonSchema for ShotDuration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("ShotDuration")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": Self::MIN })
    }
}

/// Whole seconds given as an integer, a whole float or a numeric string: agents write all three.
pub(super) fn whole_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
    expected: &'static str,
) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        Int(u64),
        Float(f64),
        Text(Cow<'a, str>),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Int(n) => Ok(n),
        Raw::Float(f) if f.fract() == 0.0 && (0.0..=255.0).contains(&f) => Ok(f as u64),
        Raw::Float(f) => Err(de::Error::invalid_value(
            de::Unexpected::Float(f),
            &expected,
        )),
        Raw::Text(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(&text), &expected)),
    }
}
