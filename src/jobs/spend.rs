//! What a purchase costs in the units the spend limits count, what a caller may still buy, and
//! the CometAPI balance: facts for `dry_run`, `list_video_tasks`, `get_balance` and the CLI
//! (each front door words them).

use schemars::JsonSchema;
use serde::Serialize;

use super::retry::{retry_query, with_retries};
use super::{Deadline, Error, Jobs, now_ms};
use crate::comet::{Balance, ErrorKind, GenerationMode, ValidRequest};
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

impl Jobs {
    /// The CometAPI balance of the account behind this caller's key (or the query-only key),
    /// one query retried on transient failures while time is left before `deadline`.
    pub async fn balance(&self, deadline: Deadline) -> Result<Balance, Error> {
        let deadline = deadline.min(self.call_deadline());
        with_retries(self.config.retry, deadline, retry_query, || {
            self.client.balance_within(deadline.limit())
        })
        .await
        .map_err(|gave_up| Error::gave_up(gave_up, false))
    }
}

/// The fix for a failed balance query, where it differs from the video API's.
pub fn balance_fix(err: &Error) -> Option<&'static str> {
    let (Error::Comet(cause) | Error::OutOfTime { cause, .. }) = err else {
        return None;
    };
    Some(match cause.kind() {
        ErrorKind::Auth | ErrorKind::PermissionDenied => {
            "Check COMETAPI_QUERY_KEY (or COMETAPI_KEY when no query key is set): the balance service refused it. A query-only key can be made in the CometAPI console (https://www.cometapi.com/console/token)."
        }
        ErrorKind::NotFound | ErrorKind::MalformedResponse | ErrorKind::Network => {
            "Check COMETAPI_QUOTA_URL (default https://query.cometapi.com) and the network connection. Making videos does not depend on the balance service."
        }
        ErrorKind::Timeout | ErrorKind::UpstreamUnavailable => {
            "The balance service is slow or down; try again in a minute. Making videos does not depend on it."
        }
        _ => return None,
    })
}
