//! Flags of result-video downloads: which addresses they may reach and the caps per task; kept
//! apart from the grammar in `flags/mod.rs` so each stays small.

use crate::comet::DownloadOptions;
use crate::jobs::DownloadLimits;

/// Download flags (flattened into [`super::Cli`]; global, so `generate --download` obeys them).
#[derive(Debug, Clone, clap::Args)]
pub struct DownloadFlags {
    /// Also download videos from loopback, private and link-local addresses, and follow
    /// redirects to http (for local test servers; implied by --simulate).
    #[arg(global = true, long, env = "KLING_MCP_ALLOW_PRIVATE_DOWNLOADS")]
    pub allow_private_downloads: bool,

    /// Most videos downloaded for one task; a reply listing more is not downloaded at all.
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_MAX_VIDEOS_PER_TASK",
        default_value_t = 4,
        value_name = "N"
    )]
    pub max_videos_per_task: usize,

    /// Most bytes downloaded for one task, all its videos together (default 1 GiB).
    #[arg(global = true, long, env = "KLING_MCP_MAX_DOWNLOAD_BYTES", default_value_t = 1024 * 1024 * 1024, value_name = "BYTES")]
    pub max_download_bytes: u64,
}

impl DownloadFlags {
    /// The caps per task (at least one video and one byte).
    pub fn limits(&self) -> DownloadLimits {
        DownloadLimits {
            max_videos: self.max_videos_per_task.max(1),
            max_bytes: self.max_download_bytes.max(1),
        }
    }

    /// The downloader's settings; `simulate` allows private addresses, because the simulator
    /// serves its videos on loopback.
    pub fn options(&self, simulate: bool) -> DownloadOptions {
        DownloadOptions {
            allow_private: self.allow_private_downloads || simulate,
            ..DownloadOptions::default()
        }
    }
}
