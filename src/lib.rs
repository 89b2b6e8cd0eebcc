//! kling-omni-mcp: an MCP server (and CLI) that makes videos with CometAPI's Kling O1 Omni
//! Video API.
//!
//! # Layout
//!
//! Arrows point down only: no module imports one above it, and there are no import circles.
//!
//! ```text
//!                     main.rs   parse the command line, pick a front door
//!                        │
//!                      app       App::open(&Config): the composition root — client (or the
//!                        │       simulator), store, downloader, jobs, recovery, task secret
//!      ┌─────────────────┼──────────────────────┐
//!      ▼                 ▼                      ▼
//!    cli/            transport/ ──serves──▶  server/
//!    people:         stdio framing,          the MCP handler: one file per tool,
//!    subcommands,    streamable HTTP,        MCP tasks, prompts, resources, and
//!    flags → Config  connection slots        failures worded for an agent
//!      │                                        │
//!      └────────────────────┬───────────────────┘
//!                           ▼
//!                         jobs/   one call per use case: generate (prepare → submit → free
//!                           │     the images → follow), follow (wait, download), status,
//!                           │     list, recovery; one task view
//!               ┌───────────┼──────────────┐
//!               ▼           ▼              ▼
//!            comet/       store/      local_images
//!            the typed    the task    image files under the allowed roots, read as
//!            CometAPI     store       base64 (a leaf)
//!            client       (SQLite or PostgreSQL; uses only `comet::TaskStatus`)
//!
//!    simulator/  a fake CometAPI beside the stack: `app` starts it for `--simulate`, tests
//!                start it; everything else reaches it only through its URL.
//!    metrics/    process-wide counters, histograms and gauges (a leaf every layer may call),
//!                served as Prometheus text at `GET /metrics`.
//!    config/     the checked settings, built once from the flags and environment by
//!                `cli::Cli` out of the lower layers' own option types; read by app, cli
//!                and transport, never by the layers below them.
//! ```

pub mod app;
pub mod cli;
pub mod comet;
pub mod config;
pub mod jobs;
pub mod local_images;
pub mod metrics;
mod private_fs;
pub mod server;
pub mod simulator;
pub mod store;
pub mod transport;

/// Locks `mutex`, taking over a poisoned one: every critical section in this crate is one map
/// or counter operation, so a panic elsewhere cannot leave the data half-changed.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
