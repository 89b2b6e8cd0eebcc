//! The stored status of a task: a closed set that only moves forward.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::comet::TaskStatus;

/// Where a stored task stands: the submit outcome until a task id is known, then the task's
/// own status. Each status has a rank; the store refuses any update to a lower rank, so a
/// slow process holding an old status can never move a finished task back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoredStatus {
    /// Recorded; the create request is (about to be) on its way.
    Submitting,
    /// The create's outcome is unknown and no task with its external id was found (yet).
    SubmitUncertain,
    /// Accepted, not started.
    Submitted,
    /// Rendering.
    Processing,
    /// Finished; videos are ready.
    Succeed,
    /// Finished without a video.
    Failed,
    /// The create was refused; no task exists.
    SubmitFailed,
}

impl StoredStatus {
    /// Every status, in rank order.
    pub const ALL: [Self; 7] = [
        Self::Submitting,
        Self::SubmitUncertain,
        Self::Submitted,
        Self::Processing,
        Self::Succeed,
        Self::Failed,
        Self::SubmitFailed,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitting => "submitting",
            Self::SubmitUncertain => "submit_uncertain",
            Self::Submitted => "submitted",
            Self::Processing => "processing",
            Self::Succeed => "succeed",
            Self::Failed => "failed",
            Self::SubmitFailed => "submit_failed",
        }
    }

    /// Reads the stored spelling (exact; the store only holds what [`Self::as_str`] wrote).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Position in the forward-only order: `submitting` → `submit_uncertain` → `submitted` →
    /// `processing` → `succeed` | `failed`. `submit_failed` is final too, and is only ever
    /// reached from `submitting` (the store checks that separately).
    pub fn rank(self) -> i64 {
        match self {
            Self::Submitting => 0,
            Self::SubmitUncertain => 1,
            Self::Submitted => 2,
            Self::Processing => 3,
            Self::Succeed | Self::Failed => 4,
            Self::SubmitFailed => 5,
        }
    }

    /// Whether the status will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeed | Self::Failed | Self::SubmitFailed)
    }
}

impl From<TaskStatus> for StoredStatus {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::Submitted => Self::Submitted,
            TaskStatus::Processing => Self::Processing,
            TaskStatus::Succeed => Self::Succeed,
            TaskStatus::Failed => Self::Failed,
        }
    }
}

impl std::str::FromStr for StoredStatus {
    type Err = String;

    /// A status a person or an agent typed: any case, surrounding spaces ignored.
    fn from_str(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        Self::parse(&trimmed.to_ascii_lowercase()).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
            format!(
                "unknown status `{trimmed}`, expected one of {}",
                names.join(", ")
            )
        })
    }
}

impl std::fmt::Display for StoredStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_match_serde() {
        for status in StoredStatus::ALL {
            assert_eq!(StoredStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_value(status).unwrap();
            assert_eq!(json, status.as_str());
        }
        assert_eq!(StoredStatus::parse("Succeed"), None);
    }

    #[test]
    fn ranks_only_grow_along_the_lifecycle() {
        use StoredStatus::*;
        let path = [Submitting, SubmitUncertain, Submitted, Processing, Succeed];
        assert!(path.windows(2).all(|w| w[0].rank() < w[1].rank()));
        assert_eq!(Succeed.rank(), Failed.rank());
        assert!(SubmitFailed.rank() > Succeed.rank());
        assert_eq!(StoredStatus::from(TaskStatus::Processing), Processing);
    }
}
