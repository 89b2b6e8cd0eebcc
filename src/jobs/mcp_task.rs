//! What became of an MCP task, kept in the task store so every instance and a restarted
//! process answer for it alike: how it ended (first end wins, so a cancelled task stays
//! cancelled and a finished one stays finished whatever the upstream says later), and which
//! process saves the videos of a `download: true` task (one claim at a time, renewed while
//! saving, so a crashed downloader only holds it for [`DOWNLOAD_LEASE`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{DownloadedFile, Error, Jobs, now_ms};
use crate::comet::{Task, TaskId};
use crate::store::{McpEnd, McpOutcome};

/// How long a download claim holds unless renewed: what a crashed downloader costs.
const DOWNLOAD_LEASE: Duration = Duration::from_secs(60);

/// How often a running download renews its claim (well within the lease).
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// How an MCP task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTaskEnd {
    /// It has its result: the finished upstream task, and what became of its videos when
    /// they were asked for.
    Completed {
        /// The task as it finished (`succeed` or `failed`).
        task: Box<Task>,
        /// The asked-for videos, once saved or given up on.
        saved: Option<Saved>,
    },
    /// The upstream no longer knows the task, so it can have no result.
    Failed {
        /// The upstream's answer.
        reason: String,
    },
    /// Its caller stopped following it; the upstream job itself keeps running.
    Cancelled {
        /// When, Unix ms.
        at_ms: i64,
    },
}

/// What became of a finished task's asked-for videos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved {
    /// All of them were saved.
    Files(Vec<DownloadedFile>),
    /// None was kept: why (the URLs still work).
    Failed(String),
}

/// What the store says of an MCP task now.
#[derive(Debug, Clone, PartialEq)]
pub enum McpTaskState {
    /// It ended; this never changes.
    Ended(McpTaskEnd),
    /// It is open.
    Open {
        /// Some process is saving its videos right now.
        saving: bool,
    },
}

/// This process's claim to save an MCP task's videos; see [`Jobs::claim_mcp_download`].
#[derive(Debug)]
#[must_use = "a claim blocks other processes until it lapses: save with it"]
pub struct DownloadClaim {
    task_id: TaskId,
    holder: String,
}

/// A completed end as stored.
#[derive(Serialize, Deserialize)]
struct StoredCompletion {
    task: Task,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    saved: Option<Saved>,
}

impl Jobs {
    /// What the store says of MCP task `task_id` of this key.
    pub async fn mcp_task_state(&self, task_id: &TaskId) -> Result<McpTaskState, Error> {
        self.same_world(task_id)?;
        let row = self.store.read_mcp_task(&self.owner, task_id).await?;
        let saving = row.downloading(now_ms());
        Ok(match row.end {
            Some(end) => McpTaskState::Ended(from_stored(end)),
            None => McpTaskState::Open { saving },
        })
    }

    /// Ends MCP task `task_id` as `end`, unless it already ended: the end that holds.
    pub async fn end_mcp_task(
        &self,
        task_id: &TaskId,
        end: McpTaskEnd,
    ) -> Result<McpTaskEnd, Error> {
        self.same_world(task_id)?;
        let (outcome, detail) = to_stored(&end);
        let (owner, id) = (&self.owner, task_id);
        if self
            .store
            .end_mcp_task(owner, id, outcome, detail.as_deref(), now_ms())
            .await?
        {
            return Ok(end);
        }
        match self.mcp_task_state(task_id).await? {
            McpTaskState::Ended(earlier) => Ok(earlier),
            // Not reachable: the end is refused only when one is there.
            McpTaskState::Open { .. } => Ok(end),
        }
    }

    /// Stops following MCP task `task_id` everywhere: ends it as cancelled unless it already
    /// ended (then that end holds, and is returned). Any process saving its videos stops at
    /// its next renewal.
    pub async fn cancel_following(&self, task_id: &TaskId) -> Result<McpTaskEnd, Error> {
        let at_ms = now_ms();
        self.end_mcp_task(task_id, McpTaskEnd::Cancelled { at_ms })
            .await
    }

    /// Claims the saving of MCP task `task_id`'s videos for this process: `None` when another
    /// process holds a live claim or the task has ended.
    pub async fn claim_mcp_download(
        &self,
        task_id: &TaskId,
    ) -> Result<Option<DownloadClaim>, Error> {
        self.same_world(task_id)?;
        let holder = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let claimed = self
            .store
            .claim_mcp_download(&self.owner, task_id, &holder, now, now + lease_ms())
            .await?;
        Ok(claimed.then(|| DownloadClaim {
            task_id: task_id.clone(),
            holder,
        }))
    }

    /// Saves the videos of the succeeded `task` under `claim`, renewing it meanwhile, and
    /// ends the MCP task completed with the files (or with why none was kept): the end that
    /// holds. `None` when the saving stopped first (`stop`, the task ended elsewhere, or the
    /// claim lapsed to another process): nothing is kept and the claim is given up.
    pub async fn save_for_mcp_task(
        &self,
        claim: DownloadClaim,
        task: Task,
        stop: &CancellationToken,
    ) -> Result<Option<McpTaskEnd>, Error> {
        let DownloadClaim { task_id, holder } = claim;
        let (owner, id) = (&self.owner, &task_id);
        let halt = stop.child_token();
        let result = self
            .download_renewing(&task, &task_id, &holder, &halt)
            .await;
        if halt.is_cancelled() {
            if let Err(err) = self.store.release_mcp_download(owner, id, &holder).await {
                tracing::warn!(%err, task_id = %id, "cannot give the download claim up; it lapses");
            }
            return Ok(None);
        }
        let saved = match result {
            Ok(files) => Saved::Files(files),
            Err(err) => Saved::Failed(err.to_string()),
        };
        let end = McpTaskEnd::Completed {
            task: Box::new(task),
            saved: Some(saved),
        };
        self.end_mcp_task(&task_id, end).await.map(Some)
    }

    /// Downloads `task`'s videos, renewing the claim meanwhile; a renewal refused (the task
    /// ended elsewhere, or the claim lapsed to another process) stops the download (`halt`).
    async fn download_renewing(
        &self,
        task: &Task,
        task_id: &TaskId,
        holder: &str,
        halt: &CancellationToken,
    ) -> Result<Vec<DownloadedFile>, Error> {
        let (owner, id) = (&self.owner, task_id);
        let download = self.download(task, halt);
        tokio::pin!(download);
        let start = tokio::time::Instant::now() + RENEW_EVERY;
        let mut renew = tokio::time::interval_at(start, RENEW_EVERY);
        loop {
            tokio::select! {
                result = &mut download => return result,
                _ = renew.tick() => {
                    let now = now_ms();
                    match self.store.claim_mcp_download(owner, id, holder, now, now + lease_ms()).await {
                        Ok(true) => {}
                        Ok(false) => halt.cancel(),
                        // The claim may lapse meanwhile; then at worst a second process
                        // saves the same files too.
                        Err(err) => tracing::warn!(%err, task_id = %id, "cannot renew the download claim"),
                    }
                }
            }
        }
    }
}

fn lease_ms() -> i64 {
    i64::try_from(DOWNLOAD_LEASE.as_millis()).unwrap_or(i64::MAX)
}

fn to_stored(end: &McpTaskEnd) -> (McpOutcome, Option<String>) {
    match end {
        McpTaskEnd::Completed { task, saved } => {
            let completion = StoredCompletion {
                task: (**task).clone(),
                saved: saved.clone(),
            };
            // Plain data always serializes; without it the end still holds.
            (
                McpOutcome::Completed,
                serde_json::to_string(&completion).ok(),
            )
        }
        McpTaskEnd::Failed { reason } => (McpOutcome::Failed, Some(reason.clone())),
        McpTaskEnd::Cancelled { .. } => (McpOutcome::Cancelled, None),
    }
}

fn from_stored(end: McpEnd) -> McpTaskEnd {
    match end.outcome {
        McpOutcome::Cancelled => McpTaskEnd::Cancelled { at_ms: end.at_ms },
        McpOutcome::Failed => McpTaskEnd::Failed {
            reason: end.detail.unwrap_or_default(),
        },
        McpOutcome::Completed => {
            let completion = end
                .detail
                .as_deref()
                .map(serde_json::from_str::<StoredCompletion>);
            match completion {
                Some(Ok(c)) => McpTaskEnd::Completed {
                    task: Box::new(c.task),
                    saved: c.saved,
                },
                // It ended, so it must not read as open; its result is lost, so say that.
                _ => McpTaskEnd::Failed {
                    reason: "its stored result does not read".to_owned(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comet::{self, ReplyShape, TaskStatus};
    use crate::store::{Store, StoreLocation};

    /// Jobs over a SQLite store in `dir`; nothing here reaches the upstream.
    async fn jobs(dir: &std::path::Path) -> Jobs {
        let url = "http://127.0.0.1:9".parse().unwrap();
        let client = comet::Client::new(comet::ClientOptions::new(url, None)).unwrap();
        let downloader = comet::Downloader::new(comet::DownloadOptions::default()).unwrap();
        let store = Store::open(StoreLocation::Sqlite(dir.join("tasks.sqlite3")))
            .await
            .unwrap();
        Jobs::new(
            client,
            downloader,
            super::super::JobsConfig::default(),
            store,
        )
    }

    #[tokio::test]
    async fn a_cancel_wins_over_a_later_result_and_stops_claims() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (jobs(dir.path()).await, jobs(dir.path()).await);
        let id = TaskId::parse("8800").unwrap();
        assert_eq!(
            a.mcp_task_state(&id).await.unwrap(),
            McpTaskState::Open { saving: false }
        );
        // One process claims the download; the other sees it saving and cannot claim it.
        let claim = a.claim_mcp_download(&id).await.unwrap();
        assert!(claim.is_some());
        assert!(b.claim_mcp_download(&id).await.unwrap().is_none());
        assert_eq!(
            b.mcp_task_state(&id).await.unwrap(),
            McpTaskState::Open { saving: true }
        );
        // Cancelled through the other process: the result that comes later does not count.
        let McpTaskEnd::Cancelled { at_ms } = b.cancel_following(&id).await.unwrap() else {
            panic!("not cancelled")
        };
        let late = McpTaskEnd::Completed {
            task: Box::new(task()),
            saved: None,
        };
        let held = a.end_mcp_task(&id, late).await.unwrap();
        assert_eq!(held, McpTaskEnd::Cancelled { at_ms });
        assert_eq!(
            a.mcp_task_state(&id).await.unwrap(),
            McpTaskState::Ended(McpTaskEnd::Cancelled { at_ms })
        );
        assert!(a.claim_mcp_download(&id).await.unwrap().is_none());
        // A simulated id is not this (real) process's to record.
        let sim = TaskId::parse("sim-1-2_p3").unwrap();
        assert!(a.cancel_following(&sim).await.is_err());
    }

    fn task() -> Task {
        Task {
            task_id: TaskId::parse("8800").unwrap(),
            status: TaskStatus::Succeed,
            status_message: Some("done".into()),
            external_task_id: Some("e1".into()),
            created_at_ms: Some(1),
            updated_at_ms: Some(2),
            progress_percent: Some(100),
            videos: Vec::new(),
            request_id: None,
            shape: ReplyShape::Native,
            units: None,
        }
    }

    #[test]
    fn a_completed_end_reads_back_as_it_was_recorded() {
        let task = task();
        let file = DownloadedFile {
            path: "/out/8800.mp4".into(),
            bytes: 7,
            url: "https://v/1.mp4".into(),
        };
        for saved in [
            None,
            Some(Saved::Files(vec![file])),
            Some(Saved::Failed("no".into())),
        ] {
            let end = McpTaskEnd::Completed {
                task: Box::new(task.clone()),
                saved,
            };
            let (outcome, detail) = to_stored(&end);
            let stored = McpEnd {
                outcome,
                detail,
                at_ms: 5,
            };
            assert_eq!(from_stored(stored), end);
        }
        let damaged = McpEnd {
            outcome: McpOutcome::Completed,
            detail: Some("{".into()),
            at_ms: 5,
        };
        assert!(matches!(from_stored(damaged), McpTaskEnd::Failed { .. }));
    }
}
