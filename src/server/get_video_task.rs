//! `get_video_task`: one status query; on success, the video URLs. Read-only and idempotent.

use rmcp::handler::server::tool::schema_for_output;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::args::{ArgumentError, ToolArgs, ToolInput, input_schema, parse_arguments};
use super::errors::ToolFailure;
use super::{KlingServer, is_false, structured_result};
use crate::comet::{Task, TaskStatus};

/// Arguments of `get_video_task`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetVideoTaskArgs {
    /// The `task_id` returned by `generate_video`.
    #[serde(deserialize_with = "string_or_integer")]
    pub task_id: String,
}

impl ToolInput for GetVideoTaskArgs {
    fn from_arguments(arguments: rmcp::model::JsonObject) -> Result<Self, ArgumentError> {
        parse_arguments(arguments)
    }
}

/// The `structuredContent` of `get_video_task`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GetVideoTaskOutput {
    /// The task id.
    pub task_id: String,
    /// `submitted`, `processing`, `succeed` or `failed`.
    pub status: TaskStatus,
    /// Upstream status text; on `failed`, the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The external id of the task, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Progress percentage, when CometAPI reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 100))]
    pub progress_percent: Option<u8>,
    /// Finished videos; empty until `succeed`. URLs expire after about 30 days.
    pub videos: Vec<VideoOutput>,
    /// Creation time, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// Last update, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at_ms: Option<i64>,
    /// What to do next.
    pub next_step: String,
    /// True when produced by the built-in simulator: no real video, no charge.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
}

/// One finished video.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VideoOutput {
    /// Download URL; expires after about 30 days.
    pub url: String,
    /// Length in seconds, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Upstream video id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[tool_router(router = get_video_task_router, vis = "pub(super)")]
impl KlingServer {
    /// Get the status of a task started by `generate_video` and, once it has succeeded, its
    /// video URLs. Status is `submitted`, `processing`, `succeed` or `failed`. Poll every
    /// 15-30 s until `succeed` or `failed`. Video URLs expire after about 30 days.
    #[tool(
        name = "get_video_task",
        input_schema = input_schema::<GetVideoTaskArgs>(),
        output_schema = schema_for_output::<GetVideoTaskOutput>(),
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
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        let task_id = match args.0 {
            Ok(args) => args.task_id,
            Err(err) => return Ok(ToolFailure::from_arguments(err, "get_video_task").into_result()),
        };
        match self.comet.get_task(&task_id).await {
            Ok(task) => {
                tracing::info!(task_id = %task.task_id, status = task.status.as_str(), "get_video_task");
                let output = task_output(task, self.simulated);
                let summary = summary(&output);
                Ok(structured_result(&output, summary))
            }
            Err(err) => Ok(ToolFailure::from_comet(&err, None).into_result()),
        }
    }
}

fn task_output(task: Task, simulated: bool) -> GetVideoTaskOutput {
    let next_step = match task.status {
        TaskStatus::Submitted | TaskStatus::Processing => {
            "Not finished: call get_video_task again in about 20 s (jobs usually take 1-5 minutes)."
        }
        TaskStatus::Succeed if task.videos.is_empty() => {
            "The task succeeded but CometAPI listed no video URL yet: call get_video_task again in a minute, or check the CometAPI console."
        }
        TaskStatus::Succeed => {
            "Done: share the URLs and download the videos soon; the URLs expire after about 30 days."
        }
        TaskStatus::Failed => {
            "The task failed (see status_message): change the prompt or inputs and call generate_video again."
        }
    };
    GetVideoTaskOutput {
        videos: task
            .videos
            .iter()
            .map(|v| VideoOutput {
                url: v.url.clone(),
                duration_seconds: v.duration_seconds(),
                id: v.id.clone(),
            })
            .collect(),
        task_id: task.task_id,
        status: task.status,
        status_message: task.status_message,
        external_task_id: task.external_task_id,
        progress_percent: task.progress_percent,
        created_at_ms: task.created_at_ms,
        updated_at_ms: task.updated_at_ms,
        next_step: next_step.to_owned(),
        simulated,
    }
}

fn summary(output: &GetVideoTaskOutput) -> String {
    let mut text = format!("Task {}: {}", output.task_id, output.status.as_str());
    if let Some(percent) = output.progress_percent {
        text.push_str(&format!(" ({percent}%)"));
    }
    if let Some(message) = &output.status_message {
        text.push_str(&format!(" - {message}"));
    }
    text.push('.');
    for video in &output.videos {
        match video.duration_seconds {
            Some(seconds) => text.push_str(&format!("\n- {} ({seconds:.1} s)", video.url)),
            None => text.push_str(&format!("\n- {}", video.url)),
        }
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
    use crate::comet::{ReplyShape, Video};

    fn task(status: TaskStatus, videos: Vec<Video>) -> Task {
        Task {
            task_id: "42".into(),
            status,
            status_message: None,
            external_task_id: None,
            created_at_ms: None,
            updated_at_ms: None,
            progress_percent: Some(30),
            videos,
            request_id: None,
            shape: ReplyShape::Native,
        }
    }

    #[test]
    fn finished_tasks_list_urls_and_say_they_expire() {
        let video = Video {
            id: None,
            url: "https://example.com/v.mp4".into(),
            duration: Some("5.041".into()),
        };
        let output = task_output(task(TaskStatus::Succeed, vec![video]), false);
        let text = summary(&output);
        assert!(
            text.contains("- https://example.com/v.mp4 (5.0 s)"),
            "{text}"
        );
        assert!(text.contains("expire after about 30 days"), "{text}");
        let json = serde_json::to_value(&output).unwrap();
        assert_eq!(json["videos"][0]["duration_seconds"], 5.041);
        assert!(json.get("simulated").is_none());
    }

    #[test]
    fn unfinished_tasks_say_when_to_poll_again() {
        let output = task_output(task(TaskStatus::Processing, vec![]), true);
        assert!(summary(&output).starts_with("Task 42: processing (30%)."));
        assert!(output.next_step.contains("again in about 20 s"));
        assert_eq!(serde_json::to_value(&output).unwrap()["simulated"], true);
    }

    #[test]
    fn task_id_may_be_a_number() {
        let args: GetVideoTaskArgs =
            serde_json::from_value(serde_json::json!({"task_id": 881245093716582431u64})).unwrap();
        assert_eq!(args.task_id, "881245093716582431");
        let err = serde_json::from_value::<GetVideoTaskArgs>(serde_json::json!({"task_id": [1]}))
            .unwrap_err();
        assert!(err.to_string().contains("task_id string"));
    }
}
