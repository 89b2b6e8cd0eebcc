//! Following a task once it has an id — the one flow behind `get_video_task`, the CLI's
//! `--wait`/`--download` and MCP tasks: wait (sharing the poll loop, sending each new status to
//! a progress channel, ending on cancel), then download when asked and the task succeeded.
//! Policy (how long a front door may wait) and words (how a failure is explained) stay with
//! the front doors.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::{Deadline, DownloadedFile, Error, Jobs, PollState};
use crate::comet::{Task, TaskId, TaskStatus};

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The task reached `succeed` or `failed`.
    Finished,
    /// The wait time ran out first; the task keeps running.
    TimedOut,
    /// The caller cancelled; the task keeps running.
    Cancelled,
}

/// How long to wait for a task to finish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Wait {
    /// Answer with the current status at once.
    #[default]
    No,
    /// Wait up to this long.
    UpTo(Duration),
    /// Wait until it finishes (or the follow is cancelled): a person at a terminal.
    ToTheEnd,
}

/// How to follow a task.
#[derive(Debug, Clone, Default)]
pub struct FollowSpec {
    /// How long to wait for it to finish.
    pub wait: Wait,
    /// When the whole follow must have answered (the wait, the download included).
    pub deadline: Deadline,
    /// Ends the wait and any download at once; the task keeps running.
    pub cancel: CancellationToken,
    /// Receives each new status seen while waiting.
    pub progress: Option<UnboundedSender<Task>>,
    /// Once the task has succeeded, save its videos into this directory.
    pub download_to: Option<PathBuf>,
}

/// Why asked-for videos were not saved (the URLs still work).
#[derive(Debug)]
pub enum DownloadFailure {
    /// The follow's deadline came first; nothing was kept.
    OutOfTime,
    /// The download failed or was cancelled; nothing was kept.
    Failed(Error),
}

/// A task after following it.
#[derive(Debug)]
pub struct Followed {
    /// The latest status.
    pub task: Task,
    /// How long it waited, when it waited.
    pub waited: Option<Duration>,
    /// How the wait ended, when it waited.
    pub end: Option<WaitEnd>,
    /// The saved videos, when asked and the task succeeded.
    pub files: Vec<DownloadedFile>,
    /// Why asked-for videos were not saved.
    pub download_failure: Option<DownloadFailure>,
}

impl Followed {
    /// A task that was not followed (yet): its status, nothing waited, nothing saved.
    pub fn unfollowed(task: Task) -> Self {
        Self {
            task,
            waited: None,
            end: None,
            files: Vec::new(),
            download_failure: None,
        }
    }
}

/// The result of a wait.
#[derive(Debug, Clone)]
pub struct Waited {
    /// The latest status.
    pub task: Task,
    /// Why the wait ended.
    pub end: WaitEnd,
    /// How long it waited.
    pub waited: Duration,
}

impl Jobs {
    /// Follows a task as `spec` says: waits, then downloads a succeeded task's videos. `known`
    /// is a status the caller already has (e.g. from the create reply), used when not waiting.
    /// A failed download is part of the answer, not an error: the task and its URLs are fine.
    pub async fn follow(
        &self,
        task_id: &TaskId,
        known: Option<Task>,
        spec: FollowSpec,
    ) -> Result<Followed, Error> {
        self.same_world(task_id)?;
        let FollowSpec {
            wait,
            deadline,
            cancel,
            progress,
            download_to,
        } = spec;
        let limit = match wait {
            Wait::No => None,
            Wait::UpTo(limit) => Some(Some(limit)),
            Wait::ToTheEnd => Some(None),
        };
        let mut followed = match (limit, known) {
            (Some(limit), _) => {
                let waited = self
                    .wait(task_id, limit, deadline, &cancel, progress.as_ref())
                    .await?;
                Followed {
                    waited: Some(waited.waited),
                    end: Some(waited.end),
                    ..Followed::unfollowed(waited.task)
                }
            }
            (None, Some(task)) => Followed::unfollowed(task),
            (None, None) => Followed::unfollowed(self.fresh(task_id, deadline).await?),
        };
        if let Some(dir) = download_to.filter(|_| {
            followed.task.status == TaskStatus::Succeed && !followed.task.videos.is_empty()
        }) {
            // The download gets what is left of the deadline; there it is cancelled (which
            // keeps nothing) and awaited, so its files are cleaned up before we answer.
            let stop = cancel.child_token();
            let download = self.download_to(&followed.task, &dir, &stop);
            tokio::pin!(download);
            let result = tokio::select! {
                result = &mut download => result,
                () = deadline.reached() => {
                    stop.cancel();
                    download.await
                }
            };
            let out_of_time = stop.is_cancelled() && !cancel.is_cancelled();
            match result {
                Ok(files) => followed.files = files,
                Err(err) => {
                    tracing::info!(task_id = %task_id, %err, out_of_time, "download not completed; nothing of it was kept");
                    followed.download_failure = Some(if out_of_time {
                        DownloadFailure::OutOfTime
                    } else {
                        DownloadFailure::Failed(err)
                    });
                }
            }
        }
        Ok(followed)
    }

    /// Waits up to `limit` (`None`: until the task finishes), ending in time to answer by
    /// `deadline`, for a task to finish, sending each new status to `progress`. Cancelling
    /// ends the wait at once; the task keeps running.
    pub(super) async fn wait(
        &self,
        task_id: &TaskId,
        limit: Option<Duration>,
        deadline: Deadline,
        cancel: &CancellationToken,
        progress: Option<&UnboundedSender<Task>>,
    ) -> Result<Waited, Error> {
        self.same_world(task_id)?;
        // The runtime's clock, so a paused test clock measures the wait it drives.
        let started = tokio::time::Instant::now();
        // Until the limit, and in time for one direct query in case the poll loop has not
        // answered yet.
        let until = limit
            .map_or(Deadline::none(), Deadline::after)
            .min(deadline.less(self.config.reserve()));
        let mut receiver = self.pollers.watch(task_id);
        let mut last: Option<Task> = None;
        let end = loop {
            let state = receiver.borrow_and_update().clone();
            match state {
                PollState::Starting => {}
                PollState::Failed(err) => return Err(Error::Comet((*err).clone())),
                PollState::Task(task) => {
                    let changed = last.as_ref().is_none_or(|l| {
                        l.status != task.status || l.progress_percent != task.progress_percent
                    });
                    if changed {
                        self.record(&task).await;
                        if let Some(progress) = progress {
                            let _ = progress.send(task.clone());
                        }
                    }
                    let finished = task.status.is_terminal();
                    last = Some(task);
                    if finished {
                        break WaitEnd::Finished;
                    }
                }
            }
            tokio::select! {
                changed = receiver.changed() => if changed.is_err() {
                    // The loop stopped without a last word: join a new one.
                    receiver = self.pollers.watch(task_id);
                },
                () = until.reached() => break WaitEnd::TimedOut,
                () = cancel.cancelled() => break WaitEnd::Cancelled,
            }
        };
        let task = match last {
            Some(task) => task,
            // Nothing heard yet (e.g. still retrying): one direct answer beats none. A call
            // with a deadline gives it the reserve, so a short wait stays short when the
            // upstream hangs; without one, a whole (bounded) query.
            None => {
                let answer_by = match (deadline.instant(), until.instant()) {
                    (Some(_), Some(until)) => Deadline::at(until + self.config.reserve()),
                    _ => Deadline::none(),
                };
                self.fresh(task_id, deadline.min(answer_by)).await?
            }
        };
        Ok(Waited {
            task,
            end,
            waited: started.elapsed(),
        })
    }
}
