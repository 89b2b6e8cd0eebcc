//! The balance (`get_balance`, `balance`, the doctor line) against the simulator's balance
//! service, with the key kept out of every answer and every debug log line; and the units a
//! finished task billed, kept in the store and shown. Run with `cargo test --test it balance::`.

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::json;

use crate::support::{Harness, Setup, error_meta, person, run, structured, text};

const API_KEY: &str = "sk-api-key-for-balance-0123456789";
const QUERY_KEY: &str = "sk-query-only-key-9876543210";

#[tokio::test]
async fn get_balance_answers_from_the_balance_service() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let server = Harness::with(Setup {
        base_url: Some(sim.url().to_string()),
        key: Some(API_KEY),
        env: vec![("COMETAPI_QUOTA_URL", sim.url().to_string())],
        ..Setup::default()
    })
    .await;
    let result = server.call("get_balance", json!({})).await;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    let balance = structured(&result);
    assert_eq!(balance["balance_usd"], 25.0);
    assert_eq!(balance["query_key"], false);
    assert_eq!(balance["keys"][0]["unlimited"], true);
    assert!(text(&result).contains("$25.00 left"), "{}", text(&result));
    assert_eq!(sim.requests_for("/user/quota"), 1);
    let refused = server.call("get_balance", json!({"key": "x"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert_eq!(error_meta(&refused)["field"], "key");
    let log = server.stop().await;
    assert!(!log.contains(API_KEY), "the key reached the log");
}

#[tokio::test]
async fn an_echoed_key_never_reaches_the_answer_or_the_log() {
    // The balance service refuses the key and writes it back into its reply.
    let sim = Simulator::start(SimConfig {
        echo_key: true,
        balance_usd: None,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let server = Harness::with(Setup {
        base_url: Some(sim.url().to_string()),
        key: Some(API_KEY),
        env: vec![("COMETAPI_QUOTA_URL", sim.url().to_string())],
        ..Setup::default()
    })
    .await;
    let result = server.call("get_balance", json!({})).await;
    assert_eq!(result.is_error, Some(true));
    let meta = error_meta(&result);
    assert_eq!(meta["kind"], "auth", "{}", text(&result));
    let message = text(&result);
    assert!(message.contains("COMETAPI_QUERY_KEY"), "{message}");
    assert!(
        message.contains("[redacted]"),
        "the echo was cleaned: {message}"
    );
    assert!(!message.contains(API_KEY), "{message}");
    let log = server.stop().await;
    assert!(log.contains("balance query"), "logged at debug: {log}");
    assert!(!log.contains(API_KEY), "the key reached the debug log");
}

#[tokio::test]
async fn balance_asks_with_the_query_key_and_never_prints_either_key() {
    let sim = Simulator::start(SimConfig {
        quota_key: Some(QUERY_KEY.into()),
        echo_key: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let command = |query_key: bool| {
        let mut command = person(dir.path());
        command
            .env("COMETAPI_KEY", API_KEY)
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("COMETAPI_QUOTA_URL", sim.url().as_str())
            .env("RUST_LOG", "debug");
        if query_key {
            command.env("COMETAPI_QUERY_KEY", QUERY_KEY);
        }
        command
    };
    let asked = run(command(true), &["balance", "--json"]).await;
    assert_eq!(asked.code, 0, "{}", asked.stderr);
    let balance = asked.json();
    assert_eq!(balance["balance_usd"], 25.0);
    assert_eq!(balance["query_key"], true);
    let people = run(command(true), &["balance"]).await;
    assert!(people.stdout.contains("$25.00 left"), "{}", people.stdout);
    // Without the query key the API key asks, and this service refuses it (echoing it).
    let refused = run(command(false), &["balance"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("COMETAPI_QUERY_KEY"),
        "{}",
        refused.stderr
    );
    for out in [&asked, &people, &refused] {
        for key in [API_KEY, QUERY_KEY] {
            assert!(!out.stdout.contains(key), "{key} printed: {}", out.stdout);
            assert!(!out.stderr.contains(key), "{key} logged: {}", out.stderr);
        }
    }
    assert_eq!(sim.requests_for("/user/quota"), 3);
}

#[tokio::test]
async fn a_quota_url_holding_a_key_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = person(dir.path());
    command.env(
        "COMETAPI_QUOTA_URL",
        format!("ftp://x/user/quota?key={QUERY_KEY}"),
    );
    let refused = run(command, &["balance"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("COMETAPI_QUOTA_URL"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(QUERY_KEY), "{}", refused.stderr);
}

#[tokio::test]
async fn the_simulator_answers_the_balance_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let json = run(person(dir.path()), &["--simulate", "balance", "--json"]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.json()["simulated"], true);
    let doctor = run(person(dir.path()), &["--simulate", "doctor"]).await;
    assert_eq!(doctor.code, 0, "{}{}", doctor.stdout, doctor.stderr);
    assert!(
        doctor.stdout.contains("✔ CometAPI balance: $25.00 left"),
        "{}",
        doctor.stdout
    );
    assert!(
        !doctor.stdout.contains("the key is accepted"),
        "{}",
        doctor.stdout
    );
}

#[tokio::test]
async fn the_units_a_finished_task_billed_are_kept_and_shown() {
    let server = Harness::with(Setup {
        sim: Some(SimConfig::default()),
        key: Some(API_KEY),
        ..Setup::default()
    })
    .await;
    let done = server
        .run_job(json!({"prompt": "a cat", "aspect_ratio": "1:1"}))
        .await;
    let task = structured(&done);
    assert_eq!(task["status"], "succeed");
    assert_eq!(task["units"], 8.0, "{task}");
    assert!(text(&done).contains("8 units billed"), "{}", text(&done));
    let listed = server.call("list_video_tasks", json!({})).await;
    assert_eq!(structured(&listed)["tasks"][0]["units"], 8.0);
    server.stop().await;
}
