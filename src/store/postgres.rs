//! The PostgreSQL driver, for several `--http` instances behind a load balancer: a small
//! connection pool, prepared statements, a timeout on every call, and migrations under an
//! advisory lock so instances that start together migrate once; TLS as libpq's `sslmode` says
//! (`postgres_tls`).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;
use tokio_postgres::types::ToSql;

use super::value::{Row, Value};
use super::{StoreError, now_ms, postgres_tls, sql};

/// Longest any one store call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance; calls are one short statement each.
const POOL_SIZE: usize = 8;
/// The advisory lock key that serialises migrations ("kling" in ASCII).
const MIGRATION_LOCK: i64 = 0x006b_6c69_6e67;

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
        let bad = |reason: String| StoreError::Unavailable {
            location: location.clone(),
            reason,
        };
        let (mut config, tls) = postgres_tls::parse_url(url.expose_secret()).map_err(bad)?;
        let tls = postgres_tls::connector(&tls).map_err(bad)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("kling-omni-mcp");
        }
        let manager = Manager::from_config(
            config,
            tls,
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

    /// Runs a statement that changes rows; the number changed.
    pub(super) async fn run(
        &self,
        statement: &'static str,
        params: Vec<Value>,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let prepared = self.timed(client.prepare_cached(statement)).await?;
        self.timed(client.execute(&prepared, &bind(&params))).await
    }

    /// Runs a query.
    pub(super) async fn query(
        &self,
        statement: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let prepared = self.timed(client.prepare_cached(statement)).await?;
        let rows = self.timed(client.query(&prepared, &bind(&params))).await?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| Value::from_postgres(row, i))
                    .collect::<Result<Row, _>>()
            })
            .collect::<Result<Vec<Row>, _>>()
            .map_err(|err| self.unavailable(err))
    }

    /// Takes the advisory lock `lock_key` for one transaction, runs `check`, lets `admit`
    /// judge its rows, and only then runs `change`: every instance checking under the same key
    /// waits its turn, and each check sees the changes committed before it (READ COMMITTED
    /// takes a fresh snapshot per statement). Refused: nothing is written.
    pub(super) async fn check_then_run<R>(
        &self,
        lock_key: i64,
        check: &'static str,
        check_params: Vec<Value>,
        change: &'static str,
        change_params: Vec<Value>,
        admit: impl FnOnce(&[Row]) -> Result<(), R>,
    ) -> Result<Result<u64, R>, StoreError> {
        let mut client = self.client().await?;
        let tx = self.timed(client.transaction()).await?;
        let lock = self.timed(tx.prepare_cached(sql::LOCK_SPEND)).await?;
        self.timed(tx.execute(&lock, &[&lock_key])).await?;
        let prepared = self.timed(tx.prepare_cached(check)).await?;
        let rows = self
            .timed(tx.query(&prepared, &bind(&check_params)))
            .await?;
        let rows = rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| Value::from_postgres(row, i))
                    .collect::<Result<Row, _>>()
            })
            .collect::<Result<Vec<Row>, _>>()
            .map_err(|err| self.unavailable(err))?;
        if let Err(refused) = admit(&rows) {
            self.timed(tx.rollback()).await?;
            return Ok(Err(refused));
        }
        let prepared = self.timed(tx.prepare_cached(change)).await?;
        let changed = self
            .timed(tx.execute(&prepared, &bind(&change_params)))
            .await?;
        self.timed(tx.commit()).await?;
        Ok(Ok(changed))
    }

    /// Runs `statement` once per parameter row `rows` yields, all in one transaction, taking
    /// the rows in batches off the blocking pool (they may stream from a file) and sending
    /// each batch pipelined. When `rows` fails, nothing is written and its error is returned.
    pub(super) async fn run_each<I>(
        &self,
        statement: &'static str,
        rows: I,
    ) -> Result<Result<u64, std::io::Error>, StoreError>
    where
        I: Iterator<Item = std::io::Result<Vec<Value>>> + Send + 'static,
    {
        const BATCH: usize = 500;
        let mut client = self.client().await?;
        let tx = self.timed(client.transaction()).await?;
        let prepared = self.timed(tx.prepare_cached(statement)).await?;
        let mut rows = rows;
        let mut changed = 0u64;
        loop {
            let (rest, batch) = tokio::task::spawn_blocking(move || {
                let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
                (rows, batch)
            })
            .await
            .map_err(|err| self.unavailable(err))?;
            rows = rest;
            if batch.is_empty() {
                break;
            }
            let batch = match batch.into_iter().collect::<std::io::Result<Vec<_>>>() {
                Ok(batch) => batch,
                // Dropping the transaction rolls it back.
                Err(err) => return Ok(Err(err)),
            };
            let bound: Vec<_> = batch.iter().map(|params| bind(params)).collect();
            let sent = bound
                .iter()
                .map(|params| self.timed(tx.execute(&prepared, params)));
            for done in futures::future::join_all(sent).await {
                changed += done?;
            }
        }
        self.timed(tx.commit()).await?;
        Ok(Ok(changed))
    }

    /// Whether this role may write the tasks and the server is not a read-only replica.
    pub(super) async fn writable(&self) -> bool {
        let probe =
            "SELECT has_table_privilege('tasks', 'INSERT, UPDATE') AND NOT pg_is_in_recovery()";
        match self.query(probe, Vec::new()).await {
            Ok(rows) => rows.first().and_then(|r| r.first()) == Some(&Value::Int(1)),
            Err(_) => false,
        }
    }

    /// A pooled connection to a migrated database.
    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.ready().await?;
        self.pool
            .get()
            .await
            .map_err(|err| self.unavailable_pool(&err))
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
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|err| self.unavailable_pool(&err))?;
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
            Ok(result) => {
                result.map_err(|err| self.unavailable(super::postgres_errors::describe(&err)))
            }
            Err(_) => Err(self.unavailable("timed out")),
        }
    }

    fn unavailable_pool(&self, err: &deadpool_postgres::PoolError) -> StoreError {
        self.unavailable(super::postgres_errors::describe_pool(err))
    }

    fn unavailable(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable {
            location: self.location.clone(),
            reason: reason.to_string(),
        }
    }
}

/// The parameters as the driver takes them.
fn bind(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}
