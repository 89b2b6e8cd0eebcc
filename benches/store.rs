//! Task store figures: the cost of one status change and of a listing over 10,000 tasks, on
//! SQLite (a file in a temp dir) and on PostgreSQL (when `KLING_MCP_TEST_POSTGRES` names a
//! server: `url=$(bash scripts/pg.sh start /tmp/kpg)`); and, with `KLING_BENCH_JOB_SECS`
//! set, upstream GETs per job when two processes wait on one job through a shared store.
//!
//! Run with `cargo bench --bench store` (release build).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark: a failed assumption should stop it loudly"
)]

use std::time::{Duration, Instant};

use kling_omni_mcp::comet::TaskId;
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use kling_omni_mcp::store::{NewTask, Owner, Store, StoreLocation, StoredStatus, now_ms};

const TASKS: usize = 10_000;
const BIN: &str = env!("CARGO_BIN_EXE_kling-omni-mcp");

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(StoreLocation::Sqlite(dir.path().join("tasks.sqlite3")))
        .await
        .unwrap();
    let mut rows = figures("SQLite", &sqlite).await;
    if let Ok(admin) = std::env::var("KLING_MCP_TEST_POSTGRES") {
        let url = fresh_database(&admin).await;
        let postgres = Store::open(StoreLocation::parse(&url).unwrap())
            .await
            .unwrap();
        rows.extend(figures("PostgreSQL", &postgres).await);
    } else {
        eprintln!("bench: KLING_MCP_TEST_POSTGRES not set; PostgreSQL figures skipped");
    }
    if let Some(secs) = std::env::var("KLING_BENCH_JOB_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        rows.extend(gets_per_job(Duration::from_secs(secs), dir.path()).await);
    }
    println!("| figure | measured |\n|---|---|");
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
}

/// Latencies of the store calls a job makes, and of listings over `TASKS` tasks.
async fn figures(name: &str, store: &Store) -> Vec<(String, String)> {
    let mut insert = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        let task = NewTask {
            external_task_id: format!("bench-{i}"),
            owner: Owner::server(),
            mode: "text_to_video".into(),
            prompt_head: format!("a bench prompt number {i} with some length to it"),
            model: "kling-video-o1".into(),
            duration: Some(5),
            aspect_ratio: Some("16:9".into()),
        };
        let started = Instant::now();
        store.insert_submitting(&task, now_ms()).await.unwrap();
        insert.push(started.elapsed());
    }
    let mut created = Vec::new();
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for i in 0..2000 {
        let task_id = TaskId::parse(&format!("t{i}")).unwrap();
        let started = Instant::now();
        store
            .set_created(
                &format!("bench-{i}"),
                &task_id,
                StoredStatus::Submitted,
                now_ms(),
            )
            .await
            .unwrap();
        created.push(started.elapsed());
        let started = Instant::now();
        store
            .record_status(
                &task_id,
                StoredStatus::Processing,
                None,
                &[],
                None,
                now_ms(),
            )
            .await
            .unwrap();
        changed.push(started.elapsed());
        let started = Instant::now();
        store
            .record_status(
                &task_id,
                StoredStatus::Processing,
                None,
                &[],
                None,
                now_ms(),
            )
            .await
            .unwrap();
        unchanged.push(started.elapsed());
    }
    let mut list = Vec::new();
    let mut filtered = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        assert_eq!(
            store.list(&Owner::server(), None, 20).await.unwrap().len(),
            20
        );
        list.push(started.elapsed());
        let started = Instant::now();
        store
            .list(&Owner::server(), Some(StoredStatus::Processing), 100)
            .await
            .unwrap();
        filtered.push(started.elapsed());
    }
    vec![
        (
            format!("{name}: record a submit, durably (p50 / p99)"),
            p50_p99(&mut insert),
        ),
        (
            format!("{name}: status change submitting -> submitted (p50 / p99)"),
            p50_p99(&mut created),
        ),
        (
            format!("{name}: status change from a query (p50 / p99)"),
            p50_p99(&mut changed),
        ),
        (
            format!("{name}: unchanged status from a query (p50 / p99)"),
            p50_p99(&mut unchanged),
        ),
        (
            format!("{name}: list 20 newest of {TASKS} (p50 / p99)"),
            p50_p99(&mut list),
        ),
        (
            format!("{name}: list 100 by status of {TASKS} (p50 / p99)"),
            p50_p99(&mut filtered),
        ),
    ]
}

/// Upstream GETs for one job of `length` when one process, then two processes (on one SQLite
/// store, and on PostgreSQL when available), follow it to the end with the default schedule.
async fn gets_per_job(length: Duration, dir: &std::path::Path) -> Vec<(String, String)> {
    let mut stores = vec![(
        "one process, SQLite",
        dir.join("alone.sqlite3").display().to_string(),
        1,
    )];
    stores.push((
        "two processes, one SQLite store",
        dir.join("shared.sqlite3").display().to_string(),
        2,
    ));
    if let Ok(admin) = std::env::var("KLING_MCP_TEST_POSTGRES") {
        stores.push((
            "two processes, one PostgreSQL database",
            fresh_database(&admin).await,
            2,
        ));
    }
    let runs = stores.into_iter().map(|(name, store, waiters)| async move {
        let sim = Simulator::start(SimConfig {
            finish_after_polls: u32::MAX,
            finish_after: Some(length),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let cli = |args: &[&str]| {
            let mut command = tokio::process::Command::new(BIN);
            command
                .args(args)
                .env("COMETAPI_KEY", "sk-bench")
                .env("COMETAPI_BASE_URL", sim.url().as_str())
                .env("KLING_MCP_STORE", &store)
                .env("RUST_LOG", "warn")
                .stdin(std::process::Stdio::null());
            command
        };
        let out = cli(&[
            "generate",
            "--prompt",
            "bench",
            "--aspect-ratio",
            "1:1",
            "--json",
        ])
        .output()
        .await
        .unwrap();
        let task: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let task_id = task["task_id"].as_str().unwrap().to_owned();
        let waits = (0..waiters).map(|_| {
            let mut command = cli(&["status", &task_id, "--wait", "--json"]);
            async move { command.output().await.unwrap() }
        });
        for out in futures::future::join_all(waits).await {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (
            format!("GETs for one {}-s job, {name}", length.as_secs()),
            sim.requests_for(&task_id).to_string(),
        )
    });
    futures::future::join_all(runs).await
}

async fn fresh_database(admin: &str) -> String {
    let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let name = format!("bench_{}_{}", std::process::id(), now_ms());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

fn p50_p99(values: &mut [Duration]) -> String {
    values.sort();
    let at = |p: f64| values[((values.len() - 1) as f64 * p) as usize];
    format!("{:.1} µs / {:.1} µs", micros(at(0.5)), micros(at(0.99)))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
