//! Errors of the job layer: the client's errors, plus the outcomes only a whole job has.

use crate::comet;

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
}

impl Error {
    /// The stable kind name shown to agents.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Comet(err) => err.kind().as_str(),
            Self::SubmitUncertain { .. } => "submit_uncertain",
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
        }
    }

    /// The client error underneath, if any.
    pub fn comet(&self) -> &comet::Error {
        match self {
            Self::Comet(err) | Self::SubmitUncertain { cause: err, .. } => err,
        }
    }
}
