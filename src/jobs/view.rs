//! The one serialisable view of a task, shared by the tool output (`get_video_task`, MCP task
//! results), the CLI's `--json` and the task store listing, so they cannot drift apart.

use schemars::JsonSchema;
use serde::Serialize;

use super::{DownloadedFile, Followed, StoredStatus, TaskRecord};
use crate::comet::{Task, TaskId, TaskStatus};

/// A task as every front door shows it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TaskView {
    /// The task id.
    pub task_id: TaskId,
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
    pub videos: Vec<VideoView>,
    /// Saved copies, when `download` was asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<LocalFileView>,
    /// Creation time, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// Last update, Unix milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at_ms: Option<i64>,
    /// Units Kling billed for the task (`final_unit_deduction`), once it reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
}

/// One finished video.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct VideoView {
    /// Download URL; expires after about 30 days.
    pub url: String,
    /// Length in seconds, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Upstream video id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// A downloaded video.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LocalFileView {
    /// Absolute path of the saved file.
    pub path: String,
    /// Size in bytes, when known (the task store keeps only paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl TaskView {
    /// A task and the files saved of it.
    pub fn new(task: &Task, files: &[DownloadedFile]) -> Self {
        Self {
            task_id: task.task_id.clone(),
            status: task.status,
            status_message: task.status_message.clone(),
            external_task_id: task.external_task_id.clone(),
            progress_percent: task.progress_percent,
            videos: VideoView::list(task),
            local_files: files.iter().map(LocalFileView::from).collect(),
            created_at_ms: task.created_at_ms,
            updated_at_ms: task.updated_at_ms,
            units: task.units,
        }
    }
}

impl VideoView {
    /// The videos of a task.
    pub fn list(task: &Task) -> Vec<Self> {
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

impl From<&DownloadedFile> for LocalFileView {
    fn from(file: &DownloadedFile) -> Self {
        Self {
            path: file.path.display().to_string(),
            bytes: Some(file.bytes),
        }
    }
}

impl Followed {
    /// The followed task as every front door shows it.
    pub fn view(&self) -> TaskView {
        TaskView::new(&self.task, &self.files)
    }
}

/// A task in the task store listing: the fields of `get_video_task` where the store knows
/// them, plus what only the store knows (the request, and statuses before a task id exists).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ListedTask {
    /// The task id; absent while (or when) the submit got none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
    /// The id sent with the create request; known before the task exists.
    pub external_task_id: String,
    /// Where the task stands: a task status, or `submitting`, `submit_uncertain`,
    /// `submit_failed` before a task id exists.
    pub status: StoredStatus,
    /// Upstream status text, or the submit error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Finished videos, as last seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<VideoView>,
    /// Saved copies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<LocalFileView>,
    /// Generation mode.
    pub mode: String,
    /// The first 120 characters of the prompt.
    pub prompt_head: String,
    /// Model name.
    pub model: String,
    /// Duration in seconds, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u8>,
    /// Aspect ratio, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// First recorded, Unix milliseconds.
    pub created_at_ms: i64,
    /// Last changed, Unix milliseconds.
    pub updated_at_ms: i64,
    /// Units Kling billed for the task (`final_unit_deduction`), once it reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<f64>,
    /// Made by the built-in simulator (`--simulate`): no real video, nothing charged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

impl ListedTask {
    /// The id to show and to look the task up by: the task id, else the external id.
    pub fn shown_id(&self) -> &str {
        self.task_id
            .as_ref()
            .map_or(&self.external_task_id, |id| id.as_str())
    }
}

impl From<TaskRecord> for ListedTask {
    fn from(record: TaskRecord) -> Self {
        Self {
            task_id: record.task_id,
            external_task_id: record.external_task_id,
            status: record.status,
            status_message: record.message,
            videos: record
                .video_urls
                .into_iter()
                .map(|url| VideoView {
                    url,
                    duration_seconds: None,
                    id: None,
                })
                .collect(),
            local_files: record
                .local_files
                .into_iter()
                .map(|path| LocalFileView { path, bytes: None })
                .collect(),
            mode: record.mode,
            prompt_head: record.prompt_head,
            model: record.model,
            duration: record.duration,
            aspect_ratio: record.aspect_ratio,
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
            simulated: record.simulated,
            units: record.units,
        }
    }
}
