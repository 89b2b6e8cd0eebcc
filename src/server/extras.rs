//! The small MCP features besides tools: `logging/setLevel`, the downloaded videos as
//! resources, and a `make_video` prompt that turns an idea into a good `generate_video` call.

use std::path::PathBuf;

use base64::Engine;
use rmcp::ErrorData;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, ListResourcesResult, Prompt,
    PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceContents, Role,
};

use super::KlingServer;
use crate::jobs::StoredStatus;
use crate::local_images::file_uri;

/// Largest video returned inline by `resources/read`; bigger ones are opened from disk.
const MAX_INLINE_VIDEO_BYTES: u64 = 25 * 1024 * 1024;

/// The one prompt this server offers.
const PROMPT_NAME: &str = "make_video";

impl KlingServer {
    /// Downloaded videos known to the task store that still exist on disk, inside the output
    /// directory (the same rule as [`Self::read_video`]), newest first.
    pub(super) async fn video_resources(&self) -> ListResourcesResult {
        let resources = self
            .downloaded_files()
            .await
            .into_iter()
            .filter(|(path, _)| self.inside_output_dir(path))
            .filter_map(|(path, task)| {
                let size = std::fs::metadata(&path).ok()?.len();
                let mut resource =
                    Resource::new(file_uri(&path)?, path.file_name()?.to_string_lossy());
                resource.mime_type = Some("video/mp4".into());
                resource.size = Some(size);
                resource.description = Some(format!("Video of Kling task {task}"));
                Some(resource)
            })
            .collect();
        ListResourcesResult::with_all_items(resources)
    }

    /// The bytes of a downloaded video. Only files the task store lists as downloaded can be
    /// read, and only regular files inside the output directory: a record (which another
    /// process may have written) is not trusted to name a safe path.
    pub(super) async fn read_video(
        &self,
        request: &ReadResourceRequestParams,
    ) -> Result<ReadResourceResult, ErrorData> {
        let known = self
            .downloaded_files()
            .await
            .into_iter()
            .map(|(path, _)| path)
            .find(|path| file_uri(path).as_deref() == Some(request.uri.as_str()));
        let not_found = || {
            ErrorData::resource_not_found(format!("no downloaded video at {}", request.uri), None)
        };
        let path = known
            .filter(|path| self.inside_output_dir(path))
            .ok_or_else(not_found)?;
        let size = std::fs::metadata(&path).map_err(|_| not_found())?.len();
        if size > MAX_INLINE_VIDEO_BYTES {
            return Err(ErrorData::invalid_params(
                format!(
                    "the video has {size} bytes, too large to send inline; open {} directly",
                    path.display()
                ),
                None,
            ));
        }
        let data = std::fs::read(&path).map_err(|_| not_found())?;
        let blob = base64::engine::general_purpose::STANDARD.encode(data);
        Ok(ReadResourceResult::new(vec![
            ResourceContents::blob(blob, request.uri.clone()).with_mime_type("video/mp4"),
        ]))
    }

    /// Whether `path` resolves to a regular file inside the output directory.
    fn inside_output_dir(&self, path: &std::path::Path) -> bool {
        let (Ok(file), Ok(dir)) = (
            std::fs::canonicalize(path),
            std::fs::canonicalize(self.jobs.output_dir()),
        ) else {
            return false;
        };
        file.starts_with(&dir) && std::fs::metadata(&file).is_ok_and(|m| m.is_file())
    }

    async fn downloaded_files(&self) -> Vec<(PathBuf, String)> {
        let deadline = self.jobs.call_deadline();
        let records = match self
            .jobs
            .list(Some(StoredStatus::Succeed), 200, deadline)
            .await
        {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(%err, "cannot list downloaded videos");
                Vec::new()
            }
        };
        records
            .into_iter()
            .flat_map(|record| {
                let task = record
                    .task_id
                    .clone()
                    .unwrap_or(record.external_task_id.clone());
                record
                    .local_files
                    .into_iter()
                    .map(move |file| (PathBuf::from(file), task.clone()))
            })
            .collect()
    }
}

/// The prompt list.
pub(super) fn prompts() -> ListPromptsResult {
    let arguments = vec![
        PromptArgument::new("idea")
            .with_description("What the video should show")
            .with_required(true),
        PromptArgument::new("format")
            .with_description("landscape, vertical or square (default landscape)")
            .with_required(false),
    ];
    let prompt = Prompt::new(
        PROMPT_NAME,
        Some(
            "Plan and make a short Kling video from an idea: writes the prompt, checks it with a dry run, submits, and waits for the result.",
        ),
        Some(arguments),
    );
    ListPromptsResult::with_all_items(vec![prompt])
}

/// The `make_video` prompt, filled in.
pub(super) fn prompt(request: &GetPromptRequestParams) -> Result<GetPromptResult, ErrorData> {
    if request.name != PROMPT_NAME {
        return Err(ErrorData::invalid_params(
            format!(
                "unknown prompt {:?}; the only prompt is {PROMPT_NAME}",
                request.name
            ),
            None,
        ));
    }
    let argument = |name: &str| {
        request
            .arguments
            .as_ref()
            .and_then(|args| args.get(name))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let idea = argument("idea")
        .ok_or_else(|| ErrorData::invalid_params("the `idea` argument is required", None))?;
    let aspect = match argument("format").map(str::to_ascii_lowercase).as_deref() {
        Some("vertical" | "portrait" | "9:16") => "9:16",
        Some("square" | "1:1") => "1:1",
        _ => "16:9",
    };
    let text = format!(
        "Make a short video of: {idea}\n\n\
         1. Write one vivid Kling prompt (under 2500 characters): subject, action, setting, camera movement, lighting and style.\n\
         2. Call generate_video with that prompt, aspect_ratio \"{aspect}\", duration 5, and dry_run: true; fix anything it reports.\n\
         3. Call generate_video again without dry_run (this costs money), then get_video_task with the task_id and wait_seconds: 50 until the status is succeed or failed.\n\
         4. Give me the video URL (it expires in about 30 days), or the reason it failed."
    );
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        text,
    )]))
}
