//! Several `--http` instances on one PostgreSQL database, as behind a load balancer: a task
//! submitted through one is listed and followed through the other at the cost of one upstream
//! query per poll interval, and a database that goes away stops purchases but not queries.
//! Needs `KLING_MCP_TEST_POSTGRES` (an admin URL; `.ci/run` starts a throwaway server) when
//! the tests are built; without it they are ignored (build.rs), so the summary counts them as
//! skipped. With `KLING_MCP_REQUIRE_POSTGRES` they run, and fail without a server.
//! Run with `cargo test --test it store_postgres::`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kling_omni_mcp::jobs::PollSchedule;
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::json;

use crate::http::{HttpServer, call};
use crate::support::{assert_ok, error_meta, structured};

/// The admin URL of the test server, or `None` (with a note) when there is none.
pub(crate) fn admin_url() -> Option<String> {
    match std::env::var("KLING_MCP_TEST_POSTGRES") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("KLING_MCP_REQUIRE_POSTGRES").is_err(),
                "KLING_MCP_REQUIRE_POSTGRES is set but KLING_MCP_TEST_POSTGRES is not"
            );
            eprintln!("skipped: KLING_MCP_TEST_POSTGRES is not set (bash .ci/run starts a server)");
            None
        }
    }
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// A fresh, empty database: (its name, its URL).
pub(crate) async fn fresh_database(admin_url: &str) -> (String, String) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "it_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    admin(admin_url)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    (name.clone(), format!("{base}/{name}"))
}

/// One `--http` instance on `store`, against the shared simulator.
async fn instance(sim: &Arc<Simulator>, store: &str) -> HttpServer {
    let env = [("KLING_MCP_STORE", store), ("KLING_MCP_POLL_MIN", "0.05")];
    HttpServer::start_on(&[], sim.clone(), &env).await
}

#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn two_instances_share_one_database_and_its_polling() {
    let Some(admin_url) = admin_url() else { return };
    let (_, store) = fresh_database(&admin_url).await;
    // The job takes a second, however often it is polled.
    const JOB: Duration = Duration::from_secs(1);
    let sim = Arc::new(
        Simulator::start(SimConfig {
            finish_after_polls: u32::MAX,
            finish_after: Some(JOB),
            ..SimConfig::default()
        })
        .await
        .unwrap(),
    );
    // Both start on an empty database at once: the migration runs once, under its lock.
    let (a, b) = tokio::join!(instance(&sim, &store), instance(&sim, &store));
    let (a, b) = (a.client().await, b.client().await);
    let submitted = call(
        &a,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = call(&b, "list_video_tasks", json!({})).await;
    assert_eq!(
        structured(&listed)["tasks"][0]["task_id"],
        task_id.as_str(),
        "submitted via A, listed via B"
    );
    assert!(
        structured(&listed)["store"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );

    let wait = json!({"task_id": task_id, "wait_seconds": 30});
    let (via_a, via_b) = tokio::join!(
        call(&a, "get_video_task", wait.clone()),
        call(&b, "get_video_task", wait)
    );
    for result in [&via_a, &via_b] {
        assert_ok(result);
        assert_eq!(structured(result)["status"], "succeed");
    }
    // Sharing the poll row, the two instances together query at most as often as one waiter's
    // schedule allows for the job's length; waiting alone, each would query that often.
    let allowed = polls_for_a_job_of(JOB);
    let gets = sim.requests_for(&task_id);
    eprintln!(
        "two instances, one job of {JOB:?}: {gets} upstream queries (one schedule: {allowed})"
    );
    assert!(
        gets <= allowed,
        "{gets} upstream queries; one schedule allows {allowed} for a job of {JOB:?}"
    );
    let listed = call(&a, "list_video_tasks", json!({"status": "succeed"})).await;
    assert_eq!(structured(&listed)["tasks"][0]["task_id"], task_id.as_str());
}

/// The most upstream queries waiters sharing one poll row make for a job that finishes `job`
/// after its creation, on one waiter's schedule (`KLING_MCP_POLL_MIN=0.05`): counted from the
/// simulator's settings, not from a clock. The queries that find it unfinished all fall within
/// `job` of the first, and a shared schedule fits at most `polls_within(job)` of them there
/// (a slow machine only makes them later, so fewer); then one query sees the end, and one more
/// may race it (a claim made just before the last answer was shared).
pub(crate) fn polls_for_a_job_of(job: Duration) -> usize {
    polls_within(job) + 2
}

/// How many polls one waiter's schedule (`KLING_MCP_POLL_MIN=0.05`) makes in `span`.
fn polls_within(span: Duration) -> usize {
    let schedule = PollSchedule {
        min: Duration::from_millis(50),
        max: Duration::from_secs(15),
    };
    let mut elapsed = Duration::ZERO;
    let mut polls = 1;
    while elapsed + schedule.interval(polls - 1) <= span {
        elapsed += schedule.interval(polls - 1);
        polls += 1;
    }
    usize::try_from(polls).unwrap()
}

#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn a_database_that_goes_away_stops_purchases_but_not_queries() {
    let Some(admin_url) = admin_url() else { return };
    let (name, store) = fresh_database(&admin_url).await;
    let sim = Arc::new(
        Simulator::start(SimConfig {
            finish_after_polls: 1,
            ..SimConfig::default()
        })
        .await
        .unwrap(),
    );
    let server = instance(&sim, &store).await;
    let client = server.client().await;
    let first = call(
        &client,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_ok(&first);
    let task_id = structured(&first)["task_id"].as_str().unwrap().to_owned();

    // The database goes away: no new connections, and the open ones are cut.
    let admin = admin(&admin_url).await;
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let creates = sim.create_count();
    let refused = call(
        &client,
        "generate_video",
        json!({"prompt": "a dog", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    let meta = error_meta(&refused);
    assert_eq!(meta["kind"], "store_unavailable", "{meta}");
    assert_eq!(meta["retryable"], true);
    assert_eq!(
        sim.create_count(),
        creates,
        "a task that cannot be recorded is not bought"
    );
    let polled = call(&client, "get_video_task", json!({"task_id": task_id})).await;
    assert_ok(&polled);
    assert_eq!(
        structured(&polled)["status"],
        "succeed",
        "answered from the upstream"
    );

    // Back again: purchases resume without a restart.
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let resumed = call(
        &client,
        "generate_video",
        json!({"prompt": "a dog", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_ok(&resumed);
}

#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn an_unreachable_database_at_start_refuses_purchases() {
    let Some(_) = admin_url() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = Arc::new(Simulator::start(SimConfig::default()).await.unwrap());
    let server = instance(&sim, &format!("postgres://nobody:pw@127.0.0.1:{port}/none")).await;
    let client = server.client().await;
    let refused = call(
        &client,
        "generate_video",
        json!({"prompt": "a cat", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_eq!(error_meta(&refused)["kind"], "store_unavailable");
    assert!(
        !format!("{refused:?}").contains(":pw@"),
        "no password in the error"
    );
    assert_eq!(sim.create_count(), 0);
}
