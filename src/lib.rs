//! kling-omni-mcp: an MCP server (and CLI) that makes videos with CometAPI's Kling O1 Omni
//! Video API. Layers, top to bottom: `cli` (the flags and the human subcommands) and `server`
//! (MCP tools), `jobs`, `comet` (the typed API client) and `store`; `config` (the checked
//! settings, built once from the flags) is a leaf all of them read; `simulator` is a fake
//! CometAPI reached only by URL.

pub mod app;
pub mod cli;
pub mod comet;
pub mod config;
pub mod jobs;
pub mod local_images;
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
