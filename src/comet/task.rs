//! The task as this crate sees it, whichever reply shape it came in: [`Task`] (with its
//! [`Video`]s and the [`ReplyShape`] it arrived in) and [`CreatedTask`], an accepted create.
//! Plain data; `reply_shapes` builds them from the wire types and `response` from reply bytes.

use serde::{Deserialize, Serialize};

use super::ids::TaskId;
use super::status::TaskStatus;

/// Which documented reply shape a task came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyShape {
    /// Kling-native `{code: 0, data: {task_status}}` (current docs).
    Native,
    /// new-api wrapper `{code: "success", data: {status, data}}` (older docs).
    Wrapper,
}

/// A task, normalised from either reply shape. Serialisable so that waiters in other
/// processes can share one poll's answer through the task store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Upstream task id (a string, never parsed as a number).
    pub task_id: TaskId,
    /// Normalised status.
    pub status: TaskStatus,
    /// Upstream status text: the failure reason on `failed`.
    pub status_message: Option<String>,
    /// The caller's own id, when echoed.
    pub external_task_id: Option<String>,
    /// Creation time, Unix ms.
    pub created_at_ms: Option<i64>,
    /// Last update, Unix ms.
    pub updated_at_ms: Option<i64>,
    /// Progress percentage, when the reply gives one (wrapper shape only).
    pub progress_percent: Option<u8>,
    /// Finished videos (empty until `succeed`).
    pub videos: Vec<Video>,
    /// Upstream request id.
    pub request_id: Option<String>,
    /// The shape the reply came in.
    pub shape: ReplyShape,
    /// Units Kling billed (`final_unit_deduction`), once a finished task's reply says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
}

/// A finished video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Video {
    /// Upstream video id.
    pub id: Option<String>,
    /// Download URL.
    pub url: String,
    /// Duration as the API wrote it (`"5.041"`), unknown when the URL came from a fallback.
    pub duration: Option<String>,
}

/// The units in a reply's `final_unit_deduction`: a finite, non-negative number of sane size
/// (`"8"`, `8`, `"0.5"`); anything else is not shown rather than trusted.
pub fn parse_units(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 24 {
        return None;
    }
    let units: f64 = raw.parse().ok()?;
    (units.is_finite() && (0.0..1e9).contains(&units)).then_some(units)
}

impl Video {
    /// The duration in seconds, when it parses.
    pub fn duration_seconds(&self) -> Option<f64> {
        self.duration.as_deref()?.trim().parse().ok()
    }
}

/// An accepted create request.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedTask {
    /// Upstream task id.
    pub task_id: TaskId,
    /// Normally `submitted`.
    pub status: TaskStatus,
    /// The external id the API echoed, if any.
    pub external_task_id: Option<String>,
    /// Creation time, Unix ms.
    pub created_at_ms: Option<i64>,
    /// Upstream request id.
    pub request_id: Option<String>,
}

impl From<&CreatedTask> for Task {
    /// The task as its create reply describes it (before any query).
    fn from(created: &CreatedTask) -> Self {
        Self {
            task_id: created.task_id.clone(),
            status: created.status,
            status_message: None,
            external_task_id: created.external_task_id.clone(),
            created_at_ms: created.created_at_ms,
            updated_at_ms: created.created_at_ms,
            progress_percent: None,
            videos: Vec::new(),
            request_id: created.request_id.clone(),
            shape: ReplyShape::Native,
            units: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_units;

    #[test]
    fn units_are_a_sane_number_or_nothing() {
        assert_eq!(parse_units("8"), Some(8.0));
        assert_eq!(parse_units(" 0.5 "), Some(0.5));
        for bad in ["", "-1", "NaN", "inf", "1e12", "8 units", "sk-secret"] {
            assert_eq!(parse_units(bad), None, "{bad}");
        }
    }
}
