//! Performance figures for the README and the issues' targets, measured on the release build
//! against the in-process simulator over loopback, **side by side with a baseline build** in
//! one run: stdio cold start, `tools/list`, `get_video_task` latency and peak RSS; HTTP
//! throughput and latency at 1/10/100 clients, and RSS with 1000 idle sessions.
//!
//! Every figure is measured on the baseline binary, then on this tree's, one right after the
//! other, so both see the same machine load; the table gives both and their ratio. Both are
//! plain release builds made by the bench (see `builds.rs`); the baseline comes from a git
//! revision (`KLING_PERF_BASELINE`, default the tree before issue 24) and is cached by commit.
//! Without it the bench measures this build alone and says so.
//!
//! Run: `cargo bench --bench perf` (prints the table; writes `target/perf.json`).
//! `KLING_PERF_BASELINE=none` skips the baseline; `BENCH_SERVER_LOG=1` shows the HTTP
//! servers' logs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark driver: a failed assumption should stop it loudly"
)]

mod builds;
mod http;
mod stats;
mod stdio;

use std::path::PathBuf;

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::{Value, json};

use crate::builds::Build;
use crate::http::{CONCURRENCY, HttpFigures, HttpServer, IDLE_SESSIONS};
use crate::stdio::StdioFigures;

const BIN: &str = env!("CARGO_BIN_EXE_kling-omni-mcp");

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

/// One line of the table: a figure measured on both builds.
struct Row {
    figure: String,
    unit: &'static str,
    baseline: Option<f64>,
    current: f64,
    target: &'static str,
}

async fn run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `CARGO_TARGET_TMPDIR` is `<target>/tmp`.
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let current = builds::current(&target_dir, BIN);
    let baseline = match builds::baseline(&target_dir) {
        Ok(build) => Some(build),
        Err(why) => {
            eprintln!("bench: NO BASELINE ({why}); measuring the current build alone");
            None
        }
    };
    let mut builds: Vec<&Build> = baseline.iter().collect();
    builds.push(&current);
    let load_before = loadavg();

    let sim = Simulator::start(SimConfig {
        finish_after_polls: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stores: Vec<String> = builds.iter().map(|b| store_path(b)).collect();

    // ---- stdio ----
    // In the order A B B A, each figure the mean of a build's two rounds: measured once each,
    // the second build's `tools/list` came out 1.3x slower in every run, order alone.
    let mut rounds: Vec<Vec<StdioFigures>> = vec![Vec::new(); builds.len()];
    let mut task_ids = vec![String::new(); builds.len()];
    let order: Vec<usize> = (0..builds.len()).chain((0..builds.len()).rev()).collect();
    for b in order {
        eprintln!("bench: stdio, {}", builds[b].label);
        let (figures, task_id) = stdio::measure(builds[b], &sim, &stores[b]).await;
        rounds[b].push(figures);
        task_ids[b] = task_id;
    }
    let stdio_figures: Vec<StdioFigures> = rounds.iter().map(|r| StdioFigures::mean(r)).collect();
    let upstream = stdio::upstream_round_trip(&sim, &task_ids[0]).await;

    // ---- HTTP ----
    let mut http_figures: Vec<HttpFigures> = vec![HttpFigures::default(); builds.len()];
    let servers: Vec<HttpServer> = futures::future::join_all(
        builds
            .iter()
            .zip(&stores)
            .map(|(build, store)| HttpServer::start(build, &sim, store)),
    )
    .await;
    for (index, concurrency) in CONCURRENCY.iter().enumerate() {
        for (b, server) in servers.iter().enumerate() {
            eprintln!("bench: HTTP, {concurrency} clients, {}", builds[b].label);
            http_figures[b].throughput[index] =
                http::throughput(server, &task_ids[b], *concurrency).await;
        }
    }
    // Idle sessions last: each server has served the same calls before, and the figure is
    // what the sessions add to that.
    for (b, server) in servers.iter().enumerate() {
        eprintln!(
            "bench: HTTP, {IDLE_SESSIONS} idle sessions, {}",
            builds[b].label
        );
        let (before, after, idle) = http::idle_sessions(server).await;
        http_figures[b].rss_before_idle = before;
        http_figures[b].rss_idle = after;
        drop(idle);
    }
    for server in servers {
        server.stop().await;
    }

    let rows = rows(&stdio_figures, &http_figures, baseline.is_some());
    let load_after = loadavg();
    print_table(
        &rows,
        baseline.as_ref(),
        &current,
        upstream,
        &load_before,
        &load_after,
    );
    let json = json!({
        "baseline": baseline.as_ref().map(|b| b.label.clone()),
        "current": builds::describe_head(),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "simulator_get_p50_ms": upstream,
        "figures": rows.iter().map(|r| json!({
            "figure": r.figure,
            "unit": r.unit,
            "baseline": r.baseline,
            "current": r.current,
            "ratio": r.baseline.map(|b| r.current / b),
            "target": r.target,
        })).collect::<Vec<Value>>(),
    });
    let _ = std::fs::write(
        target_dir.join("perf.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    );
}

fn rows(stdio: &[StdioFigures], http: &[HttpFigures], has_baseline: bool) -> Vec<Row> {
    let pair = |pick: &dyn Fn(usize) -> f64| -> (Option<f64>, f64) {
        match has_baseline {
            true => (Some(pick(0)), pick(1)),
            false => (None, pick(0)),
        }
    };
    let mut rows = Vec::new();
    let mut push = |figure: String, unit, target, (baseline, current)| {
        rows.push(Row {
            figure,
            unit,
            baseline,
            current,
            target,
        });
    };
    push(
        "stdio cold start: spawn -> initialize reply (p50)".into(),
        "ms",
        "< 6 ms",
        pair(&|b| stdio[b].cold_start_p50),
    );
    push(
        "stdio tools/list (p50)".into(),
        "ms",
        "< 0.2 ms",
        pair(&|b| stdio[b].tools_list_p50),
    );
    push(
        "stdio get_video_task p50 (incl. upstream)".into(),
        "ms",
        "< 60 µs over upstream",
        pair(&|b| stdio[b].get_p50),
    );
    push(
        "stdio get_video_task p99".into(),
        "ms",
        "< 0.5 ms",
        pair(&|b| stdio[b].get_p99),
    );
    push(
        "stdio peak RSS after 1000 get_video_task".into(),
        "MB",
        "<= 12.5 MB",
        pair(&|b| stdio[b].peak_rss),
    );
    push(
        "  of which anonymous (heap, stacks) after the calls".into(),
        "MB",
        "-",
        pair(&|b| stdio[b].rss_anon),
    );
    push(
        "  of which file-backed (the executable, shared)".into(),
        "MB",
        "-",
        pair(&|b| stdio[b].rss_file),
    );
    for (index, concurrency) in CONCURRENCY.iter().enumerate() {
        let target = if *concurrency == 10 {
            ">= 8,800 calls/s"
        } else {
            "-"
        };
        push(
            format!("HTTP get_video_task, {concurrency} clients: calls/s"),
            "calls/s",
            target,
            pair(&|b| http[b].throughput[index].rate),
        );
        push(
            format!("HTTP get_video_task, {concurrency} clients: p50"),
            "ms",
            "-",
            pair(&|b| http[b].throughput[index].p50),
        );
        push(
            format!("HTTP get_video_task, {concurrency} clients: p99"),
            "ms",
            "-",
            pair(&|b| http[b].throughput[index].p99),
        );
    }
    push(
        "HTTP RSS before the idle sessions".into(),
        "MB",
        "-",
        pair(&|b| http[b].rss_before_idle),
    );
    push(
        format!("HTTP RSS with {IDLE_SESSIONS} idle 2025-11-25 sessions"),
        "MB",
        "< 50 MB",
        pair(&|b| http[b].rss_idle),
    );
    rows
}

fn print_table(
    rows: &[Row],
    baseline: Option<&Build>,
    current: &Build,
    upstream: f64,
    load_before: &str,
    load_after: &str,
) {
    let base_label = baseline.map_or_else(|| "(no baseline)".to_owned(), |b| b.label.clone());
    let current_label = current.label.clone();
    let width = rows.iter().map(|r| r.figure.len()).max().unwrap_or(10);
    println!();
    println!(
        "{:width$}  {:>22}  {:>22}  {:>7}  target",
        "figure", base_label, current_label, "ratio"
    );
    for row in rows {
        let base = row
            .baseline
            .map_or_else(|| "-".to_owned(), |v| value(v, row.unit));
        let ratio = row
            .baseline
            .filter(|b| *b > 0.0)
            .map_or_else(|| "-".to_owned(), |b| format!("{:.2}x", row.current / b));
        println!(
            "{:width$}  {base:>22}  {:>22}  {ratio:>7}  {}",
            row.figure,
            value(row.current, row.unit),
            row.target
        );
    }
    println!(
        "simulator GET round trip alone (p50): {}",
        value(upstream, "ms")
    );
    println!("load average before / after: {load_before} / {load_after}");
    if baseline.is_none() {
        println!("NO BASELINE: only the current build was measured (see the log above for why)");
    }
}

fn value(v: f64, unit: &str) -> String {
    match unit {
        "ms" if v < 1.0 => format!("{:.0} µs", v * 1000.0),
        "ms" => format!("{v:.2} ms"),
        "MB" => format!("{v:.1} MB"),
        "calls/s" => format!("{v:.0}/s"),
        _ => format!("{v:.2} {unit}"),
    }
}

/// The 1, 5 and 15 minute load averages: how busy the shared machine was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A SQLite task store per build (a newer build may migrate a store an older one then
/// refuses), under `target/tmp`, kept between runs like a user's.
fn store_path(build: &Build) -> String {
    let name: String = build
        .label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("perf-store")
        .join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir.join("tasks.sqlite3").display().to_string()
}
