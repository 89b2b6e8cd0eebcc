//! What the CLI prints: a task for people or as JSON, one-line errors with their fix, exit
//! codes from error kinds, and the progress display while waiting.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::Exit;
use crate::comet::{ErrorKind, Task, TaskStatus};
use crate::jobs::{self, DownloadedFile};
use crate::store::StoreError;

/// A task as `--json` prints it.
#[derive(Debug, Serialize)]
pub(super) struct TaskJson<'a> {
    task_id: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_task_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress_percent: Option<u8>,
    videos: Vec<VideoJson<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    local_files: Vec<String>,
}

#[derive(Debug, Serialize)]
struct VideoJson<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_seconds: Option<f64>,
}

/// Prints a task: JSON, or a few lines for people.
pub(super) fn print_task(task: &Task, files: &[DownloadedFile], json: bool) {
    if json {
        let value = TaskJson {
            task_id: &task.task_id,
            status: task.status.as_str(),
            status_message: task.status_message.as_deref(),
            external_task_id: task.external_task_id.as_deref(),
            progress_percent: task.progress_percent,
            videos: task
                .videos
                .iter()
                .map(|v| VideoJson {
                    url: &v.url,
                    duration_seconds: v.duration_seconds(),
                })
                .collect(),
            local_files: files.iter().map(|f| f.path.display().to_string()).collect(),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return;
    }
    let mark = match task.status {
        TaskStatus::Succeed => "✔",
        TaskStatus::Failed => "✘",
        _ => "…",
    };
    let mut line = format!("{mark} task {}: {}", task.task_id, task.status.as_str());
    if let Some(percent) = task.progress_percent {
        line.push_str(&format!(" ({percent}%)"));
    }
    println!("{line}");
    if let Some(message) = &task.status_message {
        println!("  {message}");
    }
    for video in &task.videos {
        match video.duration_seconds() {
            Some(seconds) => println!("  {} ({seconds:.1} s)", video.url),
            None => println!("  {}", video.url),
        }
    }
    for file in files {
        println!(
            "  saved {} ({} KB)",
            file.path.display(),
            file.bytes.div_ceil(1024)
        );
    }
    match task.status {
        TaskStatus::Succeed => println!("The URLs expire after about 30 days."),
        TaskStatus::Submitted | TaskStatus::Processing => {
            println!(
                "Follow it with: kling-omni-mcp status {} --wait",
                task.task_id
            );
        }
        TaskStatus::Failed => {}
    }
}

/// Prints an error on one line, with its fix, and returns its exit code.
pub(super) fn fail(err: &jobs::Error) -> Exit {
    eprintln!("error [{}]: {} (fix: {})", err.kind(), err, err.fix());
    exit_for(err)
}

/// The exit code for an error.
pub(super) fn exit_for(err: &jobs::Error) -> Exit {
    match err {
        jobs::Error::SubmitUncertain { .. } | jobs::Error::OutOfTime { .. } => Exit::Upstream,
        jobs::Error::Store(err) if err.retryable() => Exit::Upstream,
        jobs::Error::Store(StoreError::ExternalIdTaken { .. }) => Exit::BadInput,
        jobs::Error::Store(_) => Exit::AuthOrConfig,
        jobs::Error::Download(crate::comet::DownloadError::Cancelled) => Exit::Interrupted,
        jobs::Error::Download(err) if err.retryable() => Exit::Upstream,
        jobs::Error::Download(_) => Exit::AuthOrConfig,
        jobs::Error::Comet(inner) => match inner.kind() {
            ErrorKind::InvalidRequest | ErrorKind::ContentRejected | ErrorKind::NotFound => {
                Exit::BadInput
            }
            ErrorKind::MissingApiKey
            | ErrorKind::Auth
            | ErrorKind::PermissionDenied
            | ErrorKind::InsufficientBalance => Exit::AuthOrConfig,
            ErrorKind::RateLimited
            | ErrorKind::UpstreamUnavailable
            | ErrorKind::Timeout
            | ErrorKind::Network
            | ErrorKind::MalformedResponse => Exit::Upstream,
        },
    }
}

/// The exit code for a task that ended (or not).
pub(super) fn exit_for_task(task: &Task) -> Exit {
    match task.status {
        TaskStatus::Failed => Exit::JobFailed,
        _ => Exit::Ok,
    }
}

/// Shows the waiting: a spinner when stderr is a terminal, plain lines otherwise.
pub(super) struct WaitDisplay {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl WaitDisplay {
    pub(super) fn new(task_id: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("task {task_id}: waiting"));
            bar
        });
        if bar.is_none() {
            eprintln!("waiting for task {task_id} (Ctrl-C stops waiting; the task keeps running)");
        }
        Self {
            bar,
            started: Instant::now(),
        }
    }

    pub(super) fn update(&self, task: &Task) {
        let mut message = format!("task {}: {}", task.task_id, task.status.as_str());
        if let Some(percent) = task.progress_percent {
            message.push_str(&format!(" {percent}%"));
        }
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => eprintln!("{message} after {}s", self.started.elapsed().as_secs()),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
