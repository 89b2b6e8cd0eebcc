//! One upstream poll loop per task and process, shared by everyone waiting on it in that
//! process; and, through the task store's poll row, by waiters in other processes and
//! instances: before each upstream query a loop claims the poll (compare-and-set on the
//! shared poll count), and a loop that loses reads the winner's answer instead. So N waiters
//! anywhere cost at most one upstream query per interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::retry::{RetryPolicy, retry_query, with_retries};
use super::{Deadline, JobsConfig};
use crate::comet::{self, Task, TaskId};
use crate::lock;
use crate::store::{Owner, Store, now_ms};

/// How often to poll: starts at `min`, grows 1.5x per poll up to `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// First interval, and the floor: never polls faster.
    pub min: Duration,
    /// Longest interval.
    pub max: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            min: Duration::from_secs(3),
            max: Duration::from_secs(15),
        }
    }
}

impl PollSchedule {
    /// The wait after the poll numbered `count` (0 for the first).
    pub fn interval(&self, count: i64) -> Duration {
        let exponent = i32::try_from(count.clamp(0, 64)).unwrap_or(64);
        self.min
            .mul_f64(1.5f64.powi(exponent))
            .clamp(self.min, self.max)
    }
}

/// The latest thing a poll loop learned.
#[derive(Debug, Clone)]
pub enum PollState {
    /// No answer yet.
    Starting,
    /// The latest status.
    Task(Task),
    /// The query failed past its retries; the loop has stopped.
    Failed(Arc<comet::Error>),
}

type Loops = HashMap<TaskId, Arc<watch::Sender<PollState>>>;

/// The registry of running poll loops.
#[derive(Debug, Clone)]
pub(super) struct Pollers {
    client: comet::Client,
    schedule: PollSchedule,
    retry: RetryPolicy,
    store: Store,
    /// Whose key polls: loops of different keys never share answers.
    owner: Owner,
    loops: Arc<Mutex<Loops>>,
    /// The last answer of loops that ended with a finished task: a task that has finished
    /// never changes, so watching it again needs no query (a `tasks/get` storm after the end).
    finished: Arc<Mutex<HashMap<TaskId, Task>>>,
}

/// Most finished tasks remembered; past it the memory starts over (it only saves queries).
const MAX_FINISHED: usize = 1_000;

/// What a loop does next.
enum Turn {
    /// This loop won the poll: query upstream, then wait `interval`.
    Poll { interval: Duration },
    /// Another waiter polls; here is its latest answer (if newer than ours) and when to look
    /// again.
    Watch {
        shared: Option<(i64, Task)>,
        recheck: Duration,
    },
}

impl Pollers {
    /// A registry that polls through `client`, sharing polls through `store`.
    pub(super) fn new(
        client: comet::Client,
        config: &JobsConfig,
        store: Store,
        owner: Owner,
    ) -> Self {
        Self {
            client,
            schedule: config.schedule,
            retry: config.retry,
            store,
            owner,
            loops: Arc::default(),
            finished: Arc::default(),
        }
    }

    /// Watches a task: joins its running loop, or starts one.
    pub(super) fn watch(&self, task_id: &TaskId) -> watch::Receiver<PollState> {
        if let Some(task) = lock(&self.finished).get(task_id).cloned() {
            // The sender goes at once: the receiver keeps the final answer.
            return watch::channel(PollState::Task(task)).1;
        }
        let mut loops = lock(&self.loops);
        if let Some(sender) = loops.get(task_id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(PollState::Starting);
        let sender = Arc::new(sender);
        loops.insert(task_id.clone(), sender.clone());
        tokio::spawn(self.clone().run(task_id.clone(), sender));
        receiver
    }

    async fn run(self, id: TaskId, sender: Arc<watch::Sender<PollState>>) {
        let task_id = &id;
        let mut local_count = 0;
        let mut seen_at = 0;
        loop {
            let pause = match self.next_turn(task_id, local_count).await {
                Turn::Poll { interval } => {
                    local_count += 1;
                    // No deadline: the loop is shared, and each waiter stops on its own.
                    let result = with_retries(self.retry, Deadline::none(), retry_query, || {
                        self.client.get_task(&id)
                    })
                    .await;
                    match result {
                        Ok(task) => {
                            seen_at = now_ms();
                            self.share(task_id, &task, seen_at).await;
                            let terminal = task.status.is_terminal();
                            if terminal {
                                self.remember_finished(&id, &task);
                            }
                            sender.send_replace(PollState::Task(task));
                            if terminal {
                                break;
                            }
                        }
                        Err(gave_up) => {
                            if !gave_up.error.retryable() {
                                // Upstream said no (a made-up id, a refused key): each such
                                // wait must not leave a row behind.
                                self.forget_unanswered(task_id).await;
                            }
                            sender.send_replace(PollState::Failed(Arc::new(gave_up.error)));
                            break;
                        }
                    }
                    interval
                }
                Turn::Watch { shared, recheck } => {
                    if let Some((at, task)) = shared.filter(|(at, _)| *at > seen_at) {
                        seen_at = at;
                        let terminal = task.status.is_terminal();
                        if terminal {
                            self.remember_finished(&id, &task);
                        }
                        sender.send_replace(PollState::Task(task));
                        if terminal {
                            break;
                        }
                    }
                    recheck
                }
            };
            // Sleep even if every waiter leaves meanwhile: an agent that calls again soon
            // joins this loop (and its backoff) instead of starting a new one that polls at once.
            tokio::time::sleep(pause).await;
            if self.stop_if_unwatched(&id, &sender) {
                return;
            }
        }
        lock(&self.loops).remove(&id);
    }

    fn remember_finished(&self, task_id: &TaskId, task: &Task) {
        let mut finished = lock(&self.finished);
        if finished.len() >= MAX_FINISHED {
            finished.clear();
        }
        finished.insert(task_id.clone(), task.clone());
    }

    /// Claims the next poll through the store, or learns who has it. When the store fails,
    /// this loop polls on its own schedule: waiting must not depend on the store.
    async fn next_turn(&self, task_id: &TaskId, local_count: i64) -> Turn {
        let own = Turn::Poll {
            interval: self.schedule.interval(local_count),
        };
        if self.store.is_simulated() {
            // Each process's simulator is its own and free, and serves the videos at its own
            // address: another process's answer would name URLs that died with it.
            return own;
        }
        let now = now_ms();
        let row = match self.store.read_poll(task_id, &self.owner).await {
            Ok(row) => row,
            Err(err) => {
                tracing::debug!(%err, "poll sharing unavailable; polling alone");
                return own;
            }
        };
        let count = row.as_ref().map(|r| r.poll_count);
        if row.as_ref().is_none_or(|r| r.next_poll_at_ms <= now) {
            let interval = self.schedule.interval(count.unwrap_or(0));
            let next_at = now.saturating_add(millis(interval));
            match self
                .store
                .claim_poll(task_id, &self.owner, count, now, next_at)
                .await
            {
                Ok(true) => return Turn::Poll { interval },
                Ok(false) => {}
                Err(_) => return own,
            }
        }
        // Someone else polls: read their latest answer, and look again when the next poll is
        // due (or sooner, to pass their answer on promptly).
        let row = match self.store.read_poll(task_id, &self.owner).await {
            Ok(Some(row)) => row,
            _ => return own,
        };
        let shared = row
            .snapshot
            .as_deref()
            .and_then(|json| serde_json::from_str::<Task>(json).ok())
            .filter(|task| &task.task_id == task_id)
            .map(|task| (row.snapshot_at_ms, task));
        let until_due = Duration::from_millis(
            u64::try_from(row.next_poll_at_ms.saturating_sub(now)).unwrap_or(0),
        );
        Turn::Watch {
            shared,
            recheck: until_due
                .min(self.schedule.min)
                .max(Duration::from_millis(10)),
        }
    }

    /// Removes the shared poll row of a task no poll had an answer for.
    async fn forget_unanswered(&self, task_id: &TaskId) {
        if self.store.is_simulated() {
            // A simulated loop never made a row (see `next_turn`).
            return;
        }
        if let Err(err) = self
            .store
            .forget_unanswered_poll(task_id, &self.owner)
            .await
        {
            tracing::debug!(%err, "cannot forget the poll row");
        }
    }

    /// Hands this loop's answer to waiters elsewhere.
    async fn share(&self, task_id: &TaskId, task: &Task, at: i64) {
        let Ok(json) = serde_json::to_string(task) else {
            return;
        };
        if let Err(err) = self
            .store
            .put_snapshot(task_id, &self.owner, &json, at)
            .await
        {
            tracing::debug!(%err, "cannot share the poll's answer");
        }
    }

    /// Ends the loop when nobody waits any more. Checked under the registry lock, so a waiter
    /// can never join a loop that is about to stop.
    fn stop_if_unwatched(&self, task_id: &TaskId, sender: &watch::Sender<PollState>) -> bool {
        let mut loops = lock(&self.loops);
        if sender.receiver_count() == 0 {
            loops.remove(task_id);
            tracing::debug!(%task_id, "poll loop ended: nobody waits any more");
            return true;
        }
        false
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_one_and_a_half_times_up_to_the_cap() {
        let schedule = PollSchedule::default();
        let secs: Vec<f64> = (0..6).map(|n| schedule.interval(n).as_secs_f64()).collect();
        assert_eq!(secs, [3.0, 4.5, 6.75, 10.125, 15.0, 15.0]);
        assert_eq!(schedule.interval(-5), schedule.min);
        assert_eq!(schedule.interval(i64::MAX), schedule.max);
    }
}
