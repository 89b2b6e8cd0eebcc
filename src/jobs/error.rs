//! Errors of the job layer: the client's errors, plus the outcomes only a whole job has.

use std::time::Duration;

use super::retry::GaveUp;
use crate::comet::{self, TaskId};
use crate::store::{LimitKind, Refusal, StoreError};

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
    /// The task belongs to the other world: a simulated task asked of a server that talks to
    /// CometAPI, or a real task asked of the simulator. Nothing was sent.
    #[error("{}", other_world_message(task_id, *simulated_task))]
    OtherWorld {
        /// The task asked about.
        task_id: TaskId,
        /// Whether that task is simulated (and this process is not).
        simulated_task: bool,
    },
    /// A daily spend limit (`--max-videos-per-day`, `--max-seconds-per-day`) would be passed;
    /// nothing was recorded or sent.
    #[error("{}", budget_message(refusal))]
    BudgetExceeded {
        /// Which limit, what was used, and when enough leaves the window.
        refusal: Refusal,
        /// How long until this call fits, if it ever will.
        retry_after: Option<Duration>,
    },
    /// The shared poll loop had no answer yet when the call's time ran out (the task is
    /// fine; ask again).
    #[error("no status from CometAPI yet")]
    NoAnswerYet,
    /// A failure that a later try may clear (rate limit, timeout, reset, 5xx) was still there
    /// when the call's time ran out; the call answers instead of outliving its client.
    #[error("{cause}; this call stopped at its time limit instead of retrying")]
    OutOfTime {
        /// The last failure.
        cause: comet::Error,
        /// When to try again: the server's `Retry-After`, else the next backoff step.
        retry_after: Duration,
        /// Whether this was a create (which, being retryable, provably started nothing).
        submit: bool,
    },
}

impl Error {
    /// The stable kind name shown to agents. Running out of time keeps the kind of the
    /// failure that used the time up (`rate_limited`, `timeout`, `network`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Comet(err) | Self::OutOfTime { cause: err, .. } => err.kind().as_str(),
            Self::SubmitUncertain { .. } => "submit_uncertain",
            Self::OtherWorld {
                simulated_task: true,
                ..
            } => "simulated_task",
            Self::OtherWorld { .. } => "real_task",
            Self::NoAnswerYet => "no_answer_yet",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::Store(err) => err.kind(),
            Self::Download(err) => err.kind(),
        }
    }

    /// Whether the same call may succeed later, unchanged.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Comet(err) => err.retryable(),
            Self::OutOfTime { .. } | Self::NoAnswerYet => true,
            // Retryable once purchases leave the window; never when the call alone is over.
            Self::BudgetExceeded { retry_after, .. } => retry_after.is_some(),
            Self::SubmitUncertain { .. } | Self::OtherWorld { .. } => false,
            Self::Store(err) => err.retryable(),
            Self::Download(err) => err.retryable(),
        }
    }

    /// The client error underneath, if any.
    pub fn comet(&self) -> Option<&comet::Error> {
        match self {
            Self::Comet(err)
            | Self::SubmitUncertain { cause: err, .. }
            | Self::OutOfTime { cause: err, .. } => Some(err),
            Self::Store(_)
            | Self::Download(_)
            | Self::OtherWorld { .. }
            | Self::NoAnswerYet
            | Self::BudgetExceeded { .. } => None,
        }
    }

    /// When to call again, for errors that know: the server's `Retry-After`, or the
    /// pause the call's deadline cut short.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::OutOfTime { retry_after, .. } => Some(*retry_after),
            Self::Comet(err) => err.retry_after(),
            Self::BudgetExceeded { retry_after, .. } => *retry_after,
            // Not a "call again" error: the advice is to look first.
            Self::SubmitUncertain { .. }
            | Self::Store(_)
            | Self::Download(_)
            | Self::OtherWorld { .. }
            | Self::NoAnswerYet => None,
        }
    }

    /// A retried call that gave up: out of time when the deadline stopped it.
    pub(super) fn gave_up(gave_up: GaveUp, submit: bool) -> Self {
        match gave_up.retry_in {
            Some(retry_after) => Self::OutOfTime {
                cause: gave_up.error,
                retry_after,
                submit,
            },
            None => Self::Comet(gave_up.error),
        }
    }
}

fn budget_message(r: &Refusal) -> String {
    let (limit, used, setting) = match r.kind {
        LimitKind::Videos => (
            format!("{} videos per day", r.limit),
            format!("{} videos", r.used.videos),
            "--max-videos-per-day (KLING_MCP_MAX_VIDEOS_PER_DAY)",
        ),
        LimitKind::Seconds => (
            format!("{} seconds of video per day", r.limit),
            format!(
                "{} seconds, and this call asks for {}",
                r.used.seconds, r.asked_seconds
            ),
            "--max-seconds-per-day (KLING_MCP_MAX_SECONDS_PER_DAY)",
        ),
    };
    format!(
        "spend limit reached: {limit} for this key over the last 24 hours, and {used} were bought; nothing was sent ({setting} raises it)"
    )
}

fn other_world_message(task_id: &TaskId, simulated_task: bool) -> String {
    if simulated_task {
        format!(
            "task {task_id} was made by the built-in simulator (--simulate); CometAPI has never heard of it, so it was not asked"
        )
    } else {
        format!(
            "task {task_id} is a CometAPI task; this process runs the built-in simulator (--simulate), which cannot see real tasks and never touches their records"
        )
    }
}

/// Whole seconds, rounded up, at least 1: what an agent can act on.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.max(1)
}
