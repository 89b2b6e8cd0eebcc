//! Downloads finished videos into the output directory, all or nothing: every video of a task
//! is streamed to a locked temporary file, and only when all of them arrived are they renamed
//! into place. A failure, a cap, or a cancellation (the future dropped) removes every temporary
//! file; what a killed process left behind is swept at the next start.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::file_names::file_name;
use crate::comet::{DownloadError, Downloader, Task};

/// The caps on one task's downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadLimits {
    /// Most videos saved for one task (Kling returns one; a reply with more is refused whole).
    pub max_videos: usize,
    /// Most bytes saved for one task, all its videos together.
    pub max_bytes: u64,
}

impl Default for DownloadLimits {
    /// 4 videos and 1 GiB per task: a 10 s Kling clip is tens of MB.
    fn default() -> Self {
        Self {
            max_videos: 4,
            max_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// A downloaded video.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DownloadedFile {
    /// Where it was saved (absolute).
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The URL it came from.
    pub url: String,
}

/// Saves every video of a finished task as `<task_id>.mp4`, `<task_id>-2.mp4`, … (ids that need
/// it escaped, see [`file_name`]): all of them,
/// or none (see the module doc). Ends early with [`DownloadError::Cancelled`] when `cancel` fires.
pub(super) async fn download_videos(
    downloader: &Downloader,
    task: &Task,
    dir: &Path,
    limits: DownloadLimits,
    cancel: &CancellationToken,
) -> Result<Vec<DownloadedFile>, DownloadError> {
    if task.videos.len() > limits.max_videos {
        return Err(DownloadError::TooManyVideos {
            count: task.videos.len(),
            max: limits.max_videos,
        });
    }
    // Folders this creates are private; one the user gave is left as it is.
    let made = dir.to_owned();
    tokio::task::spawn_blocking(move || crate::private_fs::create_dir_all(&made))
        .await
        .map_err(std::io::Error::other)
        .and_then(|created| created)
        .map_err(|e| write_error(dir, &e))?;
    // Absolute paths, so the files can be named as `file://` resources.
    let dir = std::path::absolute(dir).map_err(|e| write_error(dir, &e))?;
    let mut staged = Staged::default();
    let mut budget = limits.max_bytes;
    for (index, video) in task.videos.iter().enumerate() {
        let name = file_name(task.task_id.as_str(), index);
        let temp = dir.join(partial_name(&name));
        // Listed before it exists, so a cancellation at any point removes it.
        staged.temps.push(temp.clone());
        let mut file = create_locked(&temp).await?;
        let bytes = tokio::select! {
            fetched = downloader.fetch(&video.url, &mut file, budget) => fetched,
            () = cancel.cancelled() => Err(DownloadError::Cancelled),
        };
        let bytes = bytes.map_err(|err| match err {
            DownloadError::TooLarge { .. } => DownloadError::TooLarge {
                max_bytes: limits.max_bytes,
            },
            DownloadError::Write { detail, .. } => DownloadError::Write {
                path: temp.display().to_string(),
                detail,
            },
            other => other,
        })?;
        file.sync_all().await.map_err(|e| write_error(&temp, &e))?;
        // Kept open (and locked) until the rename, so no sweep takes it meanwhile.
        staged.held.push(file.into_std().await);
        budget = budget.saturating_sub(bytes);
        staged.done.push(DownloadedFile {
            path: dir.join(&name),
            bytes,
            url: video.url.clone(),
        });
    }
    staged.commit()
}

/// Removes the temporary files a stopped process left in `dir` (`.<name>.<32 hex>.partial`).
/// A file still locked belongs to a download running in another process and is kept. Returns
/// how many were removed.
pub(super) fn remove_stale_partials(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_partial_name) {
            continue;
        }
        let path = entry.path();
        // Never opens a FIFO, device or link someone named like ours (in a shared folder):
        // opening a FIFO for writing would wait for a reader, and the start with it.
        let file = match crate::private_fs::open_regular_for_write(&path) {
            Ok(file) => file,
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "left alone: named like a temporary download but not one");
                continue;
            }
        };
        // Locks die with their process, so an unlocked file is an orphan.
        if file.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The files of one task's download in flight. Dropping it before [`Staged::commit`] removes
/// every temporary file, which is how a failure or a cancelled (dropped) call cleans up.
#[derive(Debug, Default)]
struct Staged {
    temps: Vec<PathBuf>,
    /// The finished temporary files, open and locked.
    held: Vec<std::fs::File>,
    done: Vec<DownloadedFile>,
}

impl Staged {
    /// Renames every temporary file into place. Synchronous on purpose: with no await point in
    /// between, a cancelled call cannot stop halfway through the set.
    fn commit(mut self) -> Result<Vec<DownloadedFile>, DownloadError> {
        let mut placed: Vec<PathBuf> = Vec::new();
        let held = std::mem::take(&mut self.held);
        for ((temp, file), handle) in self.temps.iter().zip(&self.done).zip(held) {
            // Closed first: some systems cannot rename an open file.
            drop(handle);
            if let Err(err) = std::fs::rename(temp, &file.path) {
                for path in &placed {
                    let _ = std::fs::remove_file(path);
                }
                return Err(write_error(&file.path, &err));
            }
            placed.push(file.path.clone());
        }
        self.temps.clear();
        Ok(std::mem::take(&mut self.done))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Closed first: some systems cannot remove an open file. Plain unlink calls: cheap,
        // and a drop cannot await.
        self.held.clear();
        for temp in &self.temps {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Creates `path` (mode 0600) and takes an exclusive lock on it for as long as the download runs, so the
/// start-up sweep of another process leaves it alone.
async fn create_locked(path: &Path) -> Result<tokio::fs::File, DownloadError> {
    // A new file (never one planted under the name), private to this user: the video is
    // renamed into place with this mode.
    let made = path.to_owned();
    let file = tokio::task::spawn_blocking(move || crate::private_fs::create_new_private(&made))
        .await
        .map_err(std::io::Error::other)
        .and_then(|created| created)
        .map_err(|e| write_error(path, &e))?;
    if let Err(err) = file.try_lock() {
        // Some file systems have no locks; the download works, only the sweep cannot tell.
        tracing::debug!(%err, path = %path.display(), "cannot lock the temporary file");
    }
    Ok(tokio::fs::File::from_std(file))
}

fn write_error(path: &Path, err: &std::io::Error) -> DownloadError {
    DownloadError::Write {
        path: path.display().to_string(),
        detail: err.to_string(),
    }
}

/// `.<name>.<uuid>.partial`: hidden, and never mistaken for a finished video.
fn partial_name(name: &str) -> String {
    format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple())
}

/// Whether `name` is one of [`partial_name`]'s names.
fn is_partial_name(name: &str) -> bool {
    let Some(stem) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".partial"))
    else {
        return false;
    };
    stem.rsplit_once('.').is_some_and(|(video, id)| {
        !video.is_empty() && id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_temporary_names_are_swept() {
        assert!(is_partial_name(&partial_name("881.mp4")));
        for other in [
            "881.mp4",
            ".881.mp4.partial",
            "881.mp4.0123456789abcdef0123456789abcdef.partial",
            "..0123456789abcdef0123456789abcdef.partial",
            ".881.mp4.0123456789abcdef0123456789abcdeg.partial",
            ".notes.partial",
        ] {
            assert!(!is_partial_name(other), "{other}");
        }
    }

    #[test]
    fn the_sweep_removes_orphans_and_keeps_locked_files() {
        let dir = tempfile::tempdir().unwrap();
        let orphan = dir.path().join(partial_name("1.mp4"));
        let live = dir.path().join(partial_name("2.mp4"));
        let video = dir.path().join("1.mp4");
        let look_alike = dir.path().join(".notes.partial");
        for path in [&orphan, &live, &video, &look_alike] {
            std::fs::write(path, b"x").unwrap();
        }
        let held = std::fs::OpenOptions::new().write(true).open(&live).unwrap();
        held.lock().unwrap();
        assert_eq!(remove_stale_partials(dir.path()), 1);
        assert!(!orphan.exists());
        assert!(live.exists() && video.exists() && look_alike.exists());
    }
}
