//! `generate`, `status` and `list`.

#![allow(
    clippy::doc_markdown,
    reason = "the doc comments of the flags are --help text"
)]

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Exit;
use super::output::{WaitDisplay, exit_for, exit_for_task, fail, print_task};
use super::request::{build_request, refuse};
use crate::comet::{Task, TaskStatus};
use crate::jobs::{self, Deadline, DownloadedFile, Jobs, StoredStatus, WaitEnd};

/// `generate` arguments.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate (refer to inputs as <<<image_1>>>, <<<element_1>>>, <<<video_1>>>).
    #[arg(long)]
    pub prompt: String,
    /// An image file or URL, optionally ending in :first_frame or :end_frame (repeatable).
    #[arg(long = "image", value_name = "PATH_OR_URL[:first_frame|:end_frame]")]
    pub images: Vec<String>,
    /// A Kling element id (repeatable).
    #[arg(long = "element", value_name = "ID")]
    pub elements: Vec<u64>,
    /// A public video URL, optionally ending in :feature or :base (default base: edit it).
    #[arg(long, value_name = "URL[:feature|:base]")]
    pub video: Option<String>,
    /// pro (1080p, default) or std (720p).
    #[arg(long)]
    pub mode: Option<String>,
    /// 16:9, 9:16 or 1:1 (needed for text-only and reference requests).
    #[arg(long)]
    pub aspect_ratio: Option<String>,
    /// Seconds: 5 or 10 for text and first-frame requests, 3-10 with references.
    #[arg(long)]
    pub duration: Option<u64>,
    /// kling-video-o1 (default) or kling-v3-omni.
    #[arg(long)]
    pub model: Option<String>,
    /// Your own id for the task.
    #[arg(long)]
    pub external_task_id: Option<String>,
    /// Check only: print the body that would be sent; nothing is sent or charged.
    #[arg(long)]
    pub dry_run: bool,
    /// How to follow the task.
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// `status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The task id.
    pub task_id: String,
    /// How to follow the task.
    #[command(flatten)]
    pub follow: FollowArgs,
}

/// What `generate` and `status` do after they have a task: wait, download, print JSON.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Follow the task until it succeeds or fails.
    #[arg(long)]
    pub wait: bool,
    /// When it has succeeded, save the videos into DIR (implies --wait).
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tasks with this status.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<StoredStatus>,
    /// How many, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn generate(args: GenerateArgs, jobs: &Jobs) -> Exit {
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(violations) => return refuse(&violations),
    };
    let valid = match request.into_valid() {
        Ok(valid) => valid,
        Err(violations) => return refuse(&violations),
    };
    for warning in valid.warnings() {
        eprintln!("warning: {warning}");
    }
    if args.dry_run {
        let body = serde_json::to_value(valid.body()).unwrap_or(Value::Null);
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        eprintln!("dry run ({} mode): nothing was sent", valid.mode().as_str());
        return Exit::Ok;
    }
    let created = match jobs.submit(&valid, Deadline::none()).await {
        Ok(created) => created,
        Err(err) => return fail(&err),
    };
    if !args.follow.json {
        eprintln!(
            "submitted task {} (external id {})",
            created.task_id,
            valid.body().external_task_id.as_deref().unwrap_or("-")
        );
    }
    let submitted = Task::from(&created);
    follow(jobs, submitted, &args.follow).await
}

pub(super) async fn status(args: StatusArgs, jobs: &Jobs) -> Exit {
    let task = match jobs.query(&args.task_id, Deadline::none()).await {
        Ok(task) => task,
        Err(err) => return fail(&err),
    };
    follow(jobs, task, &args.follow).await
}

pub(super) async fn list(args: &ListArgs, jobs: &Jobs) -> Exit {
    let records = match jobs
        .list(args.status, args.limit.max(1), Deadline::none())
        .await
    {
        Ok(records) => records,
        Err(err) => return fail(&err),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).unwrap_or_default()
        );
        return Exit::Ok;
    }
    if records.is_empty() {
        println!("no tasks yet (task store: {})", jobs.store().location());
        return Exit::Ok;
    }
    println!("{:<20} {:<17} {:<9} PROMPT", "TASK", "STATUS", "MODE");
    for record in records {
        let id = record
            .task_id
            .clone()
            .unwrap_or(record.external_task_id.clone());
        let prompt: String = record.prompt_head.chars().take(50).collect();
        println!(
            "{id:<20} {:<17} {:<9} {prompt}",
            record.status.as_str(),
            record.mode.split('_').next().unwrap_or_default()
        );
    }
    Exit::Ok
}

/// Reads a `--status` value.
fn parse_status(value: &str) -> Result<StoredStatus, String> {
    StoredStatus::parse(value.trim().to_ascii_lowercase().as_str()).ok_or_else(|| {
        let names: Vec<&str> = StoredStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// Waits (when asked) with a progress display, downloads (when asked), prints the result.
async fn follow(jobs: &Jobs, task: Task, how: &FollowArgs) -> Exit {
    let (wait, download, json) = (
        how.wait || how.download.is_some(),
        how.download.as_deref(),
        how.json,
    );
    let mut task = task;
    if wait && !task.status.is_terminal() {
        match wait_to_the_end(jobs, &task.task_id).await {
            Ok((done, WaitEnd::Cancelled)) => {
                eprintln!(
                    "stopped waiting; task {} keeps running. Resume with: kling-omni-mcp status {} --wait",
                    done.task_id, done.task_id
                );
                print_task(&done, &[], json);
                return Exit::Interrupted;
            }
            Ok((done, _)) => task = done,
            Err(err) => return fail(&err),
        }
    }
    let mut files: Vec<DownloadedFile> = Vec::new();
    if let Some(dir) = download.filter(|_| task.status == TaskStatus::Succeed) {
        // Ctrl-C stops the transfer and removes what was written so far.
        let (cancel, _stop_listening) = cancel_on_ctrl_c();
        match jobs.download_to(&task, dir, &cancel).await {
            Ok(saved) => files = saved,
            Err(err) => {
                print_task(&task, &[], json);
                eprintln!(
                    "error [{}]: the download failed: {err} (fix: {})",
                    err.kind(),
                    err.fix()
                );
                return exit_for(&err);
            }
        }
    }
    print_task(&task, &files, json);
    exit_for_task(&task)
}

/// Follows a task until it finishes or Ctrl-C is pressed.
async fn wait_to_the_end(jobs: &Jobs, task_id: &str) -> Result<(Task, WaitEnd), jobs::Error> {
    let (cancel, _stop_listening) = cancel_on_ctrl_c();
    let display = WaitDisplay::new(task_id);
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Task>();
    let result = loop {
        let waited = {
            // A person follows the task to the end: no call deadline, each status query is still
            // bounded (see `Jobs::query`).
            let wait = jobs.wait(
                task_id,
                Duration::from_secs(3600),
                Deadline::none(),
                &cancel,
                Some(&sender),
            );
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    waited = &mut wait => break waited,
                    Some(update) = receiver.recv() => display.update(&update),
                }
            }
        };
        match waited {
            Ok(waited) if waited.end == WaitEnd::TimedOut => continue,
            Ok(waited) => break Ok((waited.task, waited.end)),
            Err(err) => break Err(err),
        }
    };
    display.finish();
    result
}

/// A token cancelled by Ctrl-C; dropping the guard stops listening.
fn cancel_on_ctrl_c() -> (CancellationToken, tokio_util::sync::DropGuard) {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let guard = cancel.clone().drop_guard();
    tokio::spawn(async move {
        tokio::select! {
            result = tokio::signal::ctrl_c() => if result.is_ok() { on_ctrl_c.cancel() },
            () = on_ctrl_c.cancelled() => {}
        }
    });
    (cancel, guard)
}
