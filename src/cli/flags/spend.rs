//! Flags of the daily spend limits; kept apart from the grammar in `flags/mod.rs` so each stays
//! small.

use crate::jobs::SpendLimits;

/// Spend-limit flags (flattened into [`super::Cli`]; global, so `generate` obeys them too).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SpendFlags {
    /// Most videos bought per caller key over a rolling 24 hours, counted in the task store
    /// (shared by every process and instance on it) [default: no limit].
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_MAX_VIDEOS_PER_DAY",
        value_name = "N"
    )]
    pub max_videos_per_day: Option<u32>,

    /// Most requested seconds of video per caller key over a rolling 24 hours (a base video
    /// edit counts 10) [default: no limit].
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_MAX_SECONDS_PER_DAY",
        value_name = "N"
    )]
    pub max_seconds_per_day: Option<u32>,
}

impl SpendFlags {
    /// The limits.
    pub fn limits(&self) -> SpendLimits {
        SpendLimits {
            videos: self.max_videos_per_day,
            seconds: self.max_seconds_per_day,
        }
    }
}
