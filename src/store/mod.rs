//! The task store: every submitted task, recorded before its create request is sent and
//! updated as it progresses, so no paid task id is ever lost; and the shared poll state that
//! lets waiters in several processes or instances cost one upstream query per interval; and
//! what became of each MCP task, so every instance answers for it alike.
//!
//! One interface, two databases: SQLite (embedded default; several processes on one machine
//! share the file in WAL mode) and PostgreSQL (several instances behind a load balancer).
//! Each change is one short statement on one row; status only moves forward, enforced by the
//! statement itself. The store knows nothing of CometAPI calls, MCP or the CLI.

mod error;
mod import;
mod location;
mod mcp_tasks;
mod ops;
mod owner;
mod postgres;
mod postgres_errors;
mod postgres_tls;
mod spend;
mod sql;
mod sqlite;
mod sqlite_files;
mod status;
mod value;

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::private_fs::Exposed;
pub use error::StoreError;
pub use import::{ImportReport, import_journal};
pub use location::{BadLocation, StoreLocation};
pub use mcp_tasks::{McpEnd, McpOutcome, McpTaskRow};
pub use owner::Owner;
pub use spend::{
    Admission, LimitKind, Refusal, SPEND_WINDOW_MS, SpendLimits, Usage, billed_seconds,
};
pub use status::StoredStatus;

use postgres::PostgresStore;
use sqlite::SqliteStore;
use value::{Row, Value};

use crate::comet::TaskId;

/// What the store knows about one task.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TaskRecord {
    /// The id sent with the create request; known before the task exists.
    pub external_task_id: String,
    /// Upstream task id, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
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
    /// Whose key submitted it.
    #[serde(skip)]
    pub owner: Owner,
    /// Made by the built-in simulator (`--simulate`), not against CometAPI.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// Units Kling billed (`final_unit_deduction`), once a finished task's reply said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
}

/// A task about to be submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The external id the create request carries.
    pub external_task_id: String,
    /// Whose key submits it.
    pub owner: Owner,
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

/// The task store. Cheap to clone. A handle writes in one world: records made against
/// CometAPI, or (after [`Store::simulated`]) records made by the built-in simulator; it reads
/// both, each marked.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    location: Arc<StoreLocation>,
    simulated: bool,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(PostgresStore),
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
            simulated: false,
        })
    }

    /// This store, writing only simulated records (`true`) or only real ones (`false`): a
    /// `--simulate` process never recovers, updates or claims a record made against CometAPI,
    /// and a real process never touches a simulated one.
    pub fn simulated(mut self, simulated: bool) -> Self {
        self.simulated = simulated;
        self
    }

    /// Whether this handle writes simulated records.
    pub fn is_simulated(&self) -> bool {
        self.simulated
    }

    /// This handle's world as a bound parameter.
    fn world(&self) -> Value {
        Value::Int(i64::from(self.simulated))
    }

    /// A store kept in memory only (tests, `--store off`).
    pub async fn in_memory() -> Result<Self, StoreError> {
        Self::open(StoreLocation::Memory).await
    }

    /// Whether no other user may change the SQLite store (its file, folder and side files);
    /// other stores have nothing to check here.
    pub fn check_private(&self) -> Result<(), StoreError> {
        match self.location.sqlite_path() {
            Some(path) => sqlite_files::check_private(path),
            None => Ok(()),
        }
    }

    /// Where the store lives, safe to show (never a password).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    /// Runs a statement that changes rows; the number changed. `durable` syncs the commit
    /// to disk before returning (SQLite; PostgreSQL commits are durable).
    async fn run(
        &self,
        statement: &'static str,
        params: Vec<Value>,
        durable: bool,
    ) -> Result<u64, StoreError> {
        let started = std::time::Instant::now();
        let result = match &self.backend {
            Backend::Sqlite(s) => s.run(statement, params, durable).await,
            Backend::Postgres(p) => p.run(statement, params).await,
        };
        crate::metrics::store_op(sql::operation(statement), started.elapsed());
        result
    }

    /// Runs a query.
    async fn query(
        &self,
        statement: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        let started = std::time::Instant::now();
        let result = match &self.backend {
            Backend::Sqlite(s) => s.query(statement, params).await,
            Backend::Postgres(p) => p.query(statement, params).await,
        };
        crate::metrics::store_op(sql::operation(statement), started.elapsed());
        result
    }

    /// Whether a write would go through now.
    async fn writable(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(s) => s.writable().await,
            Backend::Postgres(p) => p.writable().await,
        }
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

/// Now, Unix milliseconds: the wall clock, moved by however far tokio's clock is from the
/// monotonic one. In a running program the two are the same clock (the move is nil). Under a
/// paused tokio clock (the in-process application tests, `tests/it/inproc.rs`) the store's
/// times follow the virtual clock, so the shared poll schedule and the ages of records keep
/// step with the sleeps and deadlines that run on it.
pub fn now_ms() -> i64 {
    let real = std::time::Instant::now();
    let ahead = tokio::time::Instant::now().into_std();
    // Nanoseconds until the sum, so the move adds no rounding of its own.
    let ahead_ns = match ahead.checked_duration_since(real) {
        Some(later) => i128::try_from(later.as_nanos()).unwrap_or(i128::MAX),
        None => -i128::try_from(real.saturating_duration_since(ahead).as_nanos()).unwrap_or(0),
    };
    let wall_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    i64::try_from(wall_ns.saturating_add(ahead_ns).div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads a stored JSON list; a damaged value reads as empty rather than failing the listing.
fn from_json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod mcp_tasks_tests;
#[cfg(test)]
mod metrics_tests;
#[cfg(test)]
mod postgres_tls_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod world_tests;
