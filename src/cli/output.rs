//! What the CLI prints: a task for people or as JSON, one-line errors with their fix, exit
//! codes from error kinds, and the progress display while waiting.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::Exit;
use crate::comet::{ErrorKind, Task, TaskStatus};
use crate::config::ConfigError;
use crate::jobs::{self, ListedTask, StoredStatus, TaskView};
use crate::store::StoreError;
use indicatif::{ProgressBar, ProgressStyle};

/// Prints a task: the shared task view as JSON, or a few lines for people (ending, while it
/// runs, with `resume`: the command that follows it).
pub(super) fn print_task(task: &TaskView, json: bool, resume: &str) {
    if json {
        println!("{}", serde_json::to_string_pretty(task).unwrap_or_default());
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
    if let Some(units) = task.units {
        line.push_str(&format!(", {units} units billed"));
    }
    println!("{line}");
    if let Some(message) = &task.status_message {
        println!("  {message}");
    }
    for video in &task.videos {
        match video.duration_seconds {
            Some(seconds) => println!("  {} ({seconds:.1} s)", video.url),
            None => println!("  {}", video.url),
        }
    }
    for file in &task.local_files {
        let kb = file.bytes.unwrap_or_default().div_ceil(1024);
        println!("  saved {} ({kb} KB)", file.path);
    }
    match task.status {
        // A simulated video is served by this process's simulator: its URL ends with it.
        TaskStatus::Succeed if task.task_id.is_simulated() => {
            println!("Simulated: the URLs work while this process runs (--download keeps a copy).");
        }
        TaskStatus::Succeed => println!("The URLs expire after about 30 days."),
        TaskStatus::Submitted | TaskStatus::Processing => {
            println!("Follow it with: {resume}");
        }
        TaskStatus::Failed => {}
    }
}

/// Prints what the store alone knows of a submit that got no task id, and returns the exit
/// code its status calls for.
pub(super) fn print_stored(task: &ListedTask, json: bool) -> Exit {
    if json {
        println!("{}", serde_json::to_string_pretty(task).unwrap_or_default());
    } else {
        println!(
            "task {} (external id): {}",
            task.external_task_id,
            task.status.as_str()
        );
        if let Some(message) = &task.status_message {
            println!("  {message}");
        }
    }
    match task.status {
        StoredStatus::SubmitFailed => Exit::JobFailed,
        StoredStatus::SubmitUncertain => Exit::Upstream,
        _ => Exit::Ok,
    }
}

/// Prints an error on one line, with its fix, and returns its exit code.
pub(super) fn fail(err: &jobs::Error) -> Exit {
    eprintln!(
        "error [{}]: {} (fix: {})",
        err.kind(),
        err,
        super::fixes::fix_for_person(err)
    );
    exit_for(err)
}

/// The exit code for an error. One cause, one code, whichever subcommand meets it (`doctor`
/// uses [`exit_for_kind`] too): the task store, like the key, is set-up (3); only CometAPI
/// and transfers that may pass later are 4.
pub(super) fn exit_for(err: &jobs::Error) -> Exit {
    match err {
        jobs::Error::SubmitUncertain { .. }
        | jobs::Error::OutOfTime { .. }
        | jobs::Error::NoAnswerYet => Exit::Upstream,
        jobs::Error::Store(StoreError::ExternalIdTaken { .. }) | jobs::Error::OtherWorld { .. } => {
            Exit::BadInput
        }
        jobs::Error::Store(_) => Exit::AuthOrConfig,
        jobs::Error::BudgetExceeded { .. } => Exit::SpendLimit,
        jobs::Error::Download(crate::comet::DownloadError::Cancelled) => Exit::Interrupted,
        jobs::Error::Download(err) if err.retryable() => Exit::Upstream,
        jobs::Error::Download(_) => Exit::AuthOrConfig,
        jobs::Error::Comet(inner) => exit_for_kind(inner.kind()),
    }
}

/// The exit code for an upstream error kind. A reply that is not CometAPI's is a wrong
/// `COMETAPI_BASE_URL` far more often than a broken CometAPI, so it is set-up (its fix says so).
pub(super) fn exit_for_kind(kind: ErrorKind) -> Exit {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::ContentRejected | ErrorKind::NotFound => {
            Exit::BadInput
        }
        ErrorKind::MissingApiKey
        | ErrorKind::Auth
        | ErrorKind::PermissionDenied
        | ErrorKind::InsufficientBalance
        | ErrorKind::MalformedResponse => Exit::AuthOrConfig,
        ErrorKind::RateLimited
        | ErrorKind::UpstreamUnavailable
        | ErrorKind::Timeout
        | ErrorKind::Network => Exit::Upstream,
    }
}

/// The exit code for settings that cannot be used: a value given on the command line or in
/// the environment is bad input, like a bad flag value clap refuses; an unreadable token
/// file is set-up.
pub fn exit_for_config(err: &ConfigError) -> Exit {
    match err {
        ConfigError::TokenFile(..) => Exit::AuthOrConfig,
        _ => Exit::BadInput,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comet::DownloadError;

    /// The README's table: 1 the task failed, 2 bad input, 3 key or set-up (the task store
    /// included), 4 CometAPI unreachable or erroring (and `submit_uncertain`), 130 Ctrl-C.
    #[test]
    fn one_cause_one_exit_code() {
        use ErrorKind as K;
        let kinds = [
            (K::InvalidRequest, 2),
            (K::ContentRejected, 2),
            (K::NotFound, 2),
            (K::MissingApiKey, 3),
            (K::Auth, 3),
            (K::PermissionDenied, 3),
            (K::InsufficientBalance, 3),
            (K::MalformedResponse, 3),
            (K::RateLimited, 4),
            (K::UpstreamUnavailable, 4),
            (K::Timeout, 4),
            (K::Network, 4),
        ];
        for (kind, code) in kinds {
            assert_eq!(exit_for_kind(kind) as u8, code, "{kind:?}");
        }
        let unavailable = StoreError::Unavailable {
            location: "sqlite:/x".into(),
            reason: "disk I/O error".into(),
        };
        let errors = [
            (jobs::Error::Store(unavailable), 3),
            (
                jobs::Error::Store(StoreError::TooNew {
                    location: "x".into(),
                    found: 9,
                    supported: 1,
                }),
                3,
            ),
            (
                jobs::Error::Store(StoreError::ExternalIdTaken {
                    external_task_id: "a".into(),
                }),
                2,
            ),
            (jobs::Error::Download(DownloadError::Cancelled), 130),
            (jobs::Error::Comet(crate::comet::Error::MissingApiKey), 3),
        ];
        for (err, code) in errors {
            assert_eq!(exit_for(&err) as u8, code, "{err}");
        }
        assert_eq!(
            exit_for_config(&ConfigError::BadBaseUrl("x".into())) as u8,
            2
        );
        assert_eq!(
            exit_for_config(&crate::config::POLL_MIN.parse(-1.0).unwrap_err()) as u8,
            2
        );
    }
}
