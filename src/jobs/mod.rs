//! The job lifecycle, one call per use case for every front door (the CLI, the MCP tools and MCP
//! tasks): prepare (local images, every API rule), submit (store first, never a blind re-send),
//! query (with retries), follow (poll loops shared within a process and, through the task
//! store, across processes and instances; then download), list, crash recovery, and what became of each MCP task. Returns
//! facts; each front door words them for its reader.

mod config;
mod deadline;
mod download;
mod error;
mod file_names;
mod follow;
mod generate;
mod mcp_task;
mod poller;
mod prepare;
mod recorded;
mod recovery;
mod retry;
mod spend;
mod status;
mod view;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use deadline::Deadline;
pub use download::{DownloadLimits, DownloadedFile};
pub use error::Error;
pub(crate) use error::whole_seconds;
pub use follow::{DownloadFailure, FollowSpec, Followed, Wait, WaitEnd, Waited};
pub use generate::{GenerateSpec, Generated, NotBought, RequestFacts};
pub use mcp_task::{DownloadClaim, McpTaskEnd, McpTaskState, Saved};
pub use poller::{PollSchedule, PollState};
pub use prepare::{
    IMAGE_BUDGET_BYTES, Prepared, Unprepared, image_budget_in_use, prepare, preview_body,
};
pub use retry::{RetryPolicy, retry_create, retry_query};
pub use spend::{Allowance, Spend, balance_fix};
pub use status::Freshness;
pub use view::{ListedTask, LocalFileView, TaskView, VideoView};

use crate::comet::{self, CreatedTask, Task, TaskId, ValidRequest};
use crate::store::{Admission, NewTask, Owner};
pub use crate::store::{
    LimitKind, Refusal, SpendLimits, Store, StoredStatus, TaskRecord, Usage, now_ms,
};
pub use config::JobsConfig;
use poller::Pollers;
use recorded::RecordedStatuses;
use retry::with_retries;

/// The default [`JobsConfig::call_deadline`]: `max_wait` (50 s) plus 5 s, under the
/// about 60 s after which MCP clients give up on a call.
const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(55);

/// The most kept back from a call's deadline for a step that must come last.
const MAX_RESERVE: Duration = Duration::from_secs(5);

/// Which tasks [`Jobs::list`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListFilter {
    /// Only tasks with this status.
    pub status: Option<StoredStatus>,
    /// How many, newest first (at least 1).
    pub limit: usize,
}

/// The job layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    client: comet::Client,
    downloader: comet::Downloader,
    config: Arc<JobsConfig>,
    pollers: Pollers,
    store: Store,
    /// What this process last wrote per task, to skip identical writes.
    recorded: Arc<RecordedStatuses>,
    /// Whose key this is.
    owner: Owner,
}

impl Jobs {
    /// Jobs over `client`, downloading with `downloader`, recording into `store`.
    pub fn new(
        client: comet::Client,
        downloader: comet::Downloader,
        config: JobsConfig,
        store: Store,
    ) -> Self {
        let pollers = Pollers::new(client.clone(), &config, store.clone(), Owner::server());
        Self {
            client,
            downloader,
            config: Arc::new(config),
            pollers,
            store,
            recorded: Arc::default(),
            owner: Owner::server(),
        }
    }

    /// The same job layer for a caller's own key: its own poll loops (never shared with other
    /// keys) and its own view of the store. Tasks stored under the key's fingerprint from
    /// earlier versions are adopted in the background.
    pub fn for_key(&self, key: comet::ApiKey) -> Self {
        let client = self.client.with_key(key.clone());
        let owner = Owner::fingerprint(key.fingerprint());
        let legacy = Owner::legacy(&key.legacy_fingerprint());
        let (store, new) = (self.store.clone(), owner.clone());
        tokio::spawn(async move {
            if let Err(err) = store.adopt_owner(&legacy, &new).await {
                tracing::warn!(%err, "cannot adopt the tasks of an earlier version");
            }
        });
        Self {
            pollers: Pollers::new(
                client.clone(),
                &self.config,
                self.store.clone(),
                owner.clone(),
            ),
            client,
            downloader: self.downloader.clone(),
            config: self.config.clone(),
            store: self.store.clone(),
            recorded: self.recorded.clone(),
            owner,
        }
    }

    /// This key's tasks, newest first; stale `submitting` records are resolved first (those
    /// that fit before `deadline`).
    pub async fn list(
        &self,
        filter: ListFilter,
        deadline: Deadline,
    ) -> Result<Vec<ListedTask>, Error> {
        self.recover_stale(deadline).await;
        let records = self
            .store
            .list(&self.owner, filter.status, filter.limit.max(1))
            .await?;
        Ok(records.into_iter().map(ListedTask::from).collect())
    }

    /// Whose key this is.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The daily spend limits (`--max-videos-per-day`, `--max-seconds-per-day`).
    pub fn spend_limits(&self) -> SpendLimits {
        self.config.spend
    }

    /// The shortest pause between two status queries of one task.
    pub fn poll_interval(&self) -> Duration {
        self.config.schedule.min
    }

    /// The task store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where downloads go.
    pub fn output_dir(&self) -> &std::path::Path {
        &self.config.output_dir
    }

    /// The longest wait a tool call may ask for (`--max-wait`): the front door's policy.
    pub fn max_wait(&self) -> Duration {
        self.config.max_wait
    }

    /// A tool call's deadline, starting now.
    pub fn call_deadline(&self) -> Deadline {
        Deadline::after(self.config.call_deadline)
    }

    /// How long a tool call may take (`--call-deadline`).
    pub fn call_deadline_length(&self) -> Duration {
        self.config.call_deadline
    }

    /// Submits a task: recorded durably first (a task that cannot be recorded is not bought),
    /// retried only when no task can have been created, and after an ambiguous failure looked
    /// up once by its external id (spec §7) instead of sent again. Everything ends by
    /// `deadline`: the create (and its retries) gets all but [`JobsConfig::reserve`], kept
    /// for that lookup; a create cut short by the deadline is ambiguous like any timeout.
    async fn submit(&self, valid: &ValidRequest, deadline: Deadline) -> Result<CreatedTask, Error> {
        // Without a key nothing can be bought: say so before recording anything.
        if !self.client.has_key() {
            return Err(comet::Error::MissingApiKey.into());
        }
        let body = valid.body();
        let external = valid.external_task_id().clone();
        let new = NewTask {
            external_task_id: external.as_str().to_owned(),
            owner: self.owner.clone(),
            mode: valid.mode().as_str().into(),
            prompt_head: body.list_head().chars().take(120).collect(),
            model: body.model_name.to_string(),
            duration: body.duration.map(|d| d.seconds()),
            aspect_ratio: body.aspect_ratio.map(|a| a.to_string()),
        };
        let now = now_ms();
        let admission = self
            .store
            .insert_submitting_within(&new, self.config.spend, now)
            .await?;
        if let Admission::Refused(refusal) = admission {
            // `now` was read before the store's lock was taken, so a racer's purchase may be
            // recorded a moment after it (or on an instance whose clock runs ahead): no
            // purchase stays in the window longer than the window itself.
            let retry_after = refusal.retry_at_ms.map(|at| {
                let wait = at.saturating_sub(now).min(crate::store::SPEND_WINDOW_MS);
                Duration::from_millis(u64::try_from(wait).unwrap_or(0))
            });
            tracing::info!(external_task_id = %external, kind = ?refusal.kind, "refused by a spend limit");
            crate::metrics::spend_refused(match refusal.kind {
                LimitKind::Videos => "videos",
                LimitKind::Seconds => "seconds",
            });
            return Err(Error::BudgetExceeded {
                refusal,
                retry_after,
            });
        }
        let create_by = deadline.less(self.config.reserve());
        let result = with_retries(self.config.retry, create_by, retry_create, || {
            self.client.create_task_within(valid, create_by.limit())
        })
        .await;
        match result {
            Ok(created) => {
                self.note_created(&external, &created.task_id, created.status.into())
                    .await;
                Ok(created)
            }
            Err(gave_up) if gave_up.error.create_may_have_started() => {
                self.recover(&external, gave_up.error, deadline).await
            }
            Err(gave_up) => {
                let err = Error::gave_up(gave_up, true);
                self.note_outcome(&external, StoredStatus::SubmitFailed, &err.to_string())
                    .await;
                Err(err)
            }
        }
    }

    /// Downloads a finished task's videos into the output directory.
    async fn download(
        &self,
        task: &Task,
        cancel: &CancellationToken,
    ) -> Result<Vec<DownloadedFile>, Error> {
        self.download_to(task, &self.config.output_dir.clone(), cancel)
            .await
    }

    /// Downloads a finished task's videos into `dir`, all or nothing (capped by the configured
    /// [`DownloadLimits`]), and records the files in the store. Cancelling stops the transfer
    /// and keeps nothing.
    async fn download_to(
        &self,
        task: &Task,
        dir: &std::path::Path,
        cancel: &CancellationToken,
    ) -> Result<Vec<DownloadedFile>, Error> {
        let limits = self.config.downloads;
        let files = download::download_videos(&self.downloader, task, dir, limits, cancel).await?;
        let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        if let Err(err) = self
            .store
            .set_local_files(&task.task_id, &paths, now_ms())
            .await
        {
            tracing::warn!(%err, task_id = %task.task_id, "downloaded, but cannot record the files in the task store");
        }
        Ok(files)
    }

    /// Removes the temporary download files a stopped process left in the output directory;
    /// returns how many. Downloads still running in other processes keep theirs.
    pub(crate) async fn remove_stale_partials(&self) -> usize {
        let dir = self.config.output_dir.clone();
        tokio::task::spawn_blocking(move || download::remove_stale_partials(&dir))
            .await
            .unwrap_or(0)
    }

    /// The stored record named by `id` (its task id, or its external id for a submit that
    /// got none), if this key has one: what the store alone can say about a task.
    pub async fn stored(&self, id: &str) -> Result<Option<ListedTask>, Error> {
        let record = self.store.find(&self.owner, id).await?;
        Ok(record.map(ListedTask::from))
    }

    /// Whether this process is the built-in simulator's (`--simulate`).
    pub fn simulated(&self) -> bool {
        self.store.is_simulated()
    }

    /// Refuses a task of the other world before anything is sent: a simulated id never
    /// reaches CometAPI, and the simulator is never asked about (or records) a real task.
    fn same_world(&self, task_id: &TaskId) -> Result<(), Error> {
        if task_id.is_simulated() == self.simulated() {
            return Ok(());
        }
        Err(Error::OtherWorld {
            task_id: task_id.clone(),
            simulated_task: task_id.is_simulated(),
        })
    }

    /// Records what a query learned (for tasks the store knows). A store failure is logged,
    /// not returned: the caller still gets the upstream answer.
    async fn record(&self, task: &Task) {
        if self.recorded.unchanged(task) {
            return;
        }
        let urls: Vec<String> = task.videos.iter().map(|v| v.url.clone()).collect();
        let recorded = self
            .store
            .record_status(
                &task.task_id,
                task.status.into(),
                task.status_message.as_deref(),
                &urls,
                task.units,
                now_ms(),
            )
            .await;
        match recorded {
            Ok(_) => self.recorded.remember(task),
            Err(err) => {
                tracing::warn!(%err, task_id = %task.task_id, "cannot record the task's status");
            }
        }
    }
}
