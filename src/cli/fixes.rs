//! What a person at a terminal should do about a failure: the CLI's words for the facts the
//! layers below carry (the MCP tools word the same facts for an agent).

use crate::comet::{DownloadError, ErrorKind};
use crate::jobs::{self, whole_seconds};
use crate::store::StoreError;

/// The fix for a job error, for a person.
pub(crate) fn fix_for_person(err: &jobs::Error) -> String {
    match err {
        jobs::Error::Comet(err) => kind_fix(err.kind()).to_owned(),
        jobs::Error::OutOfTime {
            retry_after,
            submit: true,
            ..
        } => format!(
            "nothing was created or charged; run the same command again in about {} s",
            whole_seconds(*retry_after)
        ),
        jobs::Error::OutOfTime { retry_after, .. } => format!(
            "run it again in about {} s; the task keeps running meanwhile",
            whole_seconds(*retry_after)
        ),
        jobs::Error::SubmitUncertain {
            external_task_id, ..
        } => format!(
            "do not resubmit yet: look for external id \"{external_task_id}\" in the CometAPI task log, or run `kling-omni-mcp list` in a few minutes; submit again only if it is not there"
        ),
        jobs::Error::Store(err) => store_fix(err),
        jobs::Error::Download(err) => download_fix(err).to_owned(),
        jobs::Error::NoAnswerYet => "run it again in a few seconds".to_owned(),
        jobs::Error::BudgetExceeded {
            retry_after: Some(after),
            ..
        } => format!(
            "nothing was charged; run it again in about {} s (`kling-omni-mcp list` shows the last 24 hours), or raise the limit",
            whole_seconds(*after)
        ),
        jobs::Error::BudgetExceeded { .. } => {
            "nothing was charged; this request can never fit under the limit as set: ask for fewer seconds, or raise the limit".to_owned()
        }
        jobs::Error::OtherWorld {
            task_id,
            simulated_task: true,
        } => {
            format!("nothing was sent; follow it with `kling-omni-mcp status {task_id} --simulate`")
        }
        jobs::Error::OtherWorld { task_id, .. } => format!(
            "nothing was sent; follow it without the simulator: `kling-omni-mcp status {task_id}` (with COMETAPI_KEY set)"
        ),
    }
}

/// The fix for an upstream error kind, for a person.
pub(crate) fn kind_fix(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MissingApiKey => {
            "export COMETAPI_KEY=sk-... (keys: https://www.cometapi.com/console/token)"
        }
        ErrorKind::Auth => {
            "check COMETAPI_KEY; if the key is right, contact CometAPI support with the request id"
        }
        ErrorKind::PermissionDenied => {
            "check --model: a key without Kling 3.0 access is refused kling-v3-omni, so use --model kling-video-o1 (or ask CometAPI to enable it); otherwise contact CometAPI support"
        }
        ErrorKind::InsufficientBalance => "top up the CometAPI balance, then try again",
        ErrorKind::RateLimited => {
            "wait for running tasks to finish (about a minute), then try again"
        }
        ErrorKind::InvalidRequest => "fix the flag named in the message and run it again",
        ErrorKind::ContentRejected => "rephrase the prompt or replace the media",
        ErrorKind::NotFound => {
            "check the task id (the one `generate` printed, or see `kling-omni-mcp list`)"
        }
        ErrorKind::UpstreamUnavailable => "CometAPI is having trouble; try again in a minute",
        ErrorKind::Timeout => {
            "try again in a minute; before generating again, run `kling-omni-mcp list` so you do not pay twice"
        }
        ErrorKind::Network => "check the network connection and COMETAPI_BASE_URL",
        ErrorKind::MalformedResponse => {
            "check COMETAPI_BASE_URL: it must be the API origin (https://api.cometapi.com), without /v1"
        }
    }
}

/// The fix for a task store error, for a person (also at server start).
pub fn store_fix(err: &StoreError) -> String {
    match err {
        StoreError::Unavailable { .. } => "check that the task store (--store / KLING_MCP_STORE) is reachable and that this user may write it (a SQLite file and its directory, or a PostgreSQL role with access to its database), or point --store elsewhere; a submit it refused sent and charged nothing".to_owned(),
        StoreError::Damaged { path, .. } => format!(
            "move {} aside (keep it for recovery) and start again: a fresh store is created",
            path.display()
        ),
        StoreError::TooNew { .. } => {
            "upgrade kling-omni-mcp, or point --store (KLING_MCP_STORE) at another store".to_owned()
        }
        StoreError::Exposed(exposed) => exposed.fix(),
        StoreError::ExternalIdTaken { .. } => {
            "use a new --external-task-id (or leave it out to get a generated one)".to_owned()
        }
    }
}

fn download_fix(err: &DownloadError) -> &'static str {
    match err {
        DownloadError::Refused { .. } => {
            "the server downloads from public addresses only (--allow-private-downloads for a local test server)"
        }
        DownloadError::TooManyVideos { .. } => {
            "nothing was saved: use the URLs, or raise --max-videos-per-task"
        }
        DownloadError::TooLarge { .. } => {
            "nothing was saved: use the URLs, or raise --max-download-bytes"
        }
        DownloadError::Write { .. } | DownloadError::Setup(_) => {
            "nothing was saved: check that the --download directory is writable and has free space"
        }
        DownloadError::Cancelled => {
            "run `kling-omni-mcp status TASK_ID --download DIR` to save the videos"
        }
        DownloadError::BadUrl { .. }
        | DownloadError::Status { .. }
        | DownloadError::Timeout { .. }
        | DownloadError::Transport { .. } => {
            "nothing was saved; the URLs still work (they expire after about 30 days): try `kling-omni-mcp status TASK_ID --download DIR` again"
        }
    }
}
