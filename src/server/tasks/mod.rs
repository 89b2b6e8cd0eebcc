//! Long jobs as native MCP tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663): the
//! third front door over the same submit and follow. A `generate_video` call whose request
//! declares the extension answers at once with a task; `tasks/get` then reports it from the
//! shared poll loop (one upstream query per poll interval however often it is asked) and
//! completes with exactly what `get_video_task` returns.
//!
//! Task ids are sealed tokens ([`task_ids`](super::task_ids)): the CometAPI task id and the
//! `download` choice under an HMAC bound to the caller, so any instance that shares the secret
//! and the task store answers for them, after a restart too. What became of a task (ended,
//! cancelled, its videos saved) is in the task store, through `jobs`, so every instance tells
//! the same story and a status never moves backward; the only memory here is a cache of the
//! downloads this process runs, to stop them on `tasks/cancel`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolResponse, CallToolResult, CancelTaskParams, CreateTaskResult, DetailedTask,
    GetTaskParams, GetTaskResult, JsonObject, Task as McpTask, TaskPayload,
    TaskStatus as McpStatus, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::KlingServer;
use super::task_ids::{self, TaskSecret};
use crate::comet::{CreatedTask, ErrorKind, Task, TaskId, TaskStatus};
use crate::jobs::{self, Deadline, Followed, Freshness, McpTaskEnd, McpTaskState, Saved, now_ms};
use crate::lock;

/// How long a task's result stays available: the video URLs expire after about 30 days.
const TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// How long one `tasks/get` waits for a newly started poll loop's first answer.
const FIRST_ANSWER_WAIT: Duration = Duration::from_secs(10);

/// The tasks front door's state: the secret, and the downloads this process runs.
#[derive(Debug, Clone)]
pub(crate) struct McpTasks {
    secret: Arc<TaskSecret>,
    /// Per task, what stops its download here (`tasks/cancel`); gone when it ends.
    downloads: Arc<Mutex<HashMap<TaskId, CancellationToken>>>,
}

/// What a token names.
struct Opened {
    task_id: TaskId,
    download: bool,
}

impl McpTasks {
    /// Tasks sealed with `secret`.
    pub(crate) fn new(secret: Arc<TaskSecret>) -> Self {
        Self {
            secret,
            downloads: Arc::default(),
        }
    }

    fn seal(&self, task_id: &str, download: bool, owner: &str) -> Option<String> {
        let payload = format!("{}/{task_id}", u8::from(download));
        task_ids::seal(&self.secret, &payload, owner).ok()
    }

    /// The task a token names, if this server sealed it for `owner`; else `-32602`.
    fn open(&self, token: &str, owner: &str) -> Result<Opened, ErrorData> {
        let unknown = || {
            ErrorData::invalid_params(
                "unknown task: not a task id this server issued to this caller",
                None,
            )
        };
        let payload = task_ids::open(&self.secret, token, owner).map_err(|_| unknown())?;
        let (flag, task_id) = payload.split_once('/').ok_or_else(unknown)?;
        let task_id = TaskId::parse(task_id).map_err(|_| unknown())?;
        Ok(Opened {
            task_id,
            download: flag == "1",
        })
    }
}

impl KlingServer {
    /// Whether this `tools/call` asked for a task: the extension is declared in the request's
    /// own client capabilities (`_meta`), never only at `initialize`, so a 2025-11-25 client
    /// keeps today's synchronous results.
    pub(super) fn wants_task(&self, context: &RequestContext<RoleServer>) -> bool {
        self.tasks.is_some()
            && context
                .meta
                .client_capabilities()
                .is_some_and(|c| c.supports_tasks())
    }

    /// The answer to a submitted `generate_video` that asked for a task.
    pub(super) fn task_created(&self, created: &CreatedTask, download: bool) -> CallToolResponse {
        let sealed = self.tasks.as_ref().and_then(|tasks| {
            tasks.seal(
                created.task_id.as_str(),
                download,
                self.jobs.owner().as_str(),
            )
        });
        let Some(token) = sealed else {
            // Not reachable for ids a create reply can carry; the task exists, so say which.
            let message = format!(
                "Submitted video task {} but could not make an MCP task id for it. Fix: call get_video_task with task_id \"{}\".",
                created.task_id, created.task_id
            );
            return CallToolResult::error(vec![rmcp::model::ContentBlock::text(message)]).into();
        };
        let created_at = timestamp(created.created_at_ms);
        let task = McpTask::new(token, McpStatus::Working, created_at.clone(), created_at)
            .with_status_message(format!("submitted as Kling task {}", created.task_id))
            .with_ttl_ms(TTL_MS)
            .with_poll_interval_ms(self.poll_interval_ms());
        CreateTaskResult::new(task).into()
    }

    /// `tasks/get`: `working` while the Kling task runs (and while asked-for videos are being
    /// saved, by this process or another), `completed` with `get_video_task`'s result once it
    /// has finished (`isError` for a failed job), `failed` only when the task can no longer be
    /// found, `cancelled` after `tasks/cancel`. An end is recorded before it is reported, and
    /// then holds: every instance, and a restarted process, answers with it.
    pub(super) async fn get_mcp_task(
        &self,
        params: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let tasks = self.mcp_tasks()?;
        let opened = tasks.open(&params.task_id, self.jobs.owner().as_str())?;
        let (token, task_id) = (params.task_id.as_str(), &opened.task_id);
        let working = |message: String, task: Option<&Task>| {
            detailed(self.head(token, message, task), TaskPayload::Working)
        };
        let saving = match self.jobs.mcp_task_state(task_id).await {
            Ok(McpTaskState::Ended(end)) => return Ok(self.ended(token, task_id, end)),
            Ok(McpTaskState::Open { saving }) => saving,
            Err(err) => return Ok(working(unavailable(&err), None)),
        };
        let deadline = Deadline::after(FIRST_ANSWER_WAIT).min(self.jobs.call_deadline());
        let task = match self.jobs.status(task_id, Freshness::Shared, deadline).await {
            Ok(task) => task,
            Err(jobs::Error::NoAnswerYet) => {
                let message = "submitted; waiting for CometAPI's first status".to_owned();
                return Ok(working(message, None));
            }
            Err(err) if err.comet().is_some_and(|e| e.kind() == ErrorKind::NotFound) => {
                let end = McpTaskEnd::Failed {
                    reason: err.to_string(),
                };
                return Ok(self.settle(token, task_id, end).await);
            }
            // A passing fault (network, rate limit): the job is unaffected, ask again.
            Err(err) => return Ok(working(unavailable(&err), None)),
        };
        match task.status {
            TaskStatus::Submitted | TaskStatus::Processing => {
                Ok(working(progress_message(&task), Some(&task)))
            }
            TaskStatus::Succeed if opened.download => {
                if !saving {
                    self.start_saving(tasks, task_id, &task).await;
                }
                Ok(working(
                    "succeeded; saving the videos".to_owned(),
                    Some(&task),
                ))
            }
            TaskStatus::Succeed | TaskStatus::Failed => {
                let end = McpTaskEnd::Completed {
                    task: Box::new(task),
                    saved: None,
                };
                Ok(self.settle(token, task_id, end).await)
            }
        }
    }

    /// `tasks/cancel`: stops following the task on every instance (and any download of it,
    /// which keeps nothing); the Kling job itself keeps running. Acknowledged for finished
    /// tasks too, which stay as they finished.
    pub(super) async fn cancel_mcp_task(&self, params: &CancelTaskParams) -> Result<(), ErrorData> {
        let tasks = self.mcp_tasks()?;
        let opened = tasks.open(&params.task_id, self.jobs.owner().as_str())?;
        let end = self
            .jobs
            .cancel_following(&opened.task_id)
            .await
            .map_err(|err| {
                ErrorData::internal_error(
                    format!("the cancel was not recorded: {err}. Fix: send tasks/cancel again."),
                    None,
                )
            })?;
        if let Some(stop) = lock(&tasks.downloads).get(&opened.task_id) {
            stop.cancel();
        }
        if matches!(end, McpTaskEnd::Cancelled { .. }) {
            tracing::info!("MCP task cancelled: stopped following; the Kling job keeps running");
        }
        Ok(())
    }

    /// `tasks/update`: these tasks never ask for input, so there is nothing to apply; a known
    /// task is acknowledged (the SEP ignores unknown keys), a foreign one refused.
    pub(super) fn update_mcp_task(&self, params: &UpdateTaskParams) -> Result<(), ErrorData> {
        let tasks = self.mcp_tasks()?;
        tasks
            .open(&params.task_id, self.jobs.owner().as_str())
            .map(|_| ())
    }

    fn mcp_tasks(&self) -> Result<&McpTasks, ErrorData> {
        self.tasks.as_ref().ok_or_else(|| {
            ErrorData::invalid_params("unknown task: this server issues no tasks", None)
        })
    }

    fn poll_interval_ms(&self) -> u64 {
        u64::try_from(self.jobs.poll_interval().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The task fields every answer carries.
    fn head(&self, token: &str, message: String, task: Option<&Task>) -> McpTask {
        let created = timestamp(task.and_then(|t| t.created_at_ms));
        let updated = timestamp(task.and_then(|t| t.updated_at_ms));
        McpTask::new(token.to_owned(), McpStatus::Working, created, updated)
            .with_status_message(message)
            .with_ttl_ms(TTL_MS)
            .with_poll_interval_ms(self.poll_interval_ms())
    }

    /// Records `end` unless the task already ended, and answers with the end that holds (a
    /// cancel that came first, say); `working` while it cannot be recorded.
    async fn settle(&self, token: &str, task_id: &TaskId, end: McpTaskEnd) -> GetTaskResult {
        match self.jobs.end_mcp_task(task_id, end).await {
            Ok(end) => self.ended(token, task_id, end),
            Err(err) => detailed(
                self.head(token, unavailable(&err), None),
                TaskPayload::Working,
            ),
        }
    }

    /// The answer for an ended task.
    fn ended(&self, token: &str, task_id: &TaskId, end: McpTaskEnd) -> GetTaskResult {
        match end {
            McpTaskEnd::Cancelled { at_ms } => {
                let message = format!(
                    "Stopped following (tasks/cancel). The Kling job itself keeps running on CometAPI, which has no cancel: get_video_task with task_id \"{task_id}\" still shows it."
                );
                let mut head = self.head(token, message, None);
                head.last_updated_at = timestamp(Some(at_ms));
                detailed(head, TaskPayload::Cancelled)
            }
            McpTaskEnd::Failed { reason } => {
                let error = ErrorData::resource_not_found(
                    format!("CometAPI no longer knows task {task_id}: {reason}"),
                    None,
                );
                let payload = TaskPayload::Failed {
                    error: to_object(&error),
                };
                detailed(self.head(token, reason, None), payload)
            }
            McpTaskEnd::Completed { task, saved } => {
                let mut followed = Followed::unfollowed(*task);
                let download_error = match saved {
                    Some(Saved::Files(files)) => {
                        followed.files = files;
                        None
                    }
                    Some(Saved::Failed(why)) => Some(format!(
                        "{why}; nothing was saved. Fix: use the URLs above, or call get_video_task with task_id \"{task_id}\" and download: true to try again."
                    )),
                    None => None,
                };
                let mut result = self.task_result_with(&followed, download_error);
                if followed.task.status == TaskStatus::Failed {
                    result.is_error = Some(true);
                }
                let message = followed.task.status.as_str().to_owned();
                let payload = TaskPayload::Completed {
                    result: to_object(&result),
                };
                detailed(self.head(token, message, Some(&followed.task)), payload)
            }
        }
    }

    /// Starts saving a succeeded task's videos here, unless this process already is or
    /// another process holds the claim; the download ends the task when it finishes.
    async fn start_saving(&self, tasks: &McpTasks, task_id: &TaskId, task: &Task) {
        if lock(&tasks.downloads).contains_key(task_id) {
            return;
        }
        let claim = match self.jobs.claim_mcp_download(task_id).await {
            Ok(Some(claim)) => claim,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(%err, %task_id, "cannot claim the download; asking again later");
                return;
            }
        };
        let stop = self.shutdown.child_token();
        lock(&tasks.downloads).insert(task_id.clone(), stop.clone());
        let (jobs, downloads) = (self.jobs.clone(), tasks.downloads.clone());
        let (task_id, task) = (task_id.clone(), task.clone());
        tokio::spawn(async move {
            if let Err(err) = jobs.save_for_mcp_task(claim, task, &stop).await {
                tracing::warn!(%err, %task_id, "saved the videos, but cannot record it; another call saves them again");
            }
            lock(&downloads).remove(&task_id);
        });
    }
}

/// `status unavailable for now (kind): …`: why a task reads as `working` for the moment.
fn unavailable(err: &jobs::Error) -> String {
    format!("status unavailable for now ({}): {err}", err.kind())
}

/// `processing, 40 s (35%)`: what a working task is doing, for `statusMessage`.
fn progress_message(task: &Task) -> String {
    let mut message = task.status.as_str().to_owned();
    if let Some(created) = task.created_at_ms {
        let seconds = (now_ms().saturating_sub(created) / 1000).max(0);
        message.push_str(&format!(", {seconds} s"));
    }
    if let Some(percent) = task.progress_percent {
        message.push_str(&format!(" ({percent}%)"));
    }
    message
}

fn detailed(task: McpTask, payload: TaskPayload) -> GetTaskResult {
    GetTaskResult::new(DetailedTask::new(task, payload))
}

fn to_object<T: serde::Serialize>(value: &T) -> JsonObject {
    match serde_json::to_value(value) {
        Ok(Value::Object(object)) => object,
        _ => JsonObject::new(),
    }
}

/// Unix milliseconds (now when unknown) as an RFC 3339 UTC timestamp.
fn timestamp(ms: Option<i64>) -> String {
    let ms = ms.unwrap_or_else(now_ms);
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
