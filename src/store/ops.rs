//! Every store operation, written once over the shared SQL: the drivers only run statements.

use super::value::{Columns, Row, Value, record_from_row};
use super::{
    Health, NewTask, Owner, PollRow, Store, StoreError, StoredStatus, TaskRecord, sql, to_json_list,
};
use crate::comet::TaskId;

impl Store {
    /// Records a task about to be submitted, durably, before anything is sent. Fails with
    /// [`StoreError::ExternalIdTaken`] when a live record already uses its external id.
    pub async fn insert_submitting(&self, task: &NewTask, now_ms: i64) -> Result<(), StoreError> {
        let params = self.insert_params(task, now_ms);
        if self.run(sql::INSERT_SUBMITTING, params, true).await? == 0 {
            return Err(StoreError::ExternalIdTaken {
                external_task_id: task.external_task_id.clone(),
            });
        }
        Ok(())
    }

    /// The parameters of [`sql::INSERT_SUBMITTING`].
    pub(super) fn insert_params(&self, task: &NewTask, now_ms: i64) -> Vec<Value> {
        vec![
            task.external_task_id.as_str().into(),
            (&task.owner).into(),
            StoredStatus::Submitting.as_str().into(),
            StoredStatus::Submitting.rank().into(),
            task.mode.as_str().into(),
            task.prompt_head.as_str().into(),
            task.model.as_str().into(),
            task.duration.map(i64::from).into(),
            task.aspect_ratio.as_deref().into(),
            now_ms.into(),
            self.world(),
        ]
    }

    /// Adds a record as it is (an import), unless its external or task id is already stored.
    /// Returns whether it was added.
    pub async fn import_record(&self, r: &TaskRecord) -> Result<bool, StoreError> {
        Ok(self
            .run(sql::IMPORT_RECORD, import_params(r), false)
            .await?
            > 0)
    }

    /// Binds the upstream task id found for `external_task_id`; forward only.
    pub async fn set_created(
        &self,
        external_task_id: &str,
        task_id: &TaskId,
        status: StoredStatus,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            task_id.into(),
            status.as_str().into(),
            status.rank().into(),
            now_ms.into(),
            external_task_id.into(),
            self.world(),
        ];
        Ok(self.run(sql::SET_CREATED, params, false).await? > 0)
    }

    /// Ends a submit without a task id (`submit_failed`, `submit_uncertain`).
    pub async fn set_submit_outcome(
        &self,
        external_task_id: &str,
        status: StoredStatus,
        message: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            status.as_str().into(),
            status.rank().into(),
            message.into(),
            now_ms.into(),
            external_task_id.into(),
            self.world(),
        ];
        Ok(self.run(sql::SET_SUBMIT_OUTCOME, params, false).await? > 0)
    }

    /// Records what a status query learned about `task_id`; forward only, and a no-op when
    /// nothing changed. Returns whether a record changed.
    pub async fn record_status(
        &self,
        task_id: &TaskId,
        status: StoredStatus,
        message: Option<&str>,
        video_urls: &[String],
        units: Option<f64>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            status.as_str().into(),
            status.rank().into(),
            message.into(),
            to_json_list(video_urls).into(),
            units.map(|units| units.to_string()).into(),
            now_ms.into(),
            task_id.into(),
            self.world(),
        ];
        Ok(self.run(sql::RECORD_STATUS, params, false).await? > 0)
    }

    /// Records the files a download saved for `task_id`.
    pub async fn set_local_files(
        &self,
        task_id: &TaskId,
        files: &[String],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let params = vec![
            to_json_list(files).into(),
            now_ms.into(),
            task_id.into(),
            self.world(),
        ];
        self.run(sql::SET_LOCAL_FILES, params, false)
            .await
            .map(drop)
    }

    /// The record of upstream task `task_id`, if this store has one.
    pub async fn get_by_task_id(&self, task_id: &TaskId) -> Result<Option<TaskRecord>, StoreError> {
        let records = self
            .records(sql::GET_BY_TASK_ID, vec![task_id.into()])
            .await?;
        Ok(records.into_iter().next())
    }

    /// `owner`'s record named `id`: by task id, else by external id.
    pub async fn find(&self, owner: &Owner, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        let records = self
            .records(sql::FIND, vec![owner.into(), id.into()])
            .await?;
        Ok(records.into_iter().next())
    }

    /// `owner`'s records, newest first, optionally only those with `status`.
    pub async fn list(
        &self,
        owner: &Owner,
        status: Option<StoredStatus>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let limit = Value::Int(i64::try_from(limit).unwrap_or(i64::MAX));
        match status {
            None => self.records(sql::LIST, vec![owner.into(), limit]).await,
            Some(status) => {
                let params = vec![owner.into(), status.as_str().into(), limit];
                self.records(sql::LIST_WITH_STATUS, params).await
            }
        }
    }

    /// `owner`'s records of this handle's world still `submitting` since before `before_ms`.
    pub async fn stale_submitting(
        &self,
        owner: &Owner,
        before_ms: i64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let params = vec![owner.into(), before_ms.into(), self.world()];
        self.records(sql::STALE_SUBMITTING, params).await
    }

    /// Takes a stale record for recovery; `true` for exactly one of several racing processes.
    pub async fn claim_recovery(
        &self,
        record: &TaskRecord,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            now_ms.into(),
            record.external_task_id.as_str().into(),
            record.updated_at_ms.into(),
            self.world(),
        ];
        Ok(self.run(sql::CLAIM_RECOVERY, params, false).await? > 0)
    }

    /// Moves the tasks recorded under `legacy` (an owner fingerprint of earlier versions) to
    /// `owner`.
    pub async fn adopt_owner(&self, legacy: &Owner, owner: &Owner) -> Result<u64, StoreError> {
        self.run(sql::ADOPT_OWNER, vec![owner.into(), legacy.into()], false)
            .await
    }

    /// The shared poll state of `task_id` for `owner`.
    pub async fn read_poll(
        &self,
        task_id: &TaskId,
        owner: &Owner,
    ) -> Result<Option<PollRow>, StoreError> {
        let rows = self
            .query(sql::READ_POLL, vec![task_id.into(), owner.into()])
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let read = || -> Result<PollRow, super::value::BadColumn> {
            Ok(PollRow {
                next_poll_at_ms: row.int(0)?,
                poll_count: row.int(1)?,
                snapshot: row.opt_text(2)?,
                snapshot_at_ms: row.int(3)?,
            })
        };
        // A damaged poll row only costs this waiter an upstream query of its own.
        Ok(read().ok())
    }

    /// Tries to take the next upstream query of `task_id`: `seen` is the poll count read
    /// before (`None`: nobody polled yet), `next_at_ms` when the query after it is due.
    /// `true` for exactly one of several racing waiters.
    pub async fn claim_poll(
        &self,
        task_id: &TaskId,
        owner: &Owner,
        seen: Option<i64>,
        now_ms: i64,
        next_at_ms: i64,
    ) -> Result<bool, StoreError> {
        let (statement, params) = match seen {
            None => (
                sql::FIRST_POLL,
                vec![task_id.into(), owner.into(), next_at_ms.into()],
            ),
            Some(seen) => (
                sql::NEXT_POLL,
                vec![
                    next_at_ms.into(),
                    (seen + 1).into(),
                    task_id.into(),
                    owner.into(),
                    seen.into(),
                    now_ms.into(),
                ],
            ),
        };
        Ok(self.run(statement, params, false).await? > 0)
    }

    /// Shares the answer of a poll with the other waiters.
    pub async fn put_snapshot(
        &self,
        task_id: &TaskId,
        owner: &Owner,
        snapshot: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let params = vec![snapshot.into(), at_ms.into(), task_id.into(), owner.into()];
        self.run(sql::PUT_SNAPSHOT, params, false).await.map(drop)
    }

    /// Forgets the poll state of `task_id` for `owner` unless a poll shared an answer: after
    /// upstream said no (not found, refused), the row would only wait for the next prune.
    pub async fn forget_unanswered_poll(
        &self,
        task_id: &TaskId,
        owner: &Owner,
    ) -> Result<(), StoreError> {
        let params = vec![task_id.into(), owner.into()];
        self.run(sql::FORGET_UNANSWERED_POLL, params, false)
            .await
            .map(drop)
    }

    /// Forgets poll state last due before `before_ms`.
    pub async fn prune_polls(&self, before_ms: i64) -> Result<(), StoreError> {
        self.run(sql::PRUNE_POLLS, vec![before_ms.into()], false)
            .await
            .map(drop)
    }

    /// Reachability, schema version and writability, for `doctor`.
    pub async fn health(&self) -> Result<Health, StoreError> {
        let version = self.query(sql::SCHEMA_VERSION_NOW, Vec::new()).await?;
        let tasks = self.query(sql::COUNT_TASKS, Vec::new()).await?;
        let scalar = |rows: &[Row]| rows.first().and_then(|r| r.int(0).ok()).unwrap_or(0);
        Ok(Health {
            schema_version: scalar(&version),
            supported_version: sql::SCHEMA_VERSION,
            tasks: scalar(&tasks),
            writable: self.writable().await,
        })
    }

    /// How many tasks are in each status, every status listed (zeros too): one grouped scan,
    /// read at each metrics scrape.
    pub async fn count_by_status(&self) -> Result<Vec<(StoredStatus, i64)>, StoreError> {
        let rows = self.query(sql::COUNT_BY_STATUS, Vec::new()).await?;
        let mut counts: Vec<(StoredStatus, i64)> = StoredStatus::ALL
            .iter()
            .map(|status| (*status, 0))
            .collect();
        for row in &rows {
            let (Ok(status), Ok(count)) = (row.text(0), row.int(1)) else {
                continue;
            };
            let slot = StoredStatus::parse(&status)
                .and_then(|status| counts.iter_mut().find(|(s, _)| *s == status));
            if let Some(slot) = slot {
                slot.1 += count;
            }
        }
        Ok(counts)
    }

    /// Runs a statement that reads records; rows that do not read are skipped with a warning.
    async fn records(
        &self,
        statement: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = self.query(statement, params).await?;
        Ok(rows
            .iter()
            .filter_map(|row| match record_from_row(row) {
                Ok(record) => record,
                Err(err) => {
                    tracing::warn!(%err, "skipping a stored task that does not read");
                    None
                }
            })
            .collect())
    }
}

/// The parameters of [`sql::IMPORT_RECORD`] for `r`.
pub(super) fn import_params(r: &TaskRecord) -> Vec<Value> {
    vec![
        r.external_task_id.as_str().into(),
        r.task_id.as_ref().into(),
        (&r.owner).into(),
        r.status.as_str().into(),
        r.status.rank().into(),
        r.message.as_deref().into(),
        r.mode.as_str().into(),
        r.prompt_head.as_str().into(),
        r.model.as_str().into(),
        r.duration.map(i64::from).into(),
        r.aspect_ratio.as_deref().into(),
        to_json_list(&r.video_urls).into(),
        to_json_list(&r.local_files).into(),
        r.created_at_ms.into(),
        r.updated_at_ms.into(),
        i64::from(r.simulated).into(),
    ]
}
