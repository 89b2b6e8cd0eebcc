//! The grammar of `generate`, `status` and `list`: their flags, as clap parses them. The
//! values stay as typed (or as text where the request type parses them leniently, naming the
//! flag); `request.rs` and `tasks.rs` turn them into calls.

#![allow(
    clippy::doc_markdown,
    reason = "the doc comments of the flags are --help text"
)]

use std::path::PathBuf;

use clap::Args;

use crate::jobs::StoredStatus;

/// `generate` arguments.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate (refer to inputs as <<<image_1>>>, <<<element_1>>>, <<<video_1>>>).
    /// Optional with --shot, whose prompts describe the video.
    #[arg(long, required_unless_present = "shots")]
    pub prompt: Option<String>,
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
    /// Seconds: O1 takes 5 or 10 for text and first-frame requests, 3-10 with references;
    /// kling-v3-omni takes 3-15. With --shot, defaults to the shots' total.
    // Text, read by the tool's own rules, so a bad value is refused like any other.
    #[arg(long)]
    pub duration: Option<String>,
    /// kling-video-o1 (default) or kling-v3-omni (3-15 s, --sound, --shot, --auto-shots).
    #[arg(long)]
    pub model: Option<String>,
    /// kling-v3-omni: generate native audio with the video (not with --video).
    #[arg(long)]
    pub sound: bool,
    /// kling-v3-omni: one shot of a storyboard, SECS long (repeatable, 1-6, in order).
    #[arg(
        long = "shot",
        value_name = "SECS:PROMPT",
        conflicts_with = "auto_shots"
    )]
    pub shots: Vec<String>,
    /// kling-v3-omni: let the model cut --prompt into shots.
    #[arg(long)]
    pub auto_shots: bool,
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
    #[arg(long, value_parser = clap::builder::ValueParser::new(str::parse::<StoredStatus>))]
    pub status: Option<StoredStatus>,
    /// How many, newest first (1-100).
    #[arg(long, default_value_t = 20, value_parser = super::usage::limit)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}
