//! Integration tests: the real binary, driven by rmcp's MCP client over stdio, against the
//! simulated CometAPI on a loopback port, where a process is the point; and the application
//! in-process on a paused clock (`inproc`), where exact times and call counts are. Run with
//! `cargo test --test it`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed assumption should fail the test loudly"
)]

mod support;

mod balance;
mod callers;
mod cli;
mod cli_v3;
mod downloads;
mod errors;
mod faults;
mod files;
mod first_minutes;
mod hardening;
mod http;
mod http_hardening;
mod http_limits;
mod http_protocol;
mod inproc;
mod jobs;
mod json_logs;
mod launcher;
mod local_images;
mod long_jobs;
mod memory;
mod metrics;
mod newcomer;
mod packaging;
mod player;
mod player_browser;
mod readme;
mod redaction;
mod redaction_disguised;
mod secrets;
mod simulated;
mod spend;
mod stdio_framing;
mod store;
mod store_postgres;
mod tasks;
mod tasks_shared;
mod tools;
mod v3;
