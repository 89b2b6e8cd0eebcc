//! The tools' door to [`Jobs::follow`](crate::jobs::Jobs::follow): the MCP request's
//! cancellation and progress token, the `--max-wait` cap on a tool call's wait, and the words
//! an agent reads about the outcome (next step, download failure, resource links).

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ContentBlock, ProgressNotificationParam, Resource};
use rmcp::service::RequestContext;

use super::KlingServer;
use crate::comet::{Task, TaskId, TaskStatus};
use crate::jobs::{self, Deadline, DownloadFailure, FollowSpec, Followed, Wait, WaitEnd};

/// How a tool follows a task.
#[derive(Debug, Clone, Copy)]
pub(super) struct Follow {
    /// Wait up to this many seconds (capped at `--max-wait`) for the task to finish; 0: answer
    /// at once.
    pub(super) wait_seconds: u32,
    /// Save the videos once it has succeeded.
    pub(super) download: bool,
    /// When the tool call must answer.
    pub(super) deadline: Deadline,
}

/// The longest the last progress notifications may hold up a result.
const NOTIFY_GRACE: Duration = Duration::from_secs(2);

/// A tool call's follow in progress: the spec handed to the job layer, and what must outlive
/// the call (the progress forwarder, the cancellation link).
pub(super) struct Following {
    /// What to hand to [`jobs::Jobs::follow`] or [`jobs::Jobs::generate`].
    pub(super) spec: FollowSpec,
    forwarder: Option<tokio::task::JoinHandle<()>>,
    _stop_watching: tokio_util::sync::DropGuard,
}

impl Following {
    /// Lets the last progress notifications go out before the result does (within the
    /// call's deadline).
    pub(super) async fn finish(self, deadline: Deadline) {
        let Self {
            spec, forwarder, ..
        } = self;
        // The sender goes first, so the forwarder ends once it has sent what is queued.
        drop(spec);
        if let Some(forwarder) = forwarder {
            let grace = deadline
                .limit()
                .map_or(NOTIFY_GRACE, |left| left.min(NOTIFY_GRACE));
            let _ = tokio::time::timeout(grace, forwarder).await;
        }
    }
}

impl KlingServer {
    /// Follows a task for a tool call (see [`Self::following`]).
    pub(super) async fn follow(
        &self,
        task_id: &TaskId,
        known: Option<Task>,
        how: Follow,
        context: &RequestContext<RoleServer>,
    ) -> Result<Followed, jobs::Error> {
        let mut following = self.following(how, context);
        let spec = std::mem::take(&mut following.spec);
        let followed = self.jobs.follow(task_id, known, spec).await;
        following.finish(how.deadline).await;
        followed
    }

    /// How a tool call follows a task: the wait (capped at `--max-wait`) and the download end
    /// when the client cancels, the server shuts down, or the call's deadline comes; statuses
    /// seen while waiting go out as progress notifications when the client asked for them.
    pub(super) fn following(&self, how: Follow, context: &RequestContext<RoleServer>) -> Following {
        let cancel = context.ct.child_token();
        let stop_watching = cancel.clone().drop_guard();
        let on_shutdown = (self.shutdown.clone(), cancel.clone());
        tokio::spawn(async move {
            let (shutdown, cancel) = on_shutdown;
            tokio::select! {
                () = shutdown.cancelled() => cancel.cancel(),
                () = cancel.cancelled() => {}
            }
        });
        let waits = how.wait_seconds > 0;
        let (progress, forwarder) = match waits {
            true => progress_forwarder(context).unzip(),
            false => (None, None),
        };
        let spec = FollowSpec {
            wait: match waits {
                true => Wait::UpTo(self.wait_cap(how.wait_seconds)),
                false => Wait::No,
            },
            deadline: how.deadline,
            cancel,
            progress,
            download_to: how.download.then(|| self.jobs.output_dir().to_path_buf()),
        };
        Following {
            spec,
            forwarder,
            _stop_watching: stop_watching,
        }
    }

    /// A tool call's wait: what it asked for, at most `--max-wait`.
    pub(super) fn wait_cap(&self, wait_seconds: u32) -> Duration {
        Duration::from_secs(u64::from(wait_seconds)).min(self.jobs.max_wait())
    }

    /// The longest wait one tool call may ask for, in whole seconds (for texts).
    pub(super) fn max_wait_seconds(&self) -> u64 {
        jobs::whole_seconds(self.jobs.max_wait())
    }

    /// Why asked-for videos were not saved, worded for an agent.
    pub(super) fn download_error(&self, followed: &Followed) -> Option<String> {
        Some(match followed.download_failure.as_ref()? {
            DownloadFailure::OutOfTime => format!(
                "the download did not finish within this call's time limit; nothing was saved. Fix: call get_video_task again with download: true and without wait_seconds (that call has the most time: {} s), or use the URLs above.",
                jobs::whole_seconds(self.jobs.call_deadline_length())
            ),
            DownloadFailure::Failed(err) => {
                format!("{err}. Fix: {}", super::errors::fix_for_agent(err))
            }
        })
    }

    /// The next step for the agent, given how the follow ended.
    pub(super) fn next_step(&self, followed: &Followed) -> String {
        let task = &followed.task;
        match task.status {
            TaskStatus::Submitted | TaskStatus::Processing => {
                let why = match followed.end {
                    Some(WaitEnd::Cancelled) => "Stopped waiting (cancelled); the task keeps running. ",
                    Some(WaitEnd::TimedOut) => "Still running after the wait. ",
                    _ => "Not finished. ",
                };
                format!(
                    "{why}Call get_video_task with task_id \"{}\" again in about 20 s (or with wait_seconds up to {}); jobs usually take 1-5 minutes.",
                    task.task_id,
                    self.max_wait_seconds()
                )
            }
            TaskStatus::Succeed if task.videos.is_empty() => "The task succeeded but CometAPI listed no video URL yet: call get_video_task again in a minute, or check the CometAPI console.".to_owned(),
            TaskStatus::Succeed if !followed.files.is_empty() => "Done: the videos are saved locally (local_files). The URLs expire after about 30 days.".to_owned(),
            TaskStatus::Succeed => "Done: share the URLs, or call get_video_task with download: true to save them; the URLs expire after about 30 days.".to_owned(),
            TaskStatus::Failed => "The task failed (see status_message): change the prompt or inputs and call generate_video again.".to_owned(),
        }
    }
}

/// `resource_link` content items for the downloaded files.
pub(super) fn resource_links(followed: &Followed) -> Vec<ContentBlock> {
    followed
        .files
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
