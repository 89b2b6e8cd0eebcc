//! The task store: every submitted task, recorded before its create request is sent and
//! updated as it progresses, so no paid task id is ever lost; and the shared poll state that
//! lets waiters in several processes or instances cost one upstream query per interval.
//!
//! One interface, two databases: SQLite (embedded default; several processes on one machine
//! share the file in WAL mode) and PostgreSQL (several instances behind a load balancer).
//! Each change is one short statement on one row; status only moves forward, enforced by the
//! statement itself. The store knows nothing of CometAPI calls, MCP or the CLI.

mod error;
mod import;
mod location;
mod postgres;
mod sql;
mod sqlite;
mod status;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

pub use error::StoreError;
pub use import::{ImportReport, import_journal};
pub use location::{BadLocation, StoreLocation};
pub use status::StoredStatus;

use postgres::PostgresStore;
use sqlite::SqliteStore;

/// What the store knows about one task.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TaskRecord {
    /// The id sent with the create request; known before the task exists.
    pub external_task_id: String,
    /// Upstream task id, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Where the task stands.
    pub status: StoredStatus,
    /// Upstream status text or the submit error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Generation mode.
    pub mode: String,
    /// The first 120 characters of the prompt.
    pub prompt_head: String,
    /// Model name.
    pub model: String,
    /// Duration in seconds, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u8>,
    /// Aspect ratio, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// Result video URLs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub video_urls: Vec<String>,
    /// Downloaded files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<String>,
    /// First recorded, Unix ms.
    pub created_at_ms: i64,
    /// Last changed, Unix ms.
    pub updated_at_ms: i64,
    /// Whose key submitted it: empty for the server's own key, else a fingerprint.
    #[serde(skip)]
    pub owner: String,
}

/// A task about to be submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The external id the create request carries.
    pub external_task_id: String,
    /// Whose key submits it (empty: the server's own).
    pub owner: String,
    /// Generation mode.
    pub mode: String,
    /// The first 120 characters of the prompt.
    pub prompt_head: String,
    /// Model name.
    pub model: String,
    /// Duration in seconds, when given.
    pub duration: Option<u8>,
    /// Aspect ratio, when given.
    pub aspect_ratio: Option<String>,
}

/// The shared poll state of one task for one owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRow {
    /// When the next upstream query is due, Unix ms.
    pub next_poll_at_ms: i64,
    /// Upstream queries made so far (by anyone).
    pub poll_count: i64,
    /// The latest answer, as JSON, if one was shared.
    pub snapshot: Option<String>,
    /// When that answer arrived, Unix ms.
    pub snapshot_at_ms: i64,
}

/// The task store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    location: Arc<StoreLocation>,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(PostgresStore),
}

/// Runs the same call on whichever backend is in use.
macro_rules! on_backend {
    ($store:expr, $s:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sqlite($s) => $call.await,
            Backend::Postgres($s) => $call.await,
        }
    };
}

impl Store {
    /// Opens the store at `location`, creating and migrating it as needed. A damaged SQLite
    /// file or a store written by a newer version is refused, never modified; PostgreSQL that
    /// cannot be reached yet is retried on use.
    pub async fn open(location: StoreLocation) -> Result<Self, StoreError> {
        let backend = match &location {
            StoreLocation::Memory => Backend::Sqlite(Arc::new(SqliteStore::open(None).await?)),
            StoreLocation::Sqlite(path) => {
                Backend::Sqlite(Arc::new(SqliteStore::open(Some(path.clone())).await?))
            }
            StoreLocation::Postgres(url) => {
                Backend::Postgres(PostgresStore::open(url, location.to_string()).await?)
            }
        };
        Ok(Self {
            backend,
            location: Arc::new(location),
        })
    }

    /// A store kept in memory only (tests, `--store off`).
    pub async fn in_memory() -> Result<Self, StoreError> {
        Self::open(StoreLocation::Memory).await
    }

    /// Where the store lives, safe to show (never a password).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Records a task about to be submitted, durably, before anything is sent. Fails with
    /// [`StoreError::ExternalIdTaken`] when a live record already uses its external id.
    pub async fn insert_submitting(&self, task: &NewTask, now_ms: i64) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_submitting(task.clone(), now_ms))
    }

    /// Binds the upstream task id found for `external_task_id`; forward only.
    pub async fn set_created(
        &self,
        external_task_id: &str,
        task_id: &str,
        status: StoredStatus,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (external, task_id) = (external_task_id.to_owned(), task_id.to_owned());
        on_backend!(self, s => s.set_created(external, task_id, status, now_ms))
    }

    /// Ends a submit without a task id (`submit_failed`, `submit_uncertain`).
    pub async fn set_submit_outcome(
        &self,
        external_task_id: &str,
        status: StoredStatus,
        message: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (external, message) = (external_task_id.to_owned(), message.to_owned());
        on_backend!(self, s => s.set_submit_outcome(external, status, message, now_ms))
    }

    /// Records what a status query learned about `task_id`; forward only, and a no-op when
    /// nothing changed. Returns whether a record changed.
    pub async fn record_status(
        &self,
        task_id: &str,
        status: StoredStatus,
        message: Option<&str>,
        video_urls: &[String],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let update = StatusUpdate {
            task_id: task_id.to_owned(),
            status,
            message: message.map(str::to_owned),
            video_urls: to_json_list(video_urls),
            now_ms,
        };
        on_backend!(self, s => s.record_status(update))
    }

    /// Records the files a download saved for `task_id`.
    pub async fn set_local_files(
        &self,
        task_id: &str,
        files: &[String],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (task_id, files) = (task_id.to_owned(), to_json_list(files));
        on_backend!(self, s => s.set_local_files(task_id, files, now_ms))
    }

    /// The record of upstream task `task_id`, if this store has one.
    pub async fn get_by_task_id(&self, task_id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let task_id = task_id.to_owned();
        on_backend!(self, s => s.get_by_task_id(task_id))
    }

    /// `owner`'s records, newest first, optionally only those with `status`.
    pub async fn list(
        &self,
        owner: &str,
        status: Option<StoredStatus>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let owner = owner.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        on_backend!(self, s => s.list(owner, status, limit))
    }

    /// `owner`'s records still `submitting` since before `before_ms`.
    pub async fn stale_submitting(
        &self,
        owner: &str,
        before_ms: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let owner = owner.to_owned();
        on_backend!(self, s => s.stale_submitting(owner, before_ms))
    }

    /// Takes a stale record for recovery; `true` for exactly one of several racing processes.
    pub async fn claim_recovery(
        &self,
        record: &TaskRecord,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (external, seen) = (record.external_task_id.clone(), record.updated_at_ms);
        on_backend!(self, s => s.claim_recovery(external, seen, now_ms))
    }

    /// Moves the tasks recorded under `legacy` (an owner fingerprint of earlier versions) to
    /// `owner`.
    pub async fn adopt_owner(&self, legacy: &str, owner: &str) -> Result<u64, StoreError> {
        let (legacy, owner) = (legacy.to_owned(), owner.to_owned());
        on_backend!(self, s => s.adopt_owner(legacy, owner))
    }

    /// The shared poll state of `task_id` for `owner`.
    pub async fn read_poll(
        &self,
        task_id: &str,
        owner: &str,
    ) -> Result<Option<PollRow>, StoreError> {
        let (task_id, owner) = (task_id.to_owned(), owner.to_owned());
        on_backend!(self, s => s.read_poll(task_id, owner))
    }

    /// Tries to take the next upstream query of `task_id`: `seen` is the poll count read
    /// before (`None`: nobody polled yet), `next_at_ms` when the query after it is due.
    /// `true` for exactly one of several racing waiters.
    pub async fn claim_poll(
        &self,
        task_id: &str,
        owner: &str,
        seen: Option<i64>,
        now_ms: i64,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let claim = PollClaim {
            task_id: task_id.to_owned(),
            owner: owner.to_owned(),
            seen,
            now_ms,
            next_at_ms,
        };
        on_backend!(self, s => s.claim_poll(claim))
    }

    /// Shares the answer of a poll with the other waiters.
    pub async fn put_snapshot(
        &self,
        task_id: &str,
        owner: &str,
        snapshot: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let (task_id, owner, snapshot) =
            (task_id.to_owned(), owner.to_owned(), snapshot.to_owned());
        on_backend!(self, s => s.put_snapshot(task_id, owner, snapshot, at_ms))
    }

    /// Forgets poll state last due before `before_ms`.
    pub async fn prune_polls(&self, before_ms: i64) -> Result<(), StoreError> {
        on_backend!(self, s => s.prune_polls(before_ms))
    }

    /// Reachability, schema version and writability, for `doctor`.
    pub async fn health(&self) -> Result<Health, StoreError> {
        on_backend!(self, s => s.health())
    }
}

/// What `doctor` reports about the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The applied schema version.
    pub schema_version: i64,
    /// The newest version this build knows.
    pub supported_version: i64,
    /// Stored tasks.
    pub tasks: i64,
    /// Whether a write went through.
    pub writable: bool,
}

/// A status change, as the backends bind it.
#[derive(Debug)]
struct StatusUpdate {
    task_id: String,
    status: StoredStatus,
    message: Option<String>,
    video_urls: String,
    now_ms: i64,
}

/// A poll claim, as the backends bind it.
#[derive(Debug)]
struct PollClaim {
    task_id: String,
    owner: String,
    seen: Option<i64>,
    now_ms: i64,
    next_at_ms: i64,
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads a stored JSON list; a damaged value reads as empty rather than failing the listing.
fn from_json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests;
