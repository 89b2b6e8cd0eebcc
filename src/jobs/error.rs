//! Errors of the job layer: the client's errors, plus the outcomes only a whole job has.

use crate::comet;
use crate::store::StoreError;

/// A failed job step.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CometAPI call failed.
    #[error(transparent)]
    Comet(#[from] comet::Error),
    /// The create may have reached CometAPI (timeout, reset or 5xx after sending) and no task
    /// with our external id could be found, so it may or may not exist and be billed.
    #[error("the request may have been accepted and billed, but no answer confirmed it ({cause})")]
    SubmitUncertain {
        /// The id the task would carry.
        external_task_id: String,
        /// What went wrong.
        cause: comet::Error,
    },
    /// The task store failed; before a submit this means nothing was sent (a task that cannot
    /// be recorded is not bought).
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A result video could not be downloaded; nothing of the task was kept.
    #[error(transparent)]
    Download(#[from] comet::DownloadError),
}

impl Error {
    /// The stable kind name shown to agents.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Comet(err) => err.kind().as_str(),
            Self::SubmitUncertain { .. } => "submit_uncertain",
            Self::Store(err) => err.kind(),
            Self::Download(err) => err.kind(),
        }
    }

    /// Whether the same call may succeed later, unchanged.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Comet(err) => err.retryable(),
            Self::SubmitUncertain { .. } => false,
            Self::Store(err) => err.retryable(),
            Self::Download(err) => err.retryable(),
        }
    }

    /// What the user should do, in one sentence.
    pub fn fix(&self) -> String {
        match self {
            Self::Comet(err) => err.kind().fix().to_owned(),
            Self::SubmitUncertain {
                external_task_id, ..
            } => format!(
                "Do not resubmit yet: look for external_task_id \"{external_task_id}\" in the CometAPI task log (or call list_video_tasks later); submit again only if it is not there."
            ),
            Self::Store(StoreError::Unavailable { .. }) => {
                "Nothing was sent or charged. Try again shortly; if it persists, check that the task store (KLING_MCP_STORE) is reachable and writable (run `kling-omni-mcp doctor`).".to_owned()
            }
            Self::Store(StoreError::Damaged { path, .. }) => format!(
                "Move {} aside (keep it for recovery) and start again: a fresh store is created.",
                path.display()
            ),
            Self::Store(StoreError::TooNew { .. }) => {
                "Upgrade kling-omni-mcp, or point KLING_MCP_STORE at another store.".to_owned()
            }
            Self::Store(StoreError::ExternalIdTaken { .. }) => {
                "Use a new external_task_id (or leave it out to get a generated one).".to_owned()
            }
            Self::Download(err) => err.fix().to_owned(),
        }
    }

    /// The client error underneath, if any.
    pub fn comet(&self) -> Option<&comet::Error> {
        match self {
            Self::Comet(err) | Self::SubmitUncertain { cause: err, .. } => Some(err),
            Self::Store(_) | Self::Download(_) => None,
        }
    }
}
