//! `get_video_task`: a task's status and, once it has succeeded, its video URLs; optionally
//! waits for it (bounded) and downloads the videos. Read-only upstream, idempotent.

use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::args::{ArgumentError, ToolArgs, ToolInput, parse_arguments, take_flag, take_seconds};
use super::errors::ToolFailure;
use super::follow::{Follow, resource_links};
use super::schema::{input_schema, output_schema};
use super::{KlingServer, is_false, structured_result};
use crate::comet::TaskId;
use crate::jobs::{Followed, TaskView};

/// Arguments of `get_video_task`.
#[derive(Debug, Clone, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetVideoTaskArgs {
    /// The `task_id` returned by `generate_video`.
    #[schemars(with = "String")]
    pub task_id: TaskId,
    /// Wait up to this many seconds (at most {max-wait}) for the task to finish; 0 answers at once.
    #[serde(default)]
    pub wait_seconds: u32,
    /// Once it has succeeded, save the videos to the server's output directory.
    #[serde(default)]
    pub download: bool,
}

impl ToolInput for GetVideoTaskArgs {
    fn from_arguments(mut arguments: rmcp::model::JsonObject) -> Result<Self, ArgumentError> {
        // The same lenient control flags as generate_video's; the rest must be known.
        let wait_seconds = take_seconds(&mut arguments, "wait_seconds")?;
        let download = take_flag(&mut arguments, "download")?;
        let Raw { task_id } = parse_arguments(arguments)?;
        let task_id = TaskId::parse(&task_id).map_err(|violation| ArgumentError {
            field: Some("task_id".into()),
            reason: violation.problem,
        })?;
        Ok(Self {
            task_id,
            wait_seconds,
            download,
        })
    }
}

/// The task id as sent: a string, or the digits as a JSON number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(deserialize_with = "string_or_integer")]
    task_id: String,
}

/// The `structuredContent` of `get_video_task`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GetVideoTaskOutput {
    /// The task.
    #[serde(flatten)]
    pub task: TaskView,
    /// Why the download failed (the URLs still work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_error: Option<String>,
    /// How long this call waited, when it waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<f64>,
    /// What to do next.
    pub next_step: String,
    /// True when produced by the built-in simulator: no real video, no charge.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
}

#[tool_router(router = get_video_task_router, vis = "pub(super)")]
impl KlingServer {
    /// Get the status of a task started by `generate_video` and, once it has succeeded, its
    /// video URLs (they expire after about 30 days). Status is `submitted`, `processing`,
    /// `succeed` or `failed`. `wait_seconds` (at most {max-wait}) waits in one call; `download` saves the videos.
    #[tool(
        name = "get_video_task",
        input_schema = input_schema::<GetVideoTaskArgs>(),
        output_schema = output_schema::<GetVideoTaskOutput>(),
        annotations(
            title = "Get video task",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub(super) async fn get_video_task(
        &self,
        args: ToolArgs<GetVideoTaskArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let deadline = self.jobs.call_deadline();
        let args = match args.0 {
            Ok(args) => args,
            Err(err) => {
                return Ok(ToolFailure::from_arguments(err, "get_video_task").into_result());
            }
        };
        let how = Follow {
            wait_seconds: args.wait_seconds,
            download: args.download,
            deadline,
        };
        let followed = self.follow(&args.task_id, None, how, &context).await;
        match followed {
            Ok(followed) => {
                tracing::info!(task_id = %followed.task.task_id, status = followed.task.status.as_str(), "get_video_task");
                Ok(self.task_result(&followed))
            }
            Err(err) => Ok(ToolFailure::from_task_query(&err).into_result()),
        }
    }

    /// A followed task as a tool result: what `get_video_task` returns (and what an MCP task
    /// completes with).
    pub(super) fn task_result(&self, followed: &Followed) -> CallToolResult {
        self.task_result_with(followed, self.download_error(followed))
    }

    /// [`Self::task_result`] with the download's failure already worded (an MCP task's
    /// download, recorded by whichever process ran it).
    pub(super) fn task_result_with(
        &self,
        followed: &Followed,
        download_error: Option<String>,
    ) -> CallToolResult {
        let output = GetVideoTaskOutput {
            task: followed.view(),
            download_error,
            waited_seconds: followed
                .waited
                .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
            next_step: self.next_step(followed),
            simulated: self.simulated,
        };
        structured_result(&output, summary(&output), resource_links(followed))
    }
}

fn summary(output: &GetVideoTaskOutput) -> String {
    let task = &output.task;
    let mut text = format!("Task {}: {}", task.task_id, task.status.as_str());
    if let Some(percent) = task.progress_percent {
        text.push_str(&format!(" ({percent}%)"));
    }
    if let Some(message) = &task.status_message {
        text.push_str(&format!(" - {message}"));
    }
    if let Some(units) = task.units {
        text.push_str(&format!(" ({units} units billed)"));
    }
    text.push('.');
    for video in &task.videos {
        match video.duration_seconds {
            Some(seconds) => text.push_str(&format!("\n- {} ({seconds:.1} s)", video.url)),
            None => text.push_str(&format!("\n- {}", video.url)),
        }
    }
    for file in &task.local_files {
        let bytes = file.bytes.unwrap_or_default();
        text.push_str(&format!("\n- saved: {} ({bytes} bytes)", file.path));
    }
    if let Some(error) = &output.download_error {
        text.push_str(&format!("\nDownload failed: {error}"));
    }
    text.push('\n');
    text.push_str(&output.next_step);
    text
}

/// Task ids are strings, but an agent may pass the digits as a JSON number; both are fine.
fn string_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(u64),
    }
    match Raw::deserialize(deserializer) {
        Ok(Raw::Text(text)) => Ok(text),
        Ok(Raw::Int(n)) => Ok(n.to_string()),
        Err(_) => Err(serde::de::Error::custom(
            "expected the task_id string returned by generate_video",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comet::{ReplyShape, Task, TaskStatus, Video};

    fn output(status: TaskStatus, videos: Vec<Video>) -> GetVideoTaskOutput {
        let task = Task {
            task_id: TaskId::parse("42").unwrap(),
            status,
            status_message: None,
            external_task_id: None,
            created_at_ms: None,
            updated_at_ms: None,
            progress_percent: Some(30),
            videos,
            request_id: None,
            shape: ReplyShape::Native,
            units: None,
        };
        GetVideoTaskOutput {
            task: TaskView::new(&task, &[]),
            download_error: None,
            waited_seconds: None,
            next_step: "next".into(),
            simulated: false,
        }
    }

    #[test]
    fn finished_tasks_list_urls_with_their_length() {
        let video = Video {
            id: None,
            url: "https://example.com/v.mp4".into(),
            duration: Some("5.041".into()),
        };
        let output = output(TaskStatus::Succeed, vec![video]);
        let text = summary(&output);
        assert!(
            text.contains("- https://example.com/v.mp4 (5.0 s)"),
            "{text}"
        );
        let json = serde_json::to_value(&output).unwrap();
        assert_eq!(json["videos"][0]["duration_seconds"], 5.041);
        assert_eq!(json["task_id"], "42", "the view is flattened: {json}");
        assert!(json.get("simulated").is_none());
    }

    #[test]
    fn unfinished_tasks_show_progress() {
        assert!(
            summary(&output(TaskStatus::Processing, vec![]))
                .starts_with("Task 42: processing (30%).")
        );
    }

    #[test]
    fn task_id_may_be_a_number_and_is_checked_once() {
        let parse = |value: serde_json::Value| {
            GetVideoTaskArgs::from_arguments(value.as_object().unwrap().clone())
        };
        let args = parse(serde_json::json!({"task_id": 881245093716582431u64})).unwrap();
        assert_eq!(args.task_id.as_str(), "881245093716582431");
        assert_eq!((args.wait_seconds, args.download), (0, false));
        let spaced = parse(serde_json::json!({"task_id": " 7 ", "wait_seconds": "3"})).unwrap();
        assert_eq!((spaced.task_id.as_str(), spaced.wait_seconds), ("7", 3));
        let err = parse(serde_json::json!({"task_id": [1]})).unwrap_err();
        assert!(err.reason.contains("task_id string"), "{err:?}");
        let err = parse(serde_json::json!({"task_id": "../x"})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("task_id"));
    }
}
