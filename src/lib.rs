//! kling-omni-mcp: an MCP server (and CLI) that makes videos with CometAPI's Kling O1 Omni
//! Video API. Layers, top to bottom: `server` (MCP tools), `comet` (the typed API client),
//! `config` (env and flags, parsed once); `simulator` is a fake CometAPI reached only by URL.

pub mod cli;
pub mod comet;
pub mod config;
pub mod jobs;
pub mod local_images;
pub mod server;
pub mod simulator;
pub mod store;
