//! The job lifecycle, shared by the MCP tools and the CLI: submit (journal first, never a
//! blind re-send), query (with retries), wait (shared poll loops, progress, cancellation),
//! download, and the task journal.

mod download;
mod error;
mod journal;
mod poller;
mod retry;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

pub use download::DownloadedFile;
pub use error::Error;
pub use journal::{Journal, TaskRecord, now_ms};
pub use poller::{PollSchedule, PollState};
pub use retry::{RetryPolicy, retry_create, retry_query};

use crate::comet::{self, CreatedTask, Task, ValidRequest};
use poller::Pollers;
use retry::with_retries;

/// Settings of the job layer.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Longest a single tool call may wait for a task.
    pub max_wait: Duration,
    /// How often a waited-on task is polled.
    pub schedule: PollSchedule,
    /// Retries of queries and (provably unsent) creates.
    pub retry: RetryPolicy,
    /// Where downloads go.
    pub output_dir: PathBuf,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(50),
            schedule: PollSchedule::default(),
            retry: RetryPolicy::default(),
            output_dir: PathBuf::from("."),
        }
    }
}

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

/// The job layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    client: comet::Client,
    config: Arc<JobsConfig>,
    pollers: Pollers,
    journal: Arc<Journal>,
    /// Fingerprint of a caller-supplied key; `None` for the server's own.
    owner: Option<String>,
}

impl Jobs {
    /// Jobs over `client`, recording into `journal`.
    pub fn new(client: comet::Client, config: JobsConfig, journal: Journal) -> Self {
        let pollers = Pollers::new(client.clone(), config.schedule, config.retry);
        Self {
            client,
            config: Arc::new(config),
            pollers,
            journal: Arc::new(journal),
            owner: None,
        }
    }

    /// The same job layer for a caller's own key: its own poll loops (never shared with other
    /// keys) and its own view of the journal.
    pub fn for_key(&self, key: comet::ApiKey) -> Self {
        let client = self.client.with_key(key.clone());
        Self {
            pollers: Pollers::new(client.clone(), self.config.schedule, self.config.retry),
            client,
            config: self.config.clone(),
            journal: self.journal.clone(),
            owner: Some(key.fingerprint()),
        }
    }

    /// The tasks of this key, newest first.
    pub fn list(&self, status: Option<&str>, limit: usize) -> Vec<TaskRecord> {
        self.journal.list_for(self.owner.as_deref(), status, limit)
    }

    /// The task journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The longest wait a call may ask for.
    pub fn max_wait(&self) -> Duration {
        self.config.max_wait
    }

    /// Submits a task: journaled first, retried only when no task can have been created, and
    /// after an ambiguous failure looked up once by its external id (spec §7) instead of sent
    /// again.
    pub async fn submit(&self, valid: &ValidRequest) -> Result<CreatedTask, Error> {
        let body = valid.body();
        let external = body.external_task_id.clone().unwrap_or_default();
        let now = now_ms();
        self.journal.upsert(
            TaskRecord {
                external_task_id: external.clone(),
                task_id: None,
                status: "submitting".into(),
                message: None,
                mode: valid.mode().as_str().into(),
                prompt_head: body.prompt.chars().take(120).collect(),
                model: body.model_name.to_string(),
                duration: body.duration.map(|d| d.seconds()),
                aspect_ratio: body.aspect_ratio.map(|a| a.to_string()),
                video_urls: Vec::new(),
                local_files: Vec::new(),
                created_at_ms: now,
                updated_at_ms: now,
                owner: self.owner.clone(),
            },
            true,
        );
        let result = with_retries(self.config.retry, retry_create, || {
            self.client.create_task(valid)
        })
        .await;
        match result {
            Ok(created) => {
                self.journal.update(&external, |r| {
                    r.task_id = Some(created.task_id.clone());
                    r.status = created.status.as_str().into();
                });
                Ok(created)
            }
            Err(err) if err.create_may_have_started() => self.recover(&external, err).await,
            Err(err) => {
                self.journal.update(&external, |r| {
                    r.status = "submit_failed".into();
                    r.message = Some(err.to_string());
                });
                Err(Error::Comet(err))
            }
        }
    }

    /// After an ambiguous create failure: one query by external id. Kling accepts either id
    /// in the query path; whether CometAPI does is unknown, so a miss proves nothing.
    async fn recover(&self, external: &str, cause: comet::Error) -> Result<CreatedTask, Error> {
        tracing::warn!(%cause, external, "create outcome unknown; looking the task up by its external id");
        match self.client.get_task(external).await {
            Ok(task) if task.external_task_id.as_deref() == Some(external) => {
                tracing::info!(task_id = %task.task_id, "found the task the failed create started");
                self.journal.update(external, |r| {
                    r.task_id = Some(task.task_id.clone());
                    r.status = task.status.as_str().into();
                });
                Ok(CreatedTask {
                    task_id: task.task_id,
                    status: task.status,
                    external_task_id: Some(external.to_owned()),
                    created_at_ms: task.created_at_ms,
                    request_id: task.request_id,
                })
            }
            _ => {
                self.journal.update(external, |r| {
                    r.status = "submit_uncertain".into();
                    r.message = Some(cause.to_string());
                });
                Err(Error::SubmitUncertain {
                    external_task_id: external.to_owned(),
                    cause,
                })
            }
        }
    }

    /// One status query, tried once (for diagnostics).
    pub async fn query_once(&self, task_id: &str) -> Result<Task, Error> {
        Ok(self.client.get_task(task_id).await?)
    }

    /// One status query, retried on transient failures.
    pub async fn query(&self, task_id: &str) -> Result<Task, Error> {
        let task = with_retries(self.config.retry, retry_query, || {
            self.client.get_task(task_id)
        })
        .await?;
        self.record(&task);
        Ok(task)
    }

    /// Waits up to `wait` (capped at the configured maximum) for a task to finish, sending each
    /// new status to `progress`. Cancelling ends the wait at once; the task keeps running.
    pub async fn wait(
        &self,
        task_id: &str,
        wait: Duration,
        cancel: &CancellationToken,
        progress: Option<&UnboundedSender<Task>>,
    ) -> Result<Waited, Error> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + wait.min(self.config.max_wait);
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
                        self.record(&task);
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
                changed = receiver.changed() => if changed.is_err() { break WaitEnd::TimedOut },
                () = tokio::time::sleep_until(deadline) => break WaitEnd::TimedOut,
                () = cancel.cancelled() => break WaitEnd::Cancelled,
            }
        };
        let task = match last {
            Some(task) => task,
            // Nothing heard yet (e.g. still retrying): one direct answer beats none.
            None => self.query(task_id).await?,
        };
        Ok(Waited {
            task,
            end,
            waited: started.elapsed(),
        })
    }

    /// Downloads a finished task's videos into the output directory.
    pub async fn download(&self, task: &Task) -> Result<Vec<DownloadedFile>, Error> {
        self.download_to(task, &self.config.output_dir.clone())
            .await
    }

    /// Downloads a finished task's videos into `dir`.
    pub async fn download_to(
        &self,
        task: &Task,
        dir: &std::path::Path,
    ) -> Result<Vec<DownloadedFile>, Error> {
        let files = download::download_videos(&self.client, task, dir).await?;
        if let Some(record) = self.journal.find_by_task_id(&task.task_id) {
            let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
            self.journal
                .update(&record.external_task_id, |r| r.local_files = paths);
        }
        Ok(files)
    }

    /// Records what a query learned in the journal (for tasks it knows).
    fn record(&self, task: &Task) {
        let Some(record) = self.journal.find_by_task_id(&task.task_id) else {
            return;
        };
        let status = task.status.as_str();
        let urls: Vec<String> = task.videos.iter().map(|v| v.url.clone()).collect();
        if record.status != status
            || record.video_urls != urls
            || record.message != task.status_message
        {
            self.journal.update(&record.external_task_id, |r| {
                r.status = status.into();
                r.message = task.status_message.clone();
                r.video_urls = urls;
            });
        }
    }
}
