//! `generate_video`: submit a task. Returns at once with the task id; never waits.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;

use super::args::{ToolArgs, input_schema};
use super::errors::ToolFailure;
use super::{KlingServer, is_false, structured_result};
use crate::comet::{CreateTaskRequest, CreatedTask, TaskStatus};

/// The `structuredContent` of `generate_video`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GenerateVideoOutput {
    /// Pass this to `get_video_task`.
    pub task_id: String,
    /// Status at submission, normally `submitted`.
    pub status: TaskStatus,
    /// The external id sent with the task (yours, or a generated one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Creation time, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// CometAPI request id, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What to do next.
    pub next_step: String,
    /// True when produced by the built-in simulator: no real video, no charge.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
}

#[tool_router(router = generate_video_router, vis = "pub(super)")]
impl KlingServer {
    /// Start a Kling O1 Omni video task on CometAPI (costs money). Returns a `task_id` at once;
    /// then poll `get_video_task` every 15-30 s until `succeed` (usually 1-5 min).
    /// The inputs pick the mode: text only (`aspect_ratio` required, `duration` 5 or 10);
    /// a `first_frame` image, optionally with an `end_frame` (no `aspect_ratio`, `duration` 5 or 10);
    /// reference images/elements (`aspect_ratio` required, `duration` 3-10); one video with
    /// `refer_type` `feature` (`aspect_ratio` required) or `base` to edit it (no `aspect_ratio` or `duration`).
    #[tool(
        name = "generate_video",
        input_schema = input_schema::<CreateTaskRequest>(),
        output_schema = schema_for_output::<GenerateVideoOutput>(),
        annotations(
            title = "Generate video",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub(super) async fn generate_video(
        &self,
        args: ToolArgs<CreateTaskRequest>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let request = match args.0 {
            Ok(request) => request.for_wire(),
            Err(err) => return Ok(ToolFailure::from_arguments(err, "generate_video").into_result()),
        };
        let external_task_id = request.external_task_id.clone();
        tracing::info!(external_task_id = ?external_task_id, model = %request.model_name, "generate_video");
        match self.comet.create_task(&request).await {
            Ok(created) => {
                let output = self.output_for(created, external_task_id);
                let summary = format!(
                    "Submitted video task {} (status: {}). {}",
                    output.task_id,
                    output.status.as_str(),
                    output.next_step
                );
                Ok(structured_result(&output, summary))
            }
            Err(err) => {
                Ok(ToolFailure::from_comet(&err, external_task_id.as_deref()).into_result())
            }
        }
    }

    fn output_for(
        &self,
        created: CreatedTask,
        sent_external_id: Option<String>,
    ) -> GenerateVideoOutput {
        GenerateVideoOutput {
            next_step: format!(
                "Call get_video_task with task_id \"{}\" in about 20 s, then every 15-30 s; jobs usually take 1-5 minutes.",
                created.task_id
            ),
            task_id: created.task_id,
            status: created.status,
            external_task_id: created.external_task_id.or(sent_external_id),
            created_at_ms: created.created_at_ms,
            request_id: created.request_id,
            simulated: self.simulated,
        }
    }
}
