//! The normalised task status, and how each reply shape spells it (spec §4.3).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Normalised task status, in the API's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Accepted, not started.
    Submitted,
    /// Rendering.
    Processing,
    /// Finished; videos are ready.
    Succeed,
    /// Finished without a video.
    Failed,
}

impl TaskStatus {
    /// Reads a Kling `task_status` (any case; `succeeded`/`success`/`failure` too, spec §4.3).
    pub fn from_native(status: &str) -> Option<Self> {
        match status.trim().to_ascii_lowercase().as_str() {
            "submitted" => Some(Self::Submitted),
            "processing" => Some(Self::Processing),
            "succeed" | "succeeded" | "success" => Some(Self::Succeed),
            "failed" | "failure" => Some(Self::Failed),
            _ => None,
        }
    }

    /// Reads a wrapper `data.status` (new-api task relay).
    pub fn from_wrapper(status: &str) -> Option<Self> {
        match status.trim().to_ascii_uppercase().as_str() {
            "NOT_START" | "SUBMITTED" => Some(Self::Submitted),
            "QUEUED" | "IN_PROGRESS" => Some(Self::Processing),
            "SUCCESS" => Some(Self::Succeed),
            "FAILURE" => Some(Self::Failed),
            _ => None,
        }
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Processing => "processing",
            Self::Succeed => "succeed",
            Self::Failed => "failed",
        }
    }

    /// Whether the task will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeed | Self::Failed)
    }
}

impl JsonSchema for TaskStatus {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("TaskStatus")
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "enum": ["submitted", "processing", "succeed", "failed"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_normalise() {
        assert_eq!(
            TaskStatus::from_native("SUCCEED"),
            Some(TaskStatus::Succeed)
        );
        assert_eq!(
            TaskStatus::from_native("succeeded"),
            Some(TaskStatus::Succeed)
        );
        assert_eq!(TaskStatus::from_native("failure"), Some(TaskStatus::Failed));
        assert_eq!(TaskStatus::from_native(""), None);
        assert_eq!(
            TaskStatus::from_wrapper("not_start"),
            Some(TaskStatus::Submitted)
        );
        assert_eq!(
            TaskStatus::from_wrapper("QUEUED"),
            Some(TaskStatus::Processing)
        );
        assert_eq!(TaskStatus::from_wrapper("UNKNOWN"), None);
        assert!(TaskStatus::Failed.is_terminal() && !TaskStatus::Processing.is_terminal());
        assert_eq!(
            serde_json::to_value(TaskStatus::Succeed).unwrap(),
            "succeed"
        );
    }
}
