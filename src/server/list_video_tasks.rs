//! `list_video_tasks`: the task store, newest first, so an agent can recover task ids after
//! a restart or a lost context.

use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{ArgumentError, ToolArgs, ToolInput, parse_arguments};
use super::errors::ToolFailure;
use super::schema::{input_schema, output_schema};
use super::{KlingServer, structured_result};
use crate::jobs::{ListFilter, ListedTask, StoredStatus, Usage};

/// Tasks listed when `limit` is left out.
const DEFAULT_LIMIT: u32 = 20;
/// The most tasks one call lists.
const MAX_LIMIT: u32 = 100;

/// Arguments of `list_video_tasks`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListVideoTasksArgs {
    /// Only tasks with this status: `submitted`, `processing`, `succeed`, `failed`,
    /// `submitting`, `submit_uncertain` or `submit_failed`.
    #[serde(default)]
    pub status: Option<String>,
    /// How many to return, newest first (1-100, default 20).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

impl ToolInput for ListVideoTasksArgs {
    fn from_arguments(arguments: rmcp::model::JsonObject) -> Result<Self, ArgumentError> {
        parse_arguments(arguments)
    }
}

/// The `structuredContent` of `list_video_tasks`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListVideoTasksOutput {
    /// Tasks, newest first.
    pub tasks: Vec<ListedTask>,
    /// Where the task store is (`sqlite:PATH`, `postgres://user@host/db` or `memory only`).
    pub store: String,
    /// What this caller bought in the last 24 hours (`videos`, `seconds`), as the daily
    /// spend limits count it; absent when the store cannot say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_24h: Option<Usage>,
}

#[tool_router(router = list_video_tasks_router, vis = "pub(super)")]
impl KlingServer {
    /// List tasks this server submitted (kept across restarts), newest first, with their last
    /// known status, video URLs and saved files. Use it to recover a lost `task_id`; call
    /// `get_video_task` for the current status.
    #[tool(
        name = "list_video_tasks",
        input_schema = input_schema::<ListVideoTasksArgs>(),
        output_schema = output_schema::<ListVideoTasksOutput>(),
        annotations(
            title = "List video tasks",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub(super) async fn list_video_tasks(
        &self,
        args: ToolArgs<ListVideoTasksArgs>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let deadline = self.jobs.call_deadline();
        let args = match args.0 {
            Ok(args) => args,
            Err(err) => {
                return Ok(ToolFailure::from_arguments(err, "list_video_tasks").into_result());
            }
        };
        let status = match args
            .status
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::parse::<StoredStatus>)
            .transpose()
        {
            Ok(status) => status,
            Err(reason) => {
                let err = ArgumentError {
                    field: Some("status".into()),
                    reason,
                };
                return Ok(ToolFailure::from_arguments(err, "list_video_tasks").into_result());
            }
        };
        // Out of range is refused, not clamped: an agent asking for 500 should learn it got
        // at most 100, and 0 is a mistake, not "the default".
        let limit = match args.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(limit) => {
                let err = ArgumentError {
                    field: Some("limit".into()),
                    reason: format!(
                        "{limit} is outside 1-{MAX_LIMIT} (leave it out for the newest {DEFAULT_LIMIT})"
                    ),
                };
                return Ok(ToolFailure::from_arguments(err, "list_video_tasks").into_result());
            }
        };
        let filter = ListFilter {
            status,
            limit: limit as usize,
        };
        let tasks = match self.jobs.list(filter, deadline).await {
            Ok(tasks) => tasks,
            Err(err) => return Ok(ToolFailure::from_jobs(&err).into_result()),
        };
        let output = ListVideoTasksOutput {
            tasks,
            store: self.jobs.store().location().to_string(),
            usage_24h: self.jobs.usage_24h().await.ok(),
        };
        let mut summary = format!("{} task(s), newest first.", output.tasks.len());
        if let Some(used) = output.usage_24h {
            summary.push_str(&format!(
                " Bought in the last 24 hours: {} videos, {} seconds.",
                used.videos, used.seconds
            ));
        }
        for task in &output.tasks {
            summary.push_str(&format!(
                "\n- {} [{}] {}",
                task.shown_id(),
                task.status.as_str(),
                task.prompt_head.chars().take(60).collect::<String>()
            ));
        }
        Ok(structured_result(&output, summary, Vec::new()))
    }
}
