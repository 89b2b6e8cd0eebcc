//! One upstream poll loop per task, shared by everyone waiting on it: a second waiter joins the
//! running loop instead of starting its own, so concurrent waits cost no extra requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::retry::{RetryPolicy, retry_query, with_retries};
use crate::comet::{self, Task};

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

type Loops = HashMap<String, Arc<watch::Sender<PollState>>>;

/// The registry of running poll loops.
#[derive(Debug, Clone)]
pub(super) struct Pollers {
    client: comet::Client,
    schedule: PollSchedule,
    retry: RetryPolicy,
    loops: Arc<Mutex<Loops>>,
}

impl Pollers {
    /// A registry that polls through `client`.
    pub(super) fn new(client: comet::Client, schedule: PollSchedule, retry: RetryPolicy) -> Self {
        Self {
            client,
            schedule,
            retry,
            loops: Arc::default(),
        }
    }

    /// Watches a task: joins its running loop, or starts one (which polls at once).
    pub(super) fn watch(&self, task_id: &str) -> watch::Receiver<PollState> {
        let mut loops = lock(&self.loops);
        if let Some(sender) = loops.get(task_id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(PollState::Starting);
        let sender = Arc::new(sender);
        loops.insert(task_id.to_owned(), sender.clone());
        tokio::spawn(self.clone().run(task_id.to_owned(), sender));
        receiver
    }

    async fn run(self, task_id: String, sender: Arc<watch::Sender<PollState>>) {
        let mut interval = self.schedule.min;
        loop {
            let result =
                with_retries(self.retry, retry_query, || self.client.get_task(&task_id)).await;
            let finished = match result {
                Ok(task) => {
                    let terminal = task.status.is_terminal();
                    sender.send_replace(PollState::Task(task));
                    terminal
                }
                Err(err) => {
                    sender.send_replace(PollState::Failed(Arc::new(err)));
                    true
                }
            };
            if finished {
                break;
            }
            // Sleep the whole interval even if every waiter leaves meanwhile: an agent that
            // calls again soon joins this loop (and its backoff) instead of starting a new
            // one that polls at once.
            tokio::time::sleep(interval).await;
            if self.stop_if_unwatched(&task_id, &sender) {
                return;
            }
            interval = interval
                .mul_f64(1.5)
                .clamp(self.schedule.min, self.schedule.max);
        }
        lock(&self.loops).remove(&task_id);
    }

    /// Ends the loop when nobody waits any more. Checked under the registry lock, so a waiter
    /// can never join a loop that is about to stop.
    fn stop_if_unwatched(&self, task_id: &str, sender: &watch::Sender<PollState>) -> bool {
        let mut loops = lock(&self.loops);
        if sender.receiver_count() == 0 {
            loops.remove(task_id);
            return true;
        }
        false
    }
}

fn lock(loops: &Mutex<Loops>) -> MutexGuard<'_, Loops> {
    loops
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
