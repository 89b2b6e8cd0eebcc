//! Checks of the Kling 3.0 Omni fields (spec §2.5): `sound` and storyboards. What a model
//! allows comes from its row of the rule table ([`super::models`]).

use super::Check;
use super::models::{ModelRules, rules};
use crate::comet::mode::has_video;
use crate::comet::request::{ReferType, ShotType, Sound};

impl Check {
    /// Whether the request is a storyboard, of a model that has them, whose shots the caller
    /// gives (then the top-level `prompt` is not used).
    pub(super) fn is_customized_storyboard(&self) -> bool {
        rules(self.request.model_name).storyboard.is_some()
            && self.request.multi_shot == Some(true)
            && self.request.shot_type == Some(ShotType::Customize)
    }

    /// Fields the model does not have, each named: the API would refuse or ignore them.
    pub(super) fn model_fields(&mut self, rules: &ModelRules) {
        let model = self.request.model_name;
        let mut absent = Vec::new();
        if !rules.sound && self.request.sound.is_some() {
            absent.push("sound");
        }
        if rules.storyboard.is_none() {
            if self.request.multi_shot.is_some() {
                absent.push("multi_shot");
            }
            if self.request.shot_type.is_some() {
                absent.push("shot_type");
            }
            if !self.request.multi_prompt.is_empty() {
                absent.push("multi_prompt");
            }
        }
        for field in absent {
            self.fail(
                field,
                format!("is not available with {model}"),
                "set model_name `kling-v3-omni`, or remove it",
            );
        }
    }

    pub(super) fn sound(&mut self) {
        if self.request.sound == Some(Sound::On) && !self.request.video_list.is_empty() {
            self.fail(
                "sound",
                "must be off with a video in video_list",
                "remove sound (keep_original_sound decides the clip's audio)",
            );
        }
    }

    pub(super) fn storyboard(&mut self, rules: &ModelRules) {
        let Some(limits) = rules.storyboard else {
            return;
        };
        let multi_shot = self.request.multi_shot == Some(true);
        match (multi_shot, self.request.shot_type) {
            (true, None) => self.fail(
                "shot_type",
                "is required with multi_shot",
                "set `customize` (give multi_prompt) or `intelligence`",
            ),
            (false, Some(_)) => self.fail(
                "shot_type",
                "is only used with multi_shot true",
                "set multi_shot true, or remove shot_type",
            ),
            _ => {}
        }
        let customize = self.is_customized_storyboard();
        let shots = self.request.multi_prompt.clone();
        if !customize {
            if !shots.is_empty() {
                self.fail(
                    "multi_prompt",
                    "is only used with multi_shot true and shot_type `customize`",
                    "set both, or remove multi_prompt",
                );
            }
            return;
        }
        if has_video(&self.request, ReferType::Base) {
            // A base edit keeps its input's length and must not send `duration` (R9), so shots
            // cannot add up to it.
            self.fail(
                "multi_prompt",
                "can't be used with a base video edit (the output keeps the input's length)",
                "use shot_type `intelligence`, or refer_type `feature` for the video",
            );
            return;
        }
        if !self.request.prompt.trim().is_empty() {
            self.warnings.push(
                "prompt is not used by a customize storyboard (each shot's prompt is); it was sent as given"
                    .into(),
            );
        }
        if shots.is_empty() || shots.len() > limits.max_shots {
            self.fail(
                "multi_prompt",
                format!(
                    "has {} shots; a customize storyboard takes 1-{}",
                    shots.len(),
                    limits.max_shots
                ),
                "give one {prompt, duration} per shot",
            );
        }
        for (i, shot) in shots.iter().enumerate() {
            let chars = shot.prompt.chars().count();
            if shot.prompt.trim().is_empty() || chars > limits.max_prompt_chars {
                self.fail(
                    format!("multi_prompt[{i}].prompt"),
                    format!(
                        "has {chars} characters; a shot takes 1-{}",
                        limits.max_prompt_chars
                    ),
                    "describe the shot in fewer words",
                );
            }
            let expected = i + 1;
            if shot.index.is_some_and(|index| index as usize != expected) {
                self.fail(
                    format!("multi_prompt[{i}].index"),
                    format!("is not {expected}; shots are numbered 1..n in order"),
                    "remove index (it is assigned in order)",
                );
            }
        }
        let total: u32 = shots.iter().map(|s| u32::from(s.duration.seconds())).sum();
        match self.request.duration {
            None => self.fail(
                "duration",
                "is required with a customize storyboard",
                format!("set it to the shots' total, {total}"),
            ),
            Some(d) if u32::from(d.seconds()) != total && !shots.is_empty() => self.fail(
                "multi_prompt",
                format!("shot durations add up to {total}, not duration {d}"),
                "make the shot durations add up to duration",
            ),
            Some(_) => {}
        }
    }
}
