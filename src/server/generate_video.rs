//! `generate_video`: check a request against every API rule, then submit it (or, with
//! `dry_run`, show exactly what would be sent). Returns at once with the task id unless asked
//! to wait.

use rmcp::model::{CallToolResponse, CallToolResult, JsonObject};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::args::{
    ArgumentError, ToolArgs, ToolInput, parse_arguments, refuse_unknown_fields, take_flag,
    take_seconds,
};
use super::errors::ToolFailure;
use super::follow::{Follow, resource_links};
use super::schema::{input_schema, output_schema};
use super::{KlingServer, is_false, roots, structured_result};
use crate::comet::{
    self, CreateTaskRequest, CreatedTask, GenerationMode, Task, TaskId, TaskStatus,
};
use crate::jobs::{
    Allowance, Followed, GenerateSpec, Generated, LocalFileView, NotBought, RequestFacts, Spend,
    Unprepared, VideoView,
};

/// Arguments of `generate_video`: the API request plus control flags.
#[derive(Debug, Clone, JsonSchema)]
pub struct GenerateVideoArgs {
    /// The CometAPI request.
    #[serde(flatten)]
    pub request: CreateTaskRequest,
    /// Check only: return the exact body that would be sent, the mode and warnings. Free.
    #[serde(default)]
    pub dry_run: bool,
    /// After submitting, wait up to this many seconds (at most {max-wait}) for the task to finish.
    #[serde(default)]
    pub wait_seconds: u32,
    /// If the wait ends with success, save the videos to the server's output directory.
    #[serde(default)]
    pub download: bool,
}

impl ToolInput for GenerateVideoArgs {
    fn from_arguments(mut arguments: JsonObject) -> Result<Self, ArgumentError> {
        refuse_unknown_fields(&arguments, &input_schema::<Self>())?;
        // Control flags are taken out first so the request keeps `deny_unknown_fields` and
        // exact error paths (serde's `flatten` would lose both).
        let dry_run = take_flag(&mut arguments, "dry_run")?;
        let wait_seconds = take_seconds(&mut arguments, "wait_seconds")?;
        let download = take_flag(&mut arguments, "download")?;
        Ok(Self {
            request: parse_arguments(arguments)?,
            dry_run,
            wait_seconds,
            download,
        })
    }
}

/// The `structuredContent` of `generate_video`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GenerateVideoOutput {
    /// Pass this to `get_video_task`. Absent only for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    /// Latest status (`submitted` right after submission). Absent only for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<TaskStatus>,
    /// Upstream status text; on `failed`, the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Finished videos, when the call waited until `succeed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<VideoView>,
    /// Saved copies, when `download` was asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<LocalFileView>,
    /// Why the download failed (the URLs still work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_error: Option<String>,
    /// What the API will make, inferred from the inputs.
    pub mode: GenerationMode,
    /// Allowed but probably unintended things about the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The external id sent with the task (yours, or a generated one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Creation time, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// CometAPI request id, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// True for a dry run: nothing was sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Dry run only: the exact JSON body that would be sent (base64 data shortened).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Value>,
    /// Dry run only: what the request would buy (`videos`, `seconds`, `model`, `mode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<Spend>,
    /// Dry run only, when a daily limit is set: what this caller may still buy in the rolling
    /// 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowance: Option<Allowance>,
    /// What to do next.
    pub next_step: String,
    /// True when produced by the built-in simulator: no real video, no charge.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
}

#[tool_router(router = generate_video_router, vis = "pub(super)")]
impl KlingServer {
    /// Start a Kling O1 Omni video task on CometAPI (costs money; `dry_run` checks for free).
    /// Returns a `task_id` at once (or waits up to `wait_seconds`); then poll `get_video_task`
    /// until `succeed` (usually 1-5 min). The inputs pick the mode: text only (`aspect_ratio`
    /// required, `duration` 5 or 10); a `first_frame` image, optionally with an `end_frame` (no
    /// `aspect_ratio`, `duration` 5 or 10); reference images/elements (`aspect_ratio` required,
    /// `duration` 3-10); one video with `refer_type` `feature` (`aspect_ratio` required) or
    /// `base` to edit it (no `aspect_ratio` or `duration`). `kling-v3-omni`: 3-15 s in every
    /// mode, `sound`, storyboards (`multi_shot`).
    #[tool(
        name = "generate_video",
        input_schema = input_schema::<GenerateVideoArgs>(),
        output_schema = output_schema::<GenerateVideoOutput>(),
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
        args: ToolArgs<GenerateVideoArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let deadline = self.jobs.call_deadline();
        let args = match args.0 {
            Ok(args) => args,
            Err(err) => {
                return Ok(ToolFailure::from_arguments(err, "generate_video")
                    .into_result()
                    .into());
            }
        };
        let roots = roots::allowed_roots(
            &self.allowed_roots,
            (self.client_roots && roots::may_ask(&context)).then_some(&context.peer),
        )
        .await;
        // As an MCP task the call answers once the task exists: tasks/get follows it.
        let as_task = !args.dry_run && self.wants_task(&context);
        let how = Follow {
            wait_seconds: if as_task { 0 } else { args.wait_seconds },
            download: args.download && !as_task,
            deadline,
        };
        let mut following = self.following(how, &context);
        let spec = GenerateSpec {
            roots,
            dry_run: args.dry_run,
            follow: std::mem::take(&mut following.spec),
            created: None,
        };
        let generated = self.jobs.generate(args.request, spec).await;
        following.finish(deadline).await;
        let (request, created, followed) = match generated {
            Ok(Generated::Preview {
                request,
                body,
                spend,
                allowance,
            }) => {
                return Ok(self.dry_run(request, body, spend, allowance).into());
            }
            Ok(Generated::Bought {
                request,
                created,
                followed,
            }) => (request, created, followed),
            Err(NotBought::Unprepared(Unprepared::ImagesBusy)) => {
                return Ok(ToolFailure::images_busy().into_result().into());
            }
            Err(NotBought::Unprepared(Unprepared::Invalid(violations))) => {
                let err = comet::Error::Invalid(violations);
                return Ok(ToolFailure::from_comet(&err).into_result().into());
            }
            Err(NotBought::Submit { error, .. }) => {
                return Ok(ToolFailure::from_jobs(&error).into_result().into());
            }
        };
        if as_task {
            // The task is readable through tasks/get before this reply leaves: its id is
            // sealed from the CometAPI id, and the task store already holds the task.
            return Ok(self.task_created(&created, args.download));
        }
        // The task exists whatever the wait ran into: report it rather than an error.
        let followed = (*followed).unwrap_or_else(|err| {
            tracing::warn!(%err, "waiting for a new task failed");
            Followed::unfollowed(Task::from(&created))
        });
        let base = self.base_output(&request);
        let output = self.submitted_output(base, created, &followed);
        let mut summary = format!(
            "Submitted video task {} ({}).{}",
            followed.task.task_id,
            followed.task.status.as_str(),
            warning_text(&output.warnings),
        );
        for video in &output.videos {
            summary.push_str(&format!("\n- {}", video.url));
        }
        summary.push('\n');
        summary.push_str(&output.next_step);
        Ok(structured_result(&output, summary, resource_links(&followed)).into())
    }

    fn dry_run(
        &self,
        request: RequestFacts,
        body: Value,
        spend: Spend,
        allowance: Option<Allowance>,
    ) -> CallToolResult {
        let left = allowance.map(allowance_text).unwrap_or_default();
        let buys = format!(
            " It would buy {} video of {} s ({}).{left}",
            spend.videos, spend.seconds, spend.model
        );
        let output = GenerateVideoOutput {
            dry_run: true,
            request_body: Some(body),
            spend: Some(spend),
            allowance,
            next_step: "Dry run: nothing was sent. Call generate_video again without dry_run to submit (this costs money).".to_owned(),
            ..self.base_output(&request)
        };
        let summary = format!(
            "Dry run: the request is valid ({} mode).{buys}{} {}",
            output.mode.as_str(),
            warning_text(&output.warnings),
            output.next_step
        );
        structured_result(&output, summary, Vec::new())
    }

    fn base_output(&self, request: &RequestFacts) -> GenerateVideoOutput {
        GenerateVideoOutput {
            task_id: None,
            status: None,
            status_message: None,
            videos: Vec::new(),
            local_files: Vec::new(),
            download_error: None,
            mode: request.mode,
            warnings: request.warnings.clone(),
            external_task_id: Some(request.external_task_id.to_string()),
            created_at_ms: None,
            request_id: None,
            dry_run: false,
            request_body: None,
            spend: None,
            allowance: None,
            next_step: String::new(),
            simulated: self.simulated,
        }
    }
}

impl KlingServer {
    /// The output of a submitted task: `base` (from the request) with what the task says.
    fn submitted_output(
        &self,
        base: GenerateVideoOutput,
        created: CreatedTask,
        followed: &Followed,
    ) -> GenerateVideoOutput {
        let view = followed.view();
        GenerateVideoOutput {
            task_id: Some(view.task_id),
            status: Some(view.status),
            status_message: view.status_message,
            videos: view.videos,
            local_files: view.local_files,
            download_error: self.download_error(followed),
            external_task_id: created.external_task_id.or(base.external_task_id.clone()),
            created_at_ms: created.created_at_ms,
            request_id: created.request_id,
            next_step: self.next_step(followed),
            ..base
        }
    }
}

fn allowance_text(allowance: Allowance) -> String {
    let parts: Vec<String> = [
        allowance.videos_left.map(|n| format!("{n} videos")),
        allowance.seconds_left.map(|n| format!("{n} seconds")),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        " Left under the daily limits: {} (rolling 24 hours).",
        parts.join(", ")
    )
}

fn warning_text(warnings: &[String]) -> String {
    warnings.iter().map(|w| format!(" Warning: {w}.")).collect()
}
