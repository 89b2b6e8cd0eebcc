//! The SQLite backend: one file in WAL mode with a busy timeout, so several processes on one
//! machine (three clients and a CLI at once) read and write it safely. Calls run on the
//! blocking pool; each is one short statement.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use super::import::ImportRow;
use super::sql;
use super::{
    Health, NewTask, PollClaim, PollRow, StatusUpdate, StoreError, StoredStatus, TaskRecord,
};
use super::{from_json_list, now_ms};

/// How long a statement waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A SQLite store (a file, or memory when `path` is `None`).
#[derive(Debug)]
pub(super) struct SqliteStore {
    path: Option<PathBuf>,
    /// `None` while the file cannot be opened (e.g. a read-only disk); each call tries again.
    conn: Arc<Mutex<Option<Connection>>>,
}

impl SqliteStore {
    /// Opens and migrates the store. A damaged file or a newer schema is an error; a file that
    /// cannot be opened for now leaves the store unavailable (each call retries).
    pub(super) async fn open(path: Option<PathBuf>) -> Result<Self, StoreError> {
        let store = Self {
            path,
            conn: Arc::default(),
        };
        match store.call(|_| Ok(())).await {
            Ok(()) => Ok(store),
            Err(err @ StoreError::Unavailable { .. }) if store.path.is_some() => {
                tracing::error!(%err, "the task store cannot be opened now; submitting is refused until it can");
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
        let external = task.external_task_id.clone();
        let inserted = self
            .call(move |conn| {
                // The record must survive a power cut before the paid request goes out.
                conn.pragma_update(None, "synchronous", "FULL")?;
                let result = conn
                    .prepare_cached(sql::INSERT_SUBMITTING)?
                    .execute(params![
                        task.external_task_id,
                        task.owner,
                        StoredStatus::Submitting.as_str(),
                        StoredStatus::Submitting.rank(),
                        task.mode,
                        task.prompt_head,
                        task.model,
                        task.duration,
                        task.aspect_ratio,
                        now,
                    ]);
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                result
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::ExternalIdTaken {
                external_task_id: external,
            });
        }
        Ok(())
    }

    pub(super) async fn import_record(&self, row: ImportRow) -> Result<bool, StoreError> {
        self.execute(sql::IMPORT_RECORD, move |stmt| {
            let r = &row.record;
            stmt.execute(params![
                r.external_task_id,
                r.task_id,
                r.owner,
                r.status.as_str(),
                r.status.rank(),
                r.message,
                r.mode,
                r.prompt_head,
                r.model,
                r.duration,
                r.aspect_ratio,
                row.video_urls,
                row.local_files,
                r.created_at_ms,
                r.updated_at_ms,
            ])
        })
        .await
    }

    pub(super) async fn set_created(
        &self,
        external: String,
        task_id: String,
        status: StoredStatus,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(sql::SET_CREATED, move |stmt| {
            stmt.execute(params![
                task_id,
                status.as_str(),
                status.rank(),
                now,
                external
            ])
        })
        .await
    }

    pub(super) async fn set_submit_outcome(
        &self,
        external: String,
        status: StoredStatus,
        message: String,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(sql::SET_SUBMIT_OUTCOME, move |stmt| {
            stmt.execute(params![
                status.as_str(),
                status.rank(),
                message,
                now,
                external
            ])
        })
        .await
    }

    pub(super) async fn record_status(&self, update: StatusUpdate) -> Result<bool, StoreError> {
        self.execute(sql::RECORD_STATUS, move |stmt| {
            stmt.execute(params![
                update.status.as_str(),
                update.status.rank(),
                update.message,
                update.video_urls,
                update.now_ms,
                update.task_id,
            ])
        })
        .await
    }

    pub(super) async fn set_local_files(
        &self,
        task_id: String,
        files: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.execute(sql::SET_LOCAL_FILES, move |stmt| {
            stmt.execute(params![files, now, task_id])
        })
        .await
        .map(drop)
    }

    pub(super) async fn get_by_task_id(
        &self,
        task_id: String,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let records = self
            .call(move |conn| records(conn, sql::GET_BY_TASK_ID, params![task_id]))
            .await?;
        Ok(records.into_iter().next())
    }

    pub(super) async fn list(
        &self,
        owner: String,
        status: Option<StoredStatus>,
        limit: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        self.call(move |conn| match status {
            None => records(conn, sql::LIST, params![owner, limit]),
            Some(status) => records(
                conn,
                sql::LIST_WITH_STATUS,
                params![owner, status.as_str(), limit],
            ),
        })
        .await
    }

    pub(super) async fn stale_submitting(
        &self,
        owner: String,
        before: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        self.call(move |conn| records(conn, sql::STALE_SUBMITTING, params![owner, before]))
            .await
    }

    pub(super) async fn claim_recovery(
        &self,
        external: String,
        seen: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.execute(sql::CLAIM_RECOVERY, move |stmt| {
            stmt.execute(params![now, external, seen])
        })
        .await
    }

    pub(super) async fn adopt_owner(
        &self,
        legacy: String,
        owner: String,
    ) -> Result<u64, StoreError> {
        self.call(move |conn| {
            conn.prepare_cached(sql::ADOPT_OWNER)?
                .execute(params![owner, legacy])
        })
        .await
        .map(|n| n as u64)
    }

    pub(super) async fn read_poll(
        &self,
        task_id: String,
        owner: String,
    ) -> Result<Option<PollRow>, StoreError> {
        self.call(move |conn| {
            conn.prepare_cached(sql::READ_POLL)?
                .query_row(params![task_id, owner], |row| {
                    Ok(PollRow {
                        next_poll_at_ms: row.get(0)?,
                        poll_count: row.get(1)?,
                        snapshot: row.get(2)?,
                        snapshot_at_ms: row.get(3)?,
                    })
                })
                .optional()
        })
        .await
    }

    pub(super) async fn claim_poll(&self, claim: PollClaim) -> Result<bool, StoreError> {
        match claim.seen {
            None => {
                self.execute(sql::FIRST_POLL, move |stmt| {
                    stmt.execute(params![claim.task_id, claim.owner, claim.next_at_ms])
                })
                .await
            }
            Some(seen) => {
                self.execute(sql::NEXT_POLL, move |stmt| {
                    stmt.execute(params![
                        claim.next_at_ms,
                        seen + 1,
                        claim.task_id,
                        claim.owner,
                        seen,
                        claim.now_ms,
                    ])
                })
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
        self.execute(sql::PUT_SNAPSHOT, move |stmt| {
            stmt.execute(params![snapshot, at, task_id, owner])
        })
        .await
        .map(drop)
    }

    pub(super) async fn prune_polls(&self, before: i64) -> Result<(), StoreError> {
        self.execute(sql::PRUNE_POLLS, move |stmt| stmt.execute(params![before]))
            .await
            .map(drop)
    }

    pub(super) async fn health(&self) -> Result<Health, StoreError> {
        self.call(|conn| {
            let schema_version = conn.query_row(sql::SCHEMA_VERSION_NOW, [], |r| r.get(0))?;
            let tasks = conn.query_row(sql::COUNT_TASKS, [], |r| r.get(0))?;
            // Taking the write lock and letting it go changes nothing but proves we can write.
            let writable = conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_ok();
            Ok(Health {
                schema_version,
                supported_version: sql::SCHEMA_VERSION,
                tasks,
                writable,
            })
        })
        .await
    }

    /// Runs one statement that changes rows; `true` when it changed any.
    async fn execute(
        &self,
        statement: &'static str,
        run: impl FnOnce(&mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<usize> + Send + 'static,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| run(&mut conn.prepare_cached(statement)?))
            .await
            .map(|changed| changed > 0)
    }

    /// Runs `work` with the connection on the blocking pool, opening it first if needed.
    async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = lock(&conn);
            if guard.is_none() {
                *guard = Some(open_connection(path.as_deref())?);
            }
            match guard.as_ref() {
                Some(conn) => work(conn).map_err(|err| classify(path.as_deref(), &err)),
                None => Err(unavailable(path.as_deref(), "not open".into())),
            }
        })
        .await
        .map_err(|err| unavailable(self.path.as_deref(), err.to_string()))?
    }
}

/// Opens, configures and migrates a connection.
fn open_connection(path: Option<&Path>) -> Result<Connection, StoreError> {
    let opened = match path {
        None => Connection::open_in_memory(),
        Some(path) => {
            prepare_file(path).map_err(|err| unavailable(Some(path), err.to_string()))?;
            Connection::open(path)
        }
    };
    let mut conn = opened.map_err(|err| classify(path, &err))?;
    let configure = |conn: &mut Connection| -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer, and a commit needs no fsync of the main file.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(())
    };
    configure(&mut conn).map_err(|err| classify(path, &err))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Creates the directory and an empty file readable by its owner only (the WAL and shared
/// memory files SQLite adds take the same mode).
fn prepare_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            // Earlier versions left 0644; tasks and URLs are nobody else's business.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    options.open(path).map(drop)
}

/// Applies missing migrations under the write lock (`BEGIN IMMEDIATE`), so processes that
/// start together migrate once; refuses a store from a newer version without touching it.
fn migrate(conn: &mut Connection, path: Option<&Path>) -> Result<(), StoreError> {
    let run = |conn: &mut Connection| -> rusqlite::Result<Result<(), i64>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(sql::CREATE_SCHEMA_TABLE, [])?;
        let version: i64 = tx.query_row(sql::SCHEMA_VERSION_NOW, [], |r| r.get(0))?;
        if version > sql::SCHEMA_VERSION {
            return Ok(Err(version));
        }
        for (index, migration) in sql::MIGRATIONS.iter().enumerate() {
            let number = index as i64 + 1;
            if number > version {
                tx.execute_batch(migration)?;
                tx.execute(sql::NOTE_MIGRATION, params![number, now_ms()])?;
            }
        }
        tx.commit()?;
        Ok(Ok(()))
    };
    match run(conn).map_err(|err| classify(path, &err))? {
        Ok(()) => Ok(()),
        Err(found) => Err(StoreError::TooNew {
            location: describe(path),
            found,
            supported: sql::SCHEMA_VERSION,
        }),
    }
}

/// Reads records; a row with a status this build does not know is skipped with a warning.
fn records(
    conn: &Connection,
    statement: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<TaskRecord>> {
    let mut stmt = conn.prepare_cached(statement)?;
    let rows = stmt.query_map(params, read_record)?;
    let mut out = Vec::new();
    for row in rows {
        out.extend(row?);
    }
    Ok(out)
}

fn read_record(row: &Row<'_>) -> rusqlite::Result<Option<TaskRecord>> {
    let status: String = row.get(3)?;
    let Some(status) = StoredStatus::parse(&status) else {
        tracing::warn!(status = ?status, "skipping a stored task with an unknown status");
        return Ok(None);
    };
    let duration: Option<i64> = row.get(8)?;
    Ok(Some(TaskRecord {
        external_task_id: row.get(0)?,
        task_id: row.get(1)?,
        owner: row.get(2)?,
        status,
        message: row.get(4)?,
        mode: row.get(5)?,
        prompt_head: row.get(6)?,
        model: row.get(7)?,
        duration: duration.and_then(|d| u8::try_from(d).ok()),
        aspect_ratio: row.get(9)?,
        video_urls: from_json_list(&row.get::<_, String>(10)?),
        local_files: from_json_list(&row.get::<_, String>(11)?),
        created_at_ms: row.get(12)?,
        updated_at_ms: row.get(13)?,
    }))
}

/// A damaged file is its own error (the user must act); anything else may pass.
fn classify(path: Option<&Path>, err: &rusqlite::Error) -> StoreError {
    let code = err.sqlite_error_code();
    match (code, path) {
        (Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt), Some(path)) => {
            StoreError::Damaged {
                path: path.to_owned(),
                reason: err.to_string(),
            }
        }
        _ => unavailable(path, err.to_string()),
    }
}

fn unavailable(path: Option<&Path>, reason: String) -> StoreError {
    StoreError::Unavailable {
        location: describe(path),
        reason,
    }
}

fn describe(path: Option<&Path>) -> String {
    path.map_or_else(
        || "memory only".to_owned(),
        |p| format!("sqlite:{}", p.display()),
    )
}

fn lock(conn: &Mutex<Option<Connection>>) -> MutexGuard<'_, Option<Connection>> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
