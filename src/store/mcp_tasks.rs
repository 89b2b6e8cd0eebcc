//! What became of each MCP task, per owner and task id, shared by every process and instance
//! on the store: how it ended (the first end holds for good, so its status never moves
//! backward) and who is saving its videos (a claim that lapses unless its holder renews it).
//! The details of an end are opaque text to the store; the job layer gives them meaning.

use super::value::{Columns, Value};
use super::{Owner, Store, StoreError, sql};
use crate::comet::TaskId;

/// How an MCP task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum McpOutcome {
    /// It has its result.
    Completed,
    /// It can have none (the upstream no longer knows the task).
    Failed,
    /// Its caller stopped following it (`tasks/cancel`).
    Cancelled,
}

impl McpOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Completed, Self::Failed, Self::Cancelled];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// An MCP task's end, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpEnd {
    /// How it ended.
    pub outcome: McpOutcome,
    /// What the job layer recorded with it.
    pub detail: Option<String>,
    /// When, Unix ms.
    pub at_ms: i64,
}

/// What the store knows of one MCP task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct McpTaskRow {
    /// How it ended, once it did.
    pub end: Option<McpEnd>,
    /// Who holds the claim to save its videos (it may have lapsed).
    pub download_holder: Option<String>,
    /// Until when that claim holds unless renewed, Unix ms.
    pub download_until_ms: i64,
}

impl McpTaskRow {
    /// Whether someone holds a live claim to save the videos at `now_ms`.
    pub fn downloading(&self, now_ms: i64) -> bool {
        self.end.is_none() && self.download_holder.is_some() && self.download_until_ms > now_ms
    }
}

impl Store {
    /// What is known of `owner`'s MCP task `task_id`: a default row when nothing is.
    pub async fn read_mcp_task(
        &self,
        owner: &Owner,
        task_id: &TaskId,
    ) -> Result<McpTaskRow, StoreError> {
        let rows = self
            .query(sql::READ_MCP_TASK, vec![owner.into(), task_id.into()])
            .await?;
        let Some(row) = rows.first() else {
            return Ok(McpTaskRow::default());
        };
        let read = || -> Result<McpTaskRow, super::value::BadColumn> {
            let end = match row.opt_text(0)? {
                None => None,
                Some(outcome) => Some(McpEnd {
                    outcome: McpOutcome::parse(&outcome).ok_or(super::value::BadColumn(0))?,
                    detail: row.opt_text(1)?,
                    at_ms: row.opt_int(2)?.unwrap_or(0),
                }),
            };
            Ok(McpTaskRow {
                end,
                download_holder: row.opt_text(3)?,
                download_until_ms: row.int(4)?,
            })
        };
        // A row that does not read (hand-edited, or a newer build's outcome) reads as open:
        // the task is followed afresh, and any end this build records cannot replace it.
        Ok(read().unwrap_or_else(|err| {
            tracing::warn!(%err, %task_id, "an MCP task's stored state does not read");
            McpTaskRow::default()
        }))
    }

    /// Ends `owner`'s MCP task `task_id` as `outcome` with `detail`, unless it already ended:
    /// `true` when this call ended it. Only in this handle's world.
    pub async fn end_mcp_task(
        &self,
        owner: &Owner,
        task_id: &TaskId,
        outcome: McpOutcome,
        detail: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            owner.into(),
            task_id.into(),
            self.world(),
            outcome.as_str().into(),
            detail.into(),
            now_ms.into(),
        ];
        Ok(self.run(sql::END_MCP_TASK, params, true).await? > 0)
    }

    /// Takes the claim to save the videos of `owner`'s open MCP task `task_id` for `holder`
    /// until `until_ms`, or renews it when `holder` has it: `true` for exactly one of several
    /// racing holders; `false` when another holds a live claim or the task has ended.
    pub async fn claim_mcp_download(
        &self,
        owner: &Owner,
        task_id: &TaskId,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let params = vec![
            owner.into(),
            task_id.into(),
            self.world(),
            holder.into(),
            until_ms.into(),
            now_ms.into(),
        ];
        Ok(self.run(sql::CLAIM_MCP_DOWNLOAD, params, false).await? > 0)
    }

    /// Gives up `holder`'s claim (its download stopped unfinished), so another may take it.
    pub async fn release_mcp_download(
        &self,
        owner: &Owner,
        task_id: &TaskId,
        holder: &str,
    ) -> Result<(), StoreError> {
        let params = vec![owner.into(), task_id.into(), holder.into()];
        self.run(sql::RELEASE_MCP_DOWNLOAD, params, false)
            .await
            .map(drop)
    }

    /// Forgets MCP tasks untouched since before `before_ms`.
    pub async fn prune_mcp_tasks(&self, before_ms: i64) -> Result<(), StoreError> {
        self.run(sql::PRUNE_MCP_TASKS, vec![Value::Int(before_ms)], false)
            .await
            .map(drop)
    }
}
