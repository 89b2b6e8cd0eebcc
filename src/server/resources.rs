//! Downloaded videos as MCP resources: listed and read only when they are regular files inside
//! the output directory.

use std::path::PathBuf;

use base64::Engine;
use rmcp::ErrorData;
use rmcp::model::{
    ListResourcesResult, ReadResourceRequestParams, ReadResourceResult, Resource, ResourceContents,
};

use super::KlingServer;
use crate::jobs::{ListFilter, StoredStatus};
use crate::local_images::file_uri;

/// Largest video returned inline by `resources/read`; bigger ones are opened from disk.
const MAX_INLINE_VIDEO_BYTES: u64 = 25 * 1024 * 1024;

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
        let filter = ListFilter {
            status: Some(StoredStatus::Succeed),
            limit: 200,
        };
        let records = match self.jobs.list(filter, deadline).await {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(%err, "cannot list downloaded videos");
                Vec::new()
            }
        };
        records
            .into_iter()
            .flat_map(|record| {
                let task = record.shown_id().to_owned();
                record
                    .local_files
                    .into_iter()
                    .map(move |file| (PathBuf::from(file.path), task.clone()))
            })
            .collect()
    }
}
