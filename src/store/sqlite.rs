//! The SQLite driver: one file in WAL mode with a busy timeout, so several processes on one
//! machine (three clients and a CLI at once) read and write it safely. Statements run on the
//! blocking pool; each is one short statement, its own transaction.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, params, params_from_iter};

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
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(statement)?;
            let width = stmt.column_count();
            let rows = stmt.query_map(params_from_iter(params.iter()), |row| {
                (0..width)
                    .map(|i| row.get_ref(i).map(Value::from_sqlite))
                    .collect::<rusqlite::Result<Row>>()
            })?;
            rows.collect()
        })
        .await
    }

    /// Whether a write would go through: takes the write lock and lets it go, changing nothing.
    pub(super) async fn writable(&self) -> bool {
        self.call(|conn| conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;"))
            .await
            .is_ok()
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
        // SQLite's default page cache is 2 MB per connection; the hot rows of a task store
        // fit in far less, and the OS caches the file anyway. Keeps an idle server small.
        conn.pragma_update(None, "cache_size", -512)?;
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
            // Tasks and URLs are nobody else's business, whoever created the file.
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
        for (number, migration) in (1i64..).zip(sql::MIGRATIONS) {
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
