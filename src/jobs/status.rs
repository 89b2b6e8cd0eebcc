//! "Where does this task stand?" — one primitive for every front door, with the freshness
//! the door needs: asked of CometAPI now (the CLI's `status`, a tool's answer), once without
//! retries (a probe), or the shared poll loop's latest answer (MCP `tasks/get`, which clients
//! may ask every second).

use super::retry::{retry_query, with_retries};
use super::{Deadline, Error, Jobs, PollState};
use crate::comet::{Task, TaskId};

/// How fresh a status must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Asked of CometAPI now, retried on transient failures while time is left.
    Fresh,
    /// Asked of CometAPI once, never retried: a diagnostic probe.
    Probe,
    /// The shared poll loop's latest answer (joining or starting it): any number of callers
    /// cost at most one upstream query per poll interval, and a finished task costs none.
    /// Without an answer by the deadline: [`Error::NoAnswerYet`].
    Shared,
}

impl Jobs {
    /// The status of `task_id`, as fresh as `freshness` says, by `deadline`. A task of the
    /// other world (simulated or real) is refused before anything is sent.
    pub async fn status(
        &self,
        task_id: &TaskId,
        freshness: Freshness,
        deadline: Deadline,
    ) -> Result<Task, Error> {
        self.same_world(task_id)?;
        match freshness {
            Freshness::Fresh => self.fresh(task_id, deadline).await,
            Freshness::Probe => Ok(self.client.get_task(task_id).await?),
            Freshness::Shared => self.shared(task_id, deadline).await,
        }
    }

    /// One status query, retried on transient failures while time is left before `deadline`
    /// (and never longer than one call deadline, so the CLI's queries are bounded too).
    pub(super) async fn fresh(&self, task_id: &TaskId, deadline: Deadline) -> Result<Task, Error> {
        let deadline = deadline.min(self.call_deadline());
        let task = with_retries(self.config.retry, deadline, retry_query, || {
            self.client.get_task_within(task_id, deadline.limit())
        })
        .await
        .map_err(|gave_up| Error::gave_up(gave_up, false))?;
        self.record(&task).await;
        Ok(task)
    }

    /// The shared poll loop's latest answer: joins (or starts) the loop, waiting for its first
    /// answer until `deadline`. The loop lives on for an interval after its last caller, so a
    /// caller asking every second keeps joining it.
    async fn shared(&self, task_id: &TaskId, deadline: Deadline) -> Result<Task, Error> {
        let mut receiver = self.pollers.watch(task_id);
        loop {
            let state = receiver.borrow_and_update().clone();
            match state {
                PollState::Task(task) => {
                    self.record(&task).await;
                    return Ok(task);
                }
                PollState::Failed(err) => return Err(Error::Comet((*err).clone())),
                PollState::Starting => {}
            }
            tokio::select! {
                changed = receiver.changed() => if changed.is_err() {
                    receiver = self.pollers.watch(task_id);
                },
                () = deadline.reached() => return Err(Error::NoAnswerYet),
            }
        }
    }
}
