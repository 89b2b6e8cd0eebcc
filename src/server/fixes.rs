//! What an agent should do about a failure, in one sentence: the words of the MCP front door.
//! The layers below carry only facts (kind, field, code, retryable, when to retry); the CLI
//! words the same facts for a person at a terminal.

use crate::comet::{DownloadError, ErrorKind};
use crate::jobs::{self, whole_seconds};
use crate::store::StoreError;

/// The fix for a job error, for an agent.
pub(super) fn fix_for_agent(err: &jobs::Error) -> String {
    match err {
        jobs::Error::Comet(err) => kind_fix(err.kind()).to_owned(),
        jobs::Error::OutOfTime {
            retry_after,
            submit: true,
            ..
        } => format!(
            "Nothing was created or charged; call generate_video again in about {} s.",
            whole_seconds(*retry_after)
        ),
        jobs::Error::OutOfTime { retry_after, .. } => format!(
            "Call again in about {} s; a task keeps running upstream meanwhile.",
            whole_seconds(*retry_after)
        ),
        jobs::Error::SubmitUncertain {
            external_task_id, ..
        } => format!(
            "Do not resubmit yet: look for external_task_id \"{external_task_id}\" in the CometAPI task log (or call list_video_tasks later); submit again only if it is not there."
        ),
        jobs::Error::Store(err) => store_fix(err),
        jobs::Error::Download(err) => download_fix(err).to_owned(),
        jobs::Error::NoAnswerYet => "Call again in a few seconds.".to_owned(),
        jobs::Error::BudgetExceeded {
            retry_after: Some(after),
            ..
        } => format!(
            "Nothing was charged. Do not retry in a loop: call generate_video again in about {} s, when enough of the last 24 hours' purchases leave the window, or ask the person running this server to raise the limit.",
            whole_seconds(*after)
        ),
        jobs::Error::BudgetExceeded { .. } => "Nothing was charged, and this request can never fit under the limit as set: ask for fewer seconds, or ask the person running this server to raise the limit.".to_owned(),
        jobs::Error::OtherWorld {
            simulated_task: true,
            ..
        } => "Nothing was sent. Simulated tasks are answered by a server started with --simulate (add \"--simulate\" to this server's args in the MCP client config); real tasks come from generate_video on a server without it.".to_owned(),
        jobs::Error::OtherWorld { .. } => "Nothing was sent. This server is the simulator: pass a task id it returned (they start with \"sim-\"); real tasks are followed by a server started without --simulate.".to_owned(),
    }
}

/// The fix for an upstream error kind.
pub(super) fn kind_fix(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MissingApiKey => {
            "Set COMETAPI_KEY in the \"env\" block of this server's MCP client config (keys: https://www.cometapi.com/console/token), then restart the client."
        }
        ErrorKind::Auth => {
            "Check COMETAPI_KEY; if the key is right, contact CometAPI support with the request id."
        }
        ErrorKind::PermissionDenied => {
            "Check model_name: a key without Kling 3.0 access is refused kling-v3-omni, so use kling-video-o1 (or ask CometAPI to enable it); otherwise contact CometAPI support."
        }
        ErrorKind::InsufficientBalance => "Top up the CometAPI balance, then try again.",
        ErrorKind::RateLimited => {
            "Wait for running tasks to finish (about a minute), then try again."
        }
        ErrorKind::InvalidRequest => "Fix the input named in the message, then call again.",
        ErrorKind::ContentRejected => "Rephrase the prompt or replace the media, then call again.",
        ErrorKind::NotFound => {
            "Check model_name (kling-video-o1, or kling-v3-omni if this key has Kling 3.0 access); if it is right, check COMETAPI_BASE_URL (https://api.cometapi.com, without /v1)."
        }
        ErrorKind::UpstreamUnavailable => "CometAPI is having trouble; try again in a minute.",
        ErrorKind::Timeout => {
            "Try again in a minute; before resubmitting a generate_video call, check the CometAPI task log so you do not pay twice."
        }
        ErrorKind::Network => "Check the network connection and COMETAPI_BASE_URL.",
        ErrorKind::MalformedResponse => {
            "Check COMETAPI_BASE_URL: it must be the API origin (https://api.cometapi.com), without /v1."
        }
    }
}

/// The fix when the task a call asked about (`get_video_task`) is not found upstream: its id
/// is the only input, so nothing about models.
pub(super) const TASK_NOT_FOUND_FIX: &str = "Check the task_id: use the one generate_video returned (list_video_tasks lists earlier ones); a task made with another CometAPI key is not found with this one.";

fn store_fix(err: &StoreError) -> String {
    match err {
        StoreError::Unavailable { .. } => "Nothing was sent or charged. Try again shortly; if it persists, check that the task store (KLING_MCP_STORE) is reachable and writable (run `kling-omni-mcp doctor`).".to_owned(),
        StoreError::Damaged { path, .. } => format!(
            "Move {} aside (keep it for recovery) and restart the server: a fresh store is created.",
            path.display()
        ),
        StoreError::TooNew { .. } => {
            "Upgrade kling-omni-mcp, or point KLING_MCP_STORE at another store.".to_owned()
        }
        StoreError::Exposed(exposed) => format!("The operator must run: {}.", exposed.fix()),
        StoreError::ExternalIdTaken { .. } => {
            "Use a new external_task_id (or leave it out to get a generated one).".to_owned()
        }
    }
}

fn download_fix(err: &DownloadError) -> &'static str {
    match err {
        DownloadError::Refused { .. } => {
            "Open the video URL only if you trust it; the server downloads from public addresses only (start it with --allow-private-downloads for a local test server)."
        }
        DownloadError::TooManyVideos { .. } => {
            "Nothing was saved: use the URLs above directly, or raise --max-videos-per-task (KLING_MCP_MAX_VIDEOS_PER_TASK)."
        }
        DownloadError::TooLarge { .. } => {
            "Nothing was saved: use the URLs above directly, or raise --max-download-bytes (KLING_MCP_MAX_DOWNLOAD_BYTES)."
        }
        DownloadError::Write { .. } | DownloadError::Setup(_) => {
            "Nothing was saved: check that the output directory (KLING_MCP_OUTPUT_DIR) is writable and has free space, then call again with download: true."
        }
        DownloadError::Cancelled => {
            "Call get_video_task again with download: true to save the videos."
        }
        DownloadError::BadUrl { .. }
        | DownloadError::Status { .. }
        | DownloadError::Timeout { .. }
        | DownloadError::Transport { .. } => {
            "Nothing was saved; the URLs above still work: open one in a browser, or call get_video_task again with download: true (the URLs expire after about 30 days)."
        }
    }
}
