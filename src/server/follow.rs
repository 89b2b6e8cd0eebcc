//! What both tools do once they have a task id: optionally wait (with progress notifications
//! and cancellation), optionally download, and describe the result.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ContentBlock, ProgressNotificationParam, Resource};
use rmcp::service::RequestContext;
use schemars::JsonSchema;
use serde::Serialize;

use super::KlingServer;
use crate::comet::{Task, TaskStatus};
use crate::jobs::{self, Deadline, DownloadedFile, WaitEnd};

/// A downloaded video, in tool output.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LocalFileOutput {
    /// Absolute path of the saved file.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// How a tool follows a task.
#[derive(Debug, Clone, Copy)]
pub(super) struct Follow {
    /// Wait up to this long for the task to finish (0: answer at once).
    pub(super) wait_seconds: u32,
    /// Save the videos once it has succeeded.
    pub(super) download: bool,
    /// When the tool call must answer.
    pub(super) deadline: Deadline,
}

/// The longest the last progress notifications may hold up a result.
const NOTIFY_GRACE: Duration = Duration::from_secs(2);

/// A task after the optional wait and download.
#[derive(Debug, Clone)]
pub(super) struct Followed {
    pub(super) task: Task,
    pub(super) waited: Option<Duration>,
    pub(super) end: Option<WaitEnd>,
    pub(super) files: Vec<DownloadedFile>,
    pub(super) download_error: Option<String>,
}

impl Followed {
    /// The files as tool output.
    pub(super) fn local_files(&self) -> Vec<LocalFileOutput> {
        self.files
            .iter()
            .map(|f| LocalFileOutput {
                path: f.path.display().to_string(),
                bytes: f.bytes,
            })
            .collect()
    }

    /// `resource_link` content items for the downloaded files.
    pub(super) fn resource_links(&self) -> Vec<ContentBlock> {
        self.files
            .iter()
            .filter_map(|file| {
                let uri = crate::local_images::file_uri(&file.path)?;
                let name = file.path.file_name()?.to_string_lossy().into_owned();
                let mut resource = Resource::new(uri, name);
                resource.mime_type = Some("video/mp4".into());
                resource.size = Some(file.bytes);
                Some(ContentBlock::resource_link(resource))
            })
            .collect()
    }

    /// The next step for the agent, given how the wait ended.
    pub(super) fn next_step(&self) -> String {
        let task = &self.task;
        match task.status {
            TaskStatus::Submitted | TaskStatus::Processing => {
                let why = match self.end {
                    Some(WaitEnd::Cancelled) => "Stopped waiting (cancelled); the task keeps running. ",
                    Some(WaitEnd::TimedOut) => "Still running after the wait. ",
                    _ => "Not finished. ",
                };
                format!(
                    "{why}Call get_video_task with task_id \"{}\" again in about 20 s (or with wait_seconds up to 50); jobs usually take 1-5 minutes.",
                    task.task_id
                )
            }
            TaskStatus::Succeed if task.videos.is_empty() => "The task succeeded but CometAPI listed no video URL yet: call get_video_task again in a minute, or check the CometAPI console.".to_owned(),
            TaskStatus::Succeed if !self.files.is_empty() => "Done: the videos are saved locally (local_files). The URLs expire after about 30 days.".to_owned(),
            TaskStatus::Succeed => "Done: share the URLs, or call get_video_task with download: true to save them; the URLs expire after about 30 days.".to_owned(),
            TaskStatus::Failed => "The task failed (see status_message): change the prompt or inputs and call generate_video again.".to_owned(),
        }
    }
}

impl KlingServer {
    /// Gets a task's status: waits up to `wait_seconds` when asked, then downloads its videos
    /// when asked and it has succeeded. A failed or cancelled download keeps no file of the
    /// task, and the result keeps the URLs and says why. Everything ends by
    /// `deadline`, the download included (cut there, keeping nothing).
    pub(super) async fn follow(
        &self,
        task_id: &str,
        known: Option<Task>,
        how: Follow,
        context: &RequestContext<RoleServer>,
    ) -> Result<Followed, jobs::Error> {
        let Follow {
            wait_seconds,
            download,
            deadline,
        } = how;
        // The wait and the download end when the client cancels or the server shuts down.
        let cancel = context.ct.child_token();
        let _stop_watching = cancel.clone().drop_guard();
        let on_shutdown = (self.shutdown.clone(), cancel.clone());
        tokio::spawn(async move {
            let (shutdown, cancel) = on_shutdown;
            tokio::select! {
                () = shutdown.cancelled() => cancel.cancel(),
                () = cancel.cancelled() => {}
            }
        });
        let (task, waited, end) = if wait_seconds > 0 {
            let (progress, forwarder) = progress_forwarder(context).unzip();
            let wait = Duration::from_secs(u64::from(wait_seconds));
            let waited = self
                .jobs
                .wait(task_id, wait, deadline, &cancel, progress.as_ref())
                .await;
            // Let the last notifications go out before the result does (within the deadline).
            drop(progress);
            if let Some(forwarder) = forwarder {
                let grace = deadline
                    .limit()
                    .map_or(NOTIFY_GRACE, |left| left.min(NOTIFY_GRACE));
                let _ = tokio::time::timeout(grace, forwarder).await;
            }
            let waited = waited?;
            (waited.task, Some(waited.waited), Some(waited.end))
        } else if let Some(task) = known {
            (task, None, None)
        } else {
            (self.jobs.query(task_id, deadline).await?, None, None)
        };
        let mut followed = Followed {
            task,
            waited,
            end,
            files: Vec::new(),
            download_error: None,
        };
        if download
            && followed.task.status == TaskStatus::Succeed
            && !followed.task.videos.is_empty()
        {
            // The download gets what is left of the call; at the deadline it is cancelled
            // (which keeps nothing) and awaited, so its files are cleaned up before we answer.
            let stop = cancel.child_token();
            let download = self.jobs.download(&followed.task, &stop);
            tokio::pin!(download);
            let result = tokio::select! {
                result = &mut download => result,
                () = until(deadline) => {
                    stop.cancel();
                    download.await
                }
            };
            let out_of_time = stop.is_cancelled() && !cancel.is_cancelled();
            match result {
                Ok(files) => followed.files = files,
                Err(err) if out_of_time => {
                    tracing::info!(task_id = %followed.task.task_id, %err, "download cut at the call deadline");
                    followed.download_error = Some(format!(
                        "the download did not finish within this call's time limit; nothing was saved. Fix: call get_video_task again with download: true and without wait_seconds (that call has the most time: {} s), or use the URLs above.",
                        jobs::whole_seconds(self.jobs.call_deadline_length())
                    ));
                }
                Err(err) => {
                    tracing::info!(task_id = %followed.task.task_id, %err, "download failed; nothing of it was kept");
                    followed.download_error = Some(format!("{err}. Fix: {}", err.fix()));
                }
            }
        }
        Ok(followed)
    }
}

/// Sleeps until the deadline, or forever without one.
async fn until(deadline: Deadline) {
    match deadline.instant() {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// When the client asked for progress, a channel whose statuses become
/// `notifications/progress`, in order, from one forwarding task.
fn progress_forwarder(
    context: &RequestContext<RoleServer>,
) -> Option<(
    tokio::sync::mpsc::UnboundedSender<Task>,
    tokio::task::JoinHandle<()>,
)> {
    let token = context.meta.get_progress_token()?;
    let peer = context.peer.clone();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Task>();
    let forwarder = tokio::spawn(async move {
        let mut step = 0.0;
        while let Some(task) = receiver.recv().await {
            step += 1.0;
            let mut message = format!("task {}: {}", task.task_id, task.status.as_str());
            if let Some(percent) = task.progress_percent {
                message.push_str(&format!(" ({percent}%)"));
            }
            let param = ProgressNotificationParam::new(token.clone(), step).with_message(message);
            if let Err(err) = peer.notify_progress(param).await {
                tracing::debug!(%err, "progress notification not delivered");
            }
        }
    });
    Some((sender, forwarder))
}
