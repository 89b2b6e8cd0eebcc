//! Settings of the job layer: waits, polling, retries, downloads and the create timeout.

use std::path::PathBuf;
use std::time::Duration;

use crate::store::SpendLimits;

use super::{DEFAULT_CALL_DEADLINE, DownloadLimits, MAX_RESERVE, PollSchedule, RetryPolicy};

/// Settings of the job layer.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Longest a single tool call may wait for a task.
    pub max_wait: Duration,
    /// How often a waited-on task is polled.
    pub schedule: PollSchedule,
    /// Retries of queries and (provably unsent) creates.
    pub retry: RetryPolicy,
    /// Where downloads go.
    pub output_dir: PathBuf,
    /// The caps on one task's downloads.
    pub downloads: DownloadLimits,
    /// Timeout of one create request; with the retry policy it bounds how long a live
    /// process can leave a task `submitting`.
    pub create_timeout: Duration,
    /// The most one tool call may take, everything included: requests, retries and their
    /// pauses (`Retry-After` too), waits. Also bounds each status query of the CLI.
    pub call_deadline: Duration,
    /// Daily spend limits per owner (`--max-videos-per-day`, `--max-seconds-per-day`); off by
    /// default.
    pub spend: SpendLimits,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(50),
            schedule: PollSchedule::default(),
            retry: RetryPolicy::default(),
            output_dir: PathBuf::from("."),
            downloads: DownloadLimits::default(),
            create_timeout: Duration::from_secs(60),
            call_deadline: DEFAULT_CALL_DEADLINE,
            spend: SpendLimits::default(),
        }
    }
}

impl JobsConfig {
    /// A record `submitting` for longer than one create timeout is taken as left by a process
    /// that died. A live submit can outlast it (retries after a 429), and is then looked up
    /// early: harmless, because a lookup never creates anything and the store only moves a
    /// record forward (the live submit's own answer still binds the task id afterwards).
    pub fn submit_stale_after(&self) -> Duration {
        self.create_timeout
    }

    /// Time kept back from a call's deadline for the step that must come last (the lookup
    /// after an uncertain create, the direct query after a wait that heard nothing): a
    /// quarter of the deadline, at most 5 s.
    pub fn reserve(&self) -> Duration {
        (self.call_deadline / 4).min(MAX_RESERVE)
    }
}
