//! `get_video_task`: a task's status and, once it has succeeded, its video URLs; optionally
//! waits for it (bounded) and downloads the videos. Read-only upstream, idempotent.

use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::args::{ArgumentError, ToolArgs, ToolInput, parse_arguments};
use super::errors::ToolFailure;
use super::follow::{Follow, Followed, LocalFileOutput};
use super::schema::{input_schema, output_schema};
use super::{KlingServer, is_false, structured_result};
use crate::comet::{Task, TaskStatus};

/// Arguments of `get_video_task`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetVideoTaskArgs {
    /// The `task_id` returned by `generate_video`.
    #[serde(deserialize_with = "string_or_integer")]
    pub task_id: String,
    /// Wait up to this many seconds (max 50) for the task to finish; 0 answers at once.
    #[serde(default)]
    pub wait_seconds: u32,
    /// Once it has succeeded, save the videos to the server's output directory.
    #[serde(default)]
    pub download: bool,
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
    /// Saved copies, when `download` was asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<LocalFileOutput>,
    /// Why the download failed (the URLs still work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_error: Option<String>,
    /// How long this call waited, when it waited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<f64>,
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

impl VideoOutput {
    /// The videos of a task.
    pub(super) fn list(task: &Task) -> Vec<Self> {
        task.videos
            .iter()
            .map(|v| Self {
                url: v.url.clone(),
                duration_seconds: v.duration_seconds(),
                id: v.id.clone(),
            })
            .collect()
    }
}

#[tool_router(router = get_video_task_router, vis = "pub(super)")]
impl KlingServer {
    /// Get the status of a task started by `generate_video` and, once it has succeeded, its
    /// video URLs (they expire after about 30 days). Status is `submitted`, `processing`,
    /// `succeed` or `failed`. `wait_seconds` (max 50) waits in one call; `download` saves the videos.
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
                let output = task_output(&followed, self.simulated);
                Ok(structured_result(
                    &output,
                    summary(&output),
                    followed.resource_links(),
                ))
            }
            Err(err) => Ok(ToolFailure::from_jobs(&err).into_result()),
        }
    }
}

fn task_output(followed: &Followed, simulated: bool) -> GetVideoTaskOutput {
    let task = &followed.task;
    GetVideoTaskOutput {
        task_id: task.task_id.clone(),
        status: task.status,
        status_message: task.status_message.clone(),
        external_task_id: task.external_task_id.clone(),
        progress_percent: task.progress_percent,
        videos: VideoOutput::list(task),
        local_files: followed.local_files(),
        download_error: followed.download_error.clone(),
        waited_seconds: followed
            .waited
            .map(|d| (d.as_secs_f64() * 10.0).round() / 10.0),
        created_at_ms: task.created_at_ms,
        updated_at_ms: task.updated_at_ms,
        next_step: followed.next_step(),
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
    for file in &output.local_files {
        text.push_str(&format!("\n- saved: {} ({} bytes)", file.path, file.bytes));
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
    use crate::comet::{ReplyShape, Video};

    fn followed(status: TaskStatus, videos: Vec<Video>) -> Followed {
        Followed {
            task: Task {
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
            },
            waited: None,
            end: None,
            files: Vec::new(),
            download_error: None,
        }
    }

    #[test]
    fn finished_tasks_list_urls_and_say_they_expire() {
        let video = Video {
            id: None,
            url: "https://example.com/v.mp4".into(),
            duration: Some("5.041".into()),
        };
        let output = task_output(&followed(TaskStatus::Succeed, vec![video]), false);
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
        let output = task_output(&followed(TaskStatus::Processing, vec![]), true);
        assert!(summary(&output).starts_with("Task 42: processing (30%)."));
        assert!(output.next_step.contains("again in about 20 s"));
        assert_eq!(serde_json::to_value(&output).unwrap()["simulated"], true);
    }

    #[test]
    fn task_id_may_be_a_number() {
        let args: GetVideoTaskArgs =
            serde_json::from_value(serde_json::json!({"task_id": 881245093716582431u64})).unwrap();
        assert_eq!(args.task_id, "881245093716582431");
        assert_eq!((args.wait_seconds, args.download), (0, false));
        let err = serde_json::from_value::<GetVideoTaskArgs>(serde_json::json!({"task_id": [1]}))
            .unwrap_err();
        assert!(err.to_string().contains("task_id string"));
    }
}
