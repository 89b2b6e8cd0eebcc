//! The PostgreSQL backend, for several `--http` instances behind a load balancer: a small
//! connection pool, prepared statements, a timeout on every call, and migrations under an
//! advisory lock so instances that start together migrate once.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::import::ImportRow;
use super::sql;
use super::{
    Health, NewTask, PollClaim, PollRow, StatusUpdate, StoreError, StoredStatus, TaskRecord,
};
use super::{from_json_list, now_ms};

/// Longest any one store call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance; calls are one short statement each.
const POOL_SIZE: usize = 8;
/// The advisory lock key that serialises migrations ("kling" in ASCII).
const MIGRATION_LOCK: i64 = 0x006b_6c69_6e67;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A PostgreSQL store.
#[derive(Clone)]
pub(super) struct PostgresStore {
    pool: Pool,
    location: String,
    migrated: std::sync::Arc<OnceCell<()>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects and migrates. A newer schema is an error; a database that cannot be reached
    /// yet is retried on use (submitting is refused until then).
    pub(super) async fn open(
        url: &secrecy::SecretString,
        location: String,
    ) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            url.expose_secret()
                .parse()
                .map_err(|err: tokio_postgres::Error| StoreError::Unavailable {
                    location: location.clone(),
                    reason: format!("the URL does not parse ({err})"),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("kling-omni-mcp");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|err| StoreError::Unavailable {
                location: location.clone(),
                reason: err.to_string(),
            })?;
        let store = Self {
            pool,
            location,
            migrated: std::sync::Arc::default(),
        };
        match store.ready().await {
            Ok(()) => Ok(store),
            Err(err @ StoreError::Unavailable { .. }) => {
                tracing::error!(%err, "PostgreSQL is not reachable yet; submitting is refused until it is");
                Ok(store)
            }
            Err(err) => Err(err),
        }
    }

    pub(super) async fn insert_submitting(
        &self,
        task: NewTask,
        now: i64,
    ) -> Result<(), StoreError> {
        let duration = task.duration.map(i64::from);
        let inserted = self
            .execute(
                sql::INSERT_SUBMITTING,
                &[
                    &task.external_task_id,
                    &task.owner,
                    &StoredStatus::Submitting.as_str(),
                    &StoredStatus::Submitting.rank(),
                    &task.mode,
                    &task.prompt_head,
                    &task.model,
                    &duration,
                    &task.aspect_ratio,
                    &now,
                ],
            )
            .await?;
        if !inserted {
            return Err(StoreError::ExternalIdTaken {
                external_task_id: task.external_task_id,
            });
        }
        Ok(())
    }

    pub(super) async fn import_record(&self, row: ImportRow) -> Result<bool, StoreError> {
        let r = &row.record;
        let duration = r.duration.map(i64::from);
        self.execute(
            sql::IMPORT_RECORD,
            &[
                &r.external_task_id,
                &r.task_id,
                &r.owner,
                &r.status.as_str(),
                &r.status.rank(),
                &r.message,
                &r.mode,
                &r.prompt_head,
                &r.model,
                &duration,
                &r.aspect_ratio,
                &row.video_urls,
                &row.local_files,
                &r.created_at_ms,
                &r.updated_at_ms,
            ],
        )
        .await
    }

    pub(super) async fn set_created(
        &self,
        external: String,
        task_id: String,
        status: StoredStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            sql::SET_CREATED,
            &[&task_id, &status.as_str(), &status.rank(), &now, &external],
        )
        .await
    }

    pub(super) async fn set_submit_outcome(
        &self,
        external: String,
        status: StoredStatus,
        message: String,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(
            sql::SET_SUBMIT_OUTCOME,
            &[&status.as_str(), &status.rank(), &message, &now, &external],
        )
        .await
    }

    pub(super) async fn record_status(&self, update: StatusUpdate) -> Result<bool, StoreError> {
        self.execute(
            sql::RECORD_STATUS,
            &[
                &update.status.as_str(),
                &update.status.rank(),
                &update.message,
                &update.video_urls,
                &update.now_ms,
                &update.task_id,
            ],
        )
        .await
    }

    pub(super) async fn set_local_files(
        &self,
        task_id: String,
        files: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(sql::SET_LOCAL_FILES, &[&files, &now, &task_id])
            .await
            .map(drop)
    }

    pub(super) async fn get_by_task_id(
        &self,
        task_id: String,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let rows = self.query(sql::GET_BY_TASK_ID, &[&task_id]).await?;
        Ok(records(&rows).into_iter().next())
    }

    pub(super) async fn list(
        &self,
        owner: String,
        status: Option<StoredStatus>,
        limit: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = match status {
            None => self.query(sql::LIST, &[&owner, &limit]).await?,
            Some(status) => {
                self.query(sql::LIST_WITH_STATUS, &[&owner, &status.as_str(), &limit])
                    .await?
            }
        };
        Ok(records(&rows))
    }

    pub(super) async fn stale_submitting(
        &self,
        owner: String,
        before: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = self
            .query(sql::STALE_SUBMITTING, &[&owner, &before])
            .await?;
        Ok(records(&rows))
    }

    pub(super) async fn claim_recovery(
        &self,
        external: String,
        seen: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(sql::CLAIM_RECOVERY, &[&now, &external, &seen])
            .await
    }

    pub(super) async fn adopt_owner(
        &self,
        legacy: String,
        owner: String,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = self.timed(client.prepare_cached(sql::ADOPT_OWNER)).await?;
        self.timed(client.execute(&statement, &[&owner, &legacy]))
            .await
    }

    pub(super) async fn read_poll(
        &self,
        task_id: String,
        owner: String,
    ) -> Result<Option<PollRow>, StoreError> {
        let rows = self.query(sql::READ_POLL, &[&task_id, &owner]).await?;
        Ok(rows.first().and_then(|row| {
            Some(PollRow {
                next_poll_at_ms: row.try_get(0).ok()?,
                poll_count: row.try_get(1).ok()?,
                snapshot: row.try_get(2).ok()?,
                snapshot_at_ms: row.try_get(3).ok()?,
            })
        }))
    }

    pub(super) async fn claim_poll(&self, claim: PollClaim) -> Result<bool, StoreError> {
        match claim.seen {
            None => {
                self.execute(
                    sql::FIRST_POLL,
                    &[&claim.task_id, &claim.owner, &claim.next_at_ms],
                )
                .await
            }
            Some(seen) => {
                self.execute(
                    sql::NEXT_POLL,
                    &[
                        &claim.next_at_ms,
                        &(seen + 1),
                        &claim.task_id,
                        &claim.owner,
                        &seen,
                        &claim.now_ms,
                    ],
                )
                .await
            }
        }
    }

    pub(super) async fn put_snapshot(
        &self,
        task_id: String,
        owner: String,
        snapshot: String,
        at: i64,
    ) -> Result<(), StoreError> {
        self.execute(sql::PUT_SNAPSHOT, &[&snapshot, &at, &task_id, &owner])
            .await
            .map(drop)
    }

    pub(super) async fn prune_polls(&self, before: i64) -> Result<(), StoreError> {
        self.execute(sql::PRUNE_POLLS, &[&before]).await.map(drop)
    }

    pub(super) async fn health(&self) -> Result<Health, StoreError> {
        let client = self.client().await?;
        let version = self
            .timed(client.query_one(sql::SCHEMA_VERSION_NOW, &[]))
            .await?;
        let tasks = self.timed(client.query_one(sql::COUNT_TASKS, &[])).await?;
        let writable = self
            .timed(client.query_one(
                "SELECT has_table_privilege('tasks', 'INSERT, UPDATE') AND NOT pg_is_in_recovery()",
                &[],
            ))
            .await?;
        Ok(Health {
            schema_version: version.try_get(0).unwrap_or(0),
            supported_version: sql::SCHEMA_VERSION,
            tasks: tasks.try_get(0).unwrap_or(0),
            writable: writable.try_get(0).unwrap_or(false),
        })
    }

    /// Runs one statement that changes rows; `true` when it changed any.
    async fn execute(&self, statement: &str, params: Params<'_>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let prepared = self.timed(client.prepare_cached(statement)).await?;
        let changed = self.timed(client.execute(&prepared, params)).await?;
        Ok(changed > 0)
    }

    /// Runs one query.
    async fn query(&self, statement: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let prepared = self.timed(client.prepare_cached(statement)).await?;
        self.timed(client.query(&prepared, params)).await
    }

    /// A pooled connection to a migrated database.
    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.ready().await?;
        self.pool.get().await.map_err(|err| self.unavailable(err))
    }

    /// Migrates once per process (retried on later calls while the database is down).
    async fn ready(&self) -> Result<(), StoreError> {
        self.migrated
            .get_or_try_init(|| self.migrate())
            .await
            .map(drop)
    }

    /// Applies missing migrations in one transaction under an advisory lock; refuses a
    /// database from a newer version without touching it.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(|err| self.unavailable(err))?;
        let tx = self.timed(client.transaction()).await?;
        self.timed(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]))
            .await?;
        self.timed(tx.batch_execute(sql::CREATE_SCHEMA_TABLE))
            .await?;
        let version: i64 = self
            .timed(tx.query_one(sql::SCHEMA_VERSION_NOW, &[]))
            .await?
            .try_get(0)
            .map_err(|err| self.unavailable(err))?;
        if version > sql::SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                location: self.location.clone(),
                found: version,
                supported: sql::SCHEMA_VERSION,
            });
        }
        for (index, migration) in sql::MIGRATIONS.iter().enumerate() {
            let number = index as i64 + 1;
            if number > version {
                self.timed(tx.batch_execute(migration)).await?;
                self.timed(tx.execute(sql::NOTE_MIGRATION, &[&number, &now_ms()]))
                    .await?;
            }
        }
        self.timed(tx.commit()).await
    }

    /// Bounds a call by [`CALL_TIMEOUT`] and turns its failure into `store_unavailable`.
    async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result.map_err(|err| self.unavailable(err)),
            Err(_) => Err(self.unavailable("timed out")),
        }
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable {
            location: self.location.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Reads records; a row that does not fit (unknown status, wrong types) is skipped with a
/// warning.
fn records(rows: &[Row]) -> Vec<TaskRecord> {
    rows.iter()
        .filter_map(|row| match read_record(row) {
            Ok(record) => record,
            Err(err) => {
                tracing::warn!(%err, "skipping a stored task that does not read");
                None
            }
        })
        .collect()
}

fn read_record(row: &Row) -> Result<Option<TaskRecord>, tokio_postgres::Error> {
    let status: String = row.try_get(3)?;
    let Some(status) = StoredStatus::parse(&status) else {
        tracing::warn!(status = ?status, "skipping a stored task with an unknown status");
        return Ok(None);
    };
    let duration: Option<i64> = row.try_get(8)?;
    Ok(Some(TaskRecord {
        external_task_id: row.try_get(0)?,
        task_id: row.try_get(1)?,
        owner: row.try_get(2)?,
        status,
        message: row.try_get(4)?,
        mode: row.try_get(5)?,
        prompt_head: row.try_get(6)?,
        model: row.try_get(7)?,
        duration: duration.and_then(|d| u8::try_from(d).ok()),
        aspect_ratio: row.try_get(9)?,
        video_urls: from_json_list(row.try_get(10)?),
        local_files: from_json_list(row.try_get(11)?),
        created_at_ms: row.try_get(12)?,
        updated_at_ms: row.try_get(13)?,
    }))
}
