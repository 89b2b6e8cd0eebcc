//! The rule table: everything that differs between the models, in one place (spec §2.2 R8,
//! §2.5). The checks read it instead of asking which model they are looking at.

use std::fmt;

use crate::comet::request::ModelName;

/// Whole seconds a request may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seconds {
    /// Only these values.
    OneOf(&'static [u8]),
    /// Anything in `from..=to`.
    Range(u8, u8),
}

impl Seconds {
    pub(super) fn allows(self, seconds: u8) -> bool {
        match self {
            Self::OneOf(values) => values.contains(&seconds),
            Self::Range(from, to) => (from..=to).contains(&seconds),
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OneOf(values) => {
                let values: Vec<String> = values.iter().map(u8::to_string).collect();
                f.write_str(&values.join(" or "))
            }
            Self::Range(from, to) => write!(f, "{from}-{to}"),
        }
    }
}

/// Limits of a customized storyboard (`multi_prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Storyboard {
    /// Most shots in one video.
    pub(super) max_shots: usize,
    /// Longest shot prompt, in characters.
    pub(super) max_prompt_chars: usize,
}

/// What one model allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ModelRules {
    /// Durations of text-only and first-frame (with or without end frame) requests.
    pub(super) text_and_frame_seconds: Seconds,
    /// Durations of every other generating request (a base edit keeps its input's length).
    pub(super) other_seconds: Seconds,
    /// Whether `sound` exists.
    pub(super) sound: bool,
    /// Storyboards (`multi_shot`, `shot_type`, `multi_prompt`), if the model has them.
    pub(super) storyboard: Option<Storyboard>,
}

/// Kling O1 Omni (spec §2.2 R8).
const O1: ModelRules = ModelRules {
    text_and_frame_seconds: Seconds::OneOf(&[5, 10]),
    other_seconds: Seconds::Range(3, 10),
    sound: false,
    storyboard: None,
};

/// Kling 3.0 Omni (spec §2.5).
const V3: ModelRules = ModelRules {
    text_and_frame_seconds: Seconds::Range(3, 15),
    other_seconds: Seconds::Range(3, 15),
    sound: true,
    storyboard: Some(Storyboard {
        max_shots: 6,
        max_prompt_chars: 512,
    }),
};

/// The rules of `model`.
pub(super) fn rules(model: ModelName) -> &'static ModelRules {
    match model {
        ModelName::KlingVideoO1 => &O1,
        ModelName::KlingV3Omni => &V3,
    }
}
