//! The SQLite driver: one file in WAL mode with a busy timeout, so several processes on one
//! machine (three clients and a CLI at once) read and write it safely. Statements run on the
//! blocking pool; each is one short statement, its own transaction.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, params, params_from_iter};

use super::sqlite_files::{check_private, prepare_file};
use super::value::{Row, Value};
use super::{StoreError, now_ms, sql};

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

    /// Runs a statement that changes rows; `durable` syncs the commit before returning.
    pub(super) async fn run(
        &self,
        statement: &'static str,
        params: Vec<Value>,
        durable: bool,
    ) -> Result<u64, StoreError> {
        self.call(move |conn| {
            if durable {
                // The record must survive a power cut before the paid request goes out.
                conn.pragma_update(None, "synchronous", "FULL")?;
            }
            let result = conn
                .prepare_cached(statement)?
                .execute(params_from_iter(params.iter()));
            if durable {
                conn.pragma_update(None, "synchronous", "NORMAL")?;
            }
            Ok(result? as u64)
        })
        .await
    }

    /// Runs a query.
    pub(super) async fn query(
        &self,
        statement: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        self.call(move |conn| read_rows(conn, statement, &params))
            .await
    }

    /// Runs `check`, lets `admit` judge its rows, and only then runs `change` (durably): one
    /// `BEGIN IMMEDIATE` transaction, so no other writer (process or connection) comes
    /// between the check and the change. Refused: nothing is written.
    pub(super) async fn check_then_run<R: Send + 'static>(
        &self,
        check: &'static str,
        check_params: Vec<Value>,
        change: &'static str,
        change_params: Vec<Value>,
        admit: impl FnOnce(&[Row]) -> Result<(), R> + Send + 'static,
    ) -> Result<Result<u64, R>, StoreError> {
        self.call(move |conn| {
            // The record must survive a power cut before the paid request goes out.
            conn.pragma_update(None, "synchronous", "FULL")?;
            let outcome = (|| {
                let tx = rusqlite::Transaction::new_unchecked(
                    conn,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                let rows = read_rows(conn, check, &check_params)?;
                if let Err(refused) = admit(&rows) {
                    tx.rollback()?;
                    return Ok(Err(refused));
                }
                let changed = conn
                    .prepare_cached(change)?
                    .execute(params_from_iter(change_params.iter()))?;
                tx.commit()?;
                Ok(Ok(changed as u64))
            })();
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            outcome
        })
        .await
    }

    /// Runs `statement` for each parameter row of `rows` (read on the blocking pool, so it may
    /// stream from a file) in one `BEGIN IMMEDIATE` transaction: one commit for a bulk import.
    /// When `rows` fails nothing is written and its error is returned; else the rows changed.
    pub(super) async fn run_each<I>(
        &self,
        statement: &'static str,
        rows: I,
    ) -> Result<Result<u64, std::io::Error>, StoreError>
    where
        I: Iterator<Item = std::io::Result<Vec<Value>>> + Send + 'static,
    {
        self.call(move |conn| {
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            let mut prepared = conn.prepare_cached(statement)?;
            let mut changed = 0u64;
            for row in rows {
                let params = match row {
                    Ok(params) => params,
                    Err(err) => {
                        drop(prepared);
                        tx.rollback()?;
                        return Ok(Err(err));
                    }
                };
                changed += prepared.execute(params_from_iter(params.iter()))? as u64;
            }
            drop(prepared);
            tx.commit()?;
            Ok(Ok(changed))
        })
        .await
    }

    /// Whether a write would go through: takes the write lock and lets it go, changing nothing.
    pub(super) async fn writable(&self) -> bool {
        self.call(|conn| {
            // A read-only connection may take the lock (an immutable one takes none).
            if conn.is_readonly(rusqlite::MAIN_DB)? {
                return Ok(false);
            }
            conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                .map(|()| true)
        })
        .await
        .unwrap_or(false)
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
            let result = match guard.as_ref() {
                Some(conn) => work(conn),
                None => return Err(unavailable(path.as_deref(), "not open".into())),
            };
            result.map_err(|err| {
                if err.sqlite_error_code() == Some(ErrorCode::ReadOnly) {
                    // Opened read-only (or the disk turned read-only): the next call opens
                    // afresh, read-write if it can be by then.
                    *guard = None;
                }
                classify(path.as_deref(), &err)
            })
        })
        .await
        .map_err(|err| unavailable(self.path.as_deref(), err.to_string()))?
    }
}

/// The rows of a query.
fn read_rows(conn: &Connection, statement: &str, params: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(statement)?;
    let width = stmt.column_count();
    let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
        (0..width)
            .map(|i| row.get_ref(i).map(Value::from_sqlite))
            .collect::<rusqlite::Result<Row>>()
    })?;
    rows.collect()
}

/// Opens, configures and migrates a connection; an existing file this user may read but not
/// write is opened read-only, so listing and looking tasks up work and only writes (a
/// submit) are refused.
fn open_connection(path: Option<&Path>) -> Result<Connection, StoreError> {
    let Some(file) = path else {
        return open_writable(None).map_err(Opening::into_error);
    };
    check_private(file)?;
    let denied = match open_writable(path) {
        Ok(conn) => return Ok(conn),
        Err(Opening::Denied(err)) => err,
        Err(Opening::Failed(err)) => return Err(err),
    };
    if !file.is_file() {
        return Err(denied);
    }
    // The write failure is the one to report when reading fails too.
    open_read_only(file).map_err(|_| denied)
}

/// Why a read-write open failed: no permission to write (a read-only open may still work),
/// or anything else.
enum Opening {
    Denied(StoreError),
    Failed(StoreError),
}

impl Opening {
    fn into_error(self) -> StoreError {
        match self {
            Self::Denied(err) | Self::Failed(err) => err,
        }
    }
}

impl From<StoreError> for Opening {
    fn from(err: StoreError) -> Self {
        Self::Failed(err)
    }
}

/// Whether SQLite refused for lack of write access (the file, its directory, or the disk).
fn write_denied(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied)
    )
}

/// Opens an existing file read-only. A WAL database whose `-shm` file is gone (closed cleanly)
/// in a directory this user cannot write is opened as immutable: nothing can change it under
/// this reader's feet without write access there anyway, short of another user.
fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let reads = |conn: Connection| -> rusqlite::Result<(Connection, i64)> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let version: i64 = conn.query_row(sql::SCHEMA_VERSION_NOW, [], |r| r.get(0))?;
        Ok((conn, version))
    };
    let plain = Connection::open_with_flags(path, flags).and_then(reads);
    let (conn, version) = match plain {
        Ok(opened) => opened,
        Err(_) => {
            let escaped = path
                .display()
                .to_string()
                .replace('%', "%25")
                .replace('?', "%3f")
                .replace('#', "%23");
            Connection::open_with_flags(
                format!("file:{escaped}?immutable=1"),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
            .and_then(reads)
            .map_err(|err| classify(Some(path), &err))?
        }
    };
    match version {
        v if v > sql::SCHEMA_VERSION => Err(StoreError::TooNew {
            location: describe(Some(path)),
            found: v,
            supported: sql::SCHEMA_VERSION,
        }),
        v if v < sql::SCHEMA_VERSION => Err(unavailable(
            Some(path),
            "it is read-only for this user and needs an upgrade this version makes on first write"
                .into(),
        )),
        _ => Ok(conn),
    }
}

/// Opens (creating if needed), configures and migrates a read-write connection.
fn open_writable(path: Option<&Path>) -> Result<Connection, Opening> {
    let denied = |err: &rusqlite::Error| match write_denied(err) {
        true => Opening::Denied(classify(path, err)),
        false => Opening::Failed(classify(path, err)),
    };
    let opened = match path {
        None => Connection::open_in_memory(),
        Some(path) => {
            prepare_file(path).map_err(|err| {
                let read_only = matches!(
                    err.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                );
                let err = unavailable(Some(path), err.to_string());
                match read_only {
                    true => Opening::Denied(err),
                    false => Opening::Failed(err),
                }
            })?;
            Connection::open(path)
        }
    };
    let mut conn = opened.map_err(|err| denied(&err))?;
    let configure = |conn: &mut Connection| -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL: readers never block the writer, and a commit needs no fsync of the main file.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLite's default page cache is 2 MB per connection; the hot rows of a task store
        // fit in far less, and the OS caches the file anyway. Keeps an idle server small.
        conn.pragma_update(None, "cache_size", -512)?;
        Ok(())
    };
    configure(&mut conn).map_err(|err| denied(&err))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Applies missing migrations under the write lock (`BEGIN IMMEDIATE`), so processes that
/// start together migrate once; refuses a store from a newer version without touching it.
fn migrate(conn: &mut Connection, path: Option<&Path>) -> Result<(), Opening> {
    let run = |conn: &mut Connection| -> rusqlite::Result<Result<(), i64>> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(sql::CREATE_SCHEMA_TABLE, [])?;
        let version: i64 = tx.query_row(sql::SCHEMA_VERSION_NOW, [], |r| r.get(0))?;
        if version > sql::SCHEMA_VERSION {
            return Ok(Err(version));
        }
        for (number, migration) in (1i64..).zip(sql::MIGRATIONS) {
            if number > version {
                tx.execute_batch(migration)?;
                tx.execute(sql::NOTE_MIGRATION, params![number, now_ms()])?;
            }
        }
        tx.commit()?;
        Ok(Ok(()))
    };
    let outcome = run(conn).map_err(|err| match write_denied(&err) {
        true => Opening::Denied(classify(path, &err)),
        false => Opening::Failed(classify(path, &err)),
    })?;
    match outcome {
        Ok(()) => Ok(()),
        Err(found) => Err(Opening::Failed(StoreError::TooNew {
            location: describe(path),
            found,
            supported: sql::SCHEMA_VERSION,
        })),
    }
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
