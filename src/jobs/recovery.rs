//! Settling submits whose outcome is unknown: right after an ambiguous create failure, and
//! later for records a dead process left `submitting`. Either way: one lookup by the external
//! id, then the found task or `submit_uncertain` — never a second create.

use std::time::Duration;

use super::{Deadline, Error, Jobs, now_ms};
use crate::comet::{self, CreatedTask, ExternalTaskId, TaskId};
use crate::store::{StoredStatus, TaskRecord};

impl Jobs {
    /// After an ambiguous create failure: one query by external id. Kling accepts either id
    /// in the query path; whether CometAPI does is unknown, so a miss proves nothing.
    /// Without time left for the lookup before `deadline`, the submit is uncertain at once.
    pub(super) async fn recover(
        &self,
        external: &ExternalTaskId,
        cause: comet::Error,
        deadline: Deadline,
    ) -> Result<CreatedTask, Error> {
        tracing::warn!(%cause, %external, "create outcome unknown; looking the task up by its external id");
        let lookup = if deadline.allows(Duration::ZERO) {
            self.client
                .find_by_external_id(external, deadline.limit())
                .await
        } else {
            tracing::warn!(%external, "no time left to look the task up");
            Err(cause.clone())
        };
        match lookup {
            Ok(task) if task.external_task_id.as_deref() == Some(external.as_str()) => {
                tracing::info!(task_id = %task.task_id, "found the task the failed create started");
                self.note_created(external, &task.task_id, task.status.into())
                    .await;
                Ok(CreatedTask {
                    task_id: task.task_id,
                    status: task.status,
                    external_task_id: Some(external.as_str().to_owned()),
                    created_at_ms: task.created_at_ms,
                    request_id: task.request_id,
                })
            }
            _ => {
                self.note_outcome(external, StoredStatus::SubmitUncertain, &cause.to_string())
                    .await;
                Err(Error::SubmitUncertain {
                    external_task_id: external.as_str().to_owned(),
                    cause,
                })
            }
        }
    }

    /// Resolves this key's records left `submitting` by a process that died (older than the
    /// longest a live submit can take). Racing processes each take different records. Returns
    /// how many were resolved; store or network trouble, or no time left before `deadline`,
    /// leaves records for the next try.
    pub(crate) async fn recover_stale(&self, deadline: Deadline) -> usize {
        let stale_after =
            i64::try_from(self.config.submit_stale_after().as_millis()).unwrap_or(i64::MAX);
        let before = now_ms().saturating_sub(stale_after);
        let stale = match self.store.stale_submitting(&self.owner, before).await {
            Ok(stale) => stale,
            Err(err) => {
                tracing::warn!(%err, "cannot look for interrupted submits");
                return 0;
            }
        };
        let mut resolved = 0;
        for record in stale {
            if !deadline.allows(Duration::ZERO) {
                break;
            }
            if matches!(self.store.claim_recovery(&record, now_ms()).await, Ok(true))
                && self.resolve(&record, deadline).await
            {
                resolved += 1;
            }
        }
        resolved
    }

    async fn resolve(&self, record: &TaskRecord, deadline: Deadline) -> bool {
        let stored = record.external_task_id.as_str();
        tracing::info!(
            external = stored,
            "resolving a submit interrupted by a stopped process"
        );
        // The store's bytes are checked like any input: an id that cannot be looked up
        // leaves the submit uncertain rather than reaching the URL.
        let lookup = match ExternalTaskId::parse(stored) {
            Ok(id) => self.client.find_by_external_id(&id, deadline.limit()).await,
            Err(violation) => {
                let message = format!(
                    "the process that submitted it stopped before {} answered, and its stored external id cannot be looked up: {violation}",
                    self.upstream()
                );
                self.note_outcome(stored, StoredStatus::SubmitUncertain, &message)
                    .await;
                return true;
            }
        };
        let external = stored;
        match lookup {
            Ok(task) if task.external_task_id.as_deref() == Some(external) => {
                self.note_created(external, &task.task_id, task.status.into())
                    .await;
                true
            }
            Ok(_) => {
                let message = format!(
                    "the process that submitted it stopped before {} answered, and no task with this external id was found",
                    self.upstream()
                );
                self.note_outcome(external, StoredStatus::SubmitUncertain, &message)
                    .await;
                true
            }
            Err(err) if err.kind() == comet::ErrorKind::NotFound => {
                let message = format!(
                    "the process that submitted it stopped before {} answered, and looking the external id up failed: {err}",
                    self.upstream()
                );
                self.note_outcome(external, StoredStatus::SubmitUncertain, &message)
                    .await;
                true
            }
            Err(err) => {
                tracing::warn!(%err, external, "cannot look the interrupted submit up now; trying again later");
                false
            }
        }
    }

    /// Who answers this process's submits, for stored messages.
    fn upstream(&self) -> &'static str {
        match self.simulated() {
            true => "the built-in simulator",
            false => "CometAPI",
        }
    }

    /// Binds a task id to its record. The task exists (and is paid for) either way, so a store
    /// failure here is logged, never returned: the caller must get the id.
    pub(super) async fn note_created(
        &self,
        external: impl AsRef<str>,
        task_id: &TaskId,
        status: StoredStatus,
    ) {
        let external = external.as_ref();
        if let Err(err) = self
            .store
            .set_created(external, task_id, status, now_ms())
            .await
        {
            tracing::error!(%err, external, %task_id, "the task was created, but the task store could not record its id");
        }
    }

    /// Ends a submit without a task id.
    pub(super) async fn note_outcome(
        &self,
        external: impl AsRef<str>,
        status: StoredStatus,
        message: &str,
    ) {
        let external = external.as_ref();
        if let Err(err) = self
            .store
            .set_submit_outcome(external, status, message, now_ms())
            .await
        {
            tracing::warn!(%err, external, "cannot record the submit's outcome");
        }
    }
}
