//! Downloads finished videos into the output directory: streamed to a temporary file and
//! renamed into place, so a failed download leaves nothing behind and a reader never sees a
//! partial file.

use std::path::{Path, PathBuf};

use crate::comet::{self, Task};

/// Largest video accepted (Kling clips are tens of MB).
const MAX_VIDEO_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A downloaded video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    /// Where it was saved.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The URL it came from.
    pub url: String,
}

/// Saves every video of a finished task as `<task_id>.mp4`, `<task_id>-2.mp4`, …
pub(super) async fn download_videos(
    client: &comet::Client,
    task: &Task,
    dir: &Path,
) -> Result<Vec<DownloadedFile>, comet::Error> {
    let io_error = |e: std::io::Error| comet::Error::Network {
        url: dir.display().to_string(),
        detail: format!("cannot write to the output directory: {e}"),
        before_send: true,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
    let mut saved = Vec::new();
    for (index, video) in task.videos.iter().enumerate() {
        let name = file_name(&task.task_id, index);
        let path = dir.join(&name);
        let temp = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
        let result = async {
            let mut file = tokio::fs::File::create(&temp).await.map_err(io_error)?;
            let bytes = client
                .download(&video.url, &mut file, MAX_VIDEO_BYTES)
                .await?;
            file.sync_all().await.map_err(io_error)?;
            drop(file);
            tokio::fs::rename(&temp, &path).await.map_err(io_error)?;
            Ok::<_, comet::Error>(bytes)
        }
        .await;
        match result {
            Ok(bytes) => saved.push(DownloadedFile {
                path,
                bytes,
                url: video.url.clone(),
            }),
            Err(err) => {
                let _ = tokio::fs::remove_file(&temp).await;
                return Err(err);
            }
        }
    }
    Ok(saved)
}

/// `<task_id>.mp4` for the first video, `<task_id>-<n>.mp4` after. Task ids were checked to be
/// path-safe (letters, digits, `-_.`), but keep only safe characters anyway so a name can
/// never leave the directory.
fn file_name(task_id: &str, index: usize) -> String {
    let safe: String = task_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let stem = if safe.is_empty() {
        "video".to_owned()
    } else {
        safe
    };
    match index {
        0 => format!("{stem}.mp4"),
        n => format!("{stem}-{}.mp4", n + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_directory() {
        assert_eq!(file_name("881245093716582431", 0), "881245093716582431.mp4");
        assert_eq!(
            file_name("881245093716582431", 1),
            "881245093716582431-2.mp4"
        );
        assert_eq!(file_name("../../etc/passwd", 0), "etcpasswd.mp4");
        assert_eq!(file_name("..", 0), "video.mp4");
    }
}
