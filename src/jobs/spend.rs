//! What a purchase costs in the units the spend limits count, and what a caller may still buy:
//! facts for `dry_run`, `list_video_tasks` and the CLI (each front door words them).

use schemars::JsonSchema;
use serde::Serialize;

use super::{Error, Jobs, now_ms};
use crate::comet::{GenerationMode, ValidRequest};
use crate::store::{Usage, billed_seconds};

/// What one request would buy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Spend {
    /// Videos (always 1).
    pub videos: u32,
    /// Requested seconds, as the limits count them (a base edit counts 10).
    pub seconds: u32,
    /// Model name.
    pub model: String,
    /// What the API will make.
    pub mode: GenerationMode,
}

impl Spend {
    /// The spend of a prepared request.
    pub fn of(valid: &ValidRequest) -> Self {
        let body = valid.body();
        let mode = valid.mode();
        Self {
            videos: 1,
            seconds: billed_seconds(mode.as_str(), body.duration.map(|d| d.seconds())),
            model: body.model_name.to_string(),
            mode,
        }
    }
}

/// What this caller may still buy in the rolling 24 hours, under the limits that are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Allowance {
    /// Videos left under `--max-videos-per-day`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub videos_left: Option<u32>,
    /// Seconds left under `--max-seconds-per-day`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_left: Option<u32>,
}

impl Jobs {
    /// What this caller bought in the last 24 hours (this world's tasks only).
    pub async fn usage_24h(&self) -> Result<Usage, Error> {
        Ok(self.store.usage(&self.owner, now_ms()).await?)
    }

    /// What this caller may still buy, when a limit is set; `None` without limits or when the
    /// store cannot say now (logged).
    pub async fn allowance(&self) -> Option<Allowance> {
        let limits = self.config.spend;
        if limits.is_off() {
            return None;
        }
        let used = match self.usage_24h().await {
            Ok(used) => used,
            Err(err) => {
                tracing::warn!(%err, "cannot read the spend of the last 24 hours");
                return None;
            }
        };
        Some(Allowance {
            videos_left: limits.videos.map(|max| max.saturating_sub(used.videos)),
            seconds_left: limits.seconds.map(|max| max.saturating_sub(used.seconds)),
        })
    }
}
