//! The spend guard across processes: two servers on one SQLite store with
//! `KLING_MCP_MAX_VIDEOS_PER_DAY=5` take ten concurrent `generate_video` calls; exactly five
//! are bought and five are refused (`budget_exceeded`, with when to call again), and the
//! simulator saw exactly five creates. Run with `cargo test --test it spend::`.

use futures::future::join_all;
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::json;

use crate::support::{Harness, Setup, error_meta, structured, text};

#[tokio::test]
async fn ten_calls_from_two_processes_at_a_limit_of_five_buy_exactly_five() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tasks.sqlite3").display().to_string();
    let setup = |name: &str| Setup {
        sim: None,
        base_url: Some(sim.url().to_string()),
        args: vec![
            "--output-dir".into(),
            dir.path().join(name).display().to_string(),
        ],
        env: vec![
            ("KLING_MCP_STORE", store.clone()),
            ("KLING_MCP_MAX_VIDEOS_PER_DAY", "5".to_owned()),
        ],
        ..Setup::default()
    };
    let (a, b) = tokio::join!(Harness::with(setup("a")), Harness::with(setup("b")));
    let calls = (0..10).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        server.call(
            "generate_video",
            json!({"prompt": format!("a cat, take {i}"), "aspect_ratio": "1:1"}),
        )
    });
    let results = join_all(calls).await;
    let (bought, refused): (Vec<_>, Vec<_>) =
        results.iter().partition(|r| r.is_error != Some(true));
    assert_eq!(bought.len(), 5, "bought: {}", bought.len());
    for result in &bought {
        assert!(structured(result)["task_id"].is_string());
    }
    assert_eq!(refused.len(), 5);
    for result in &refused {
        let meta = error_meta(result);
        assert_eq!(meta["kind"], "budget_exceeded", "{}", text(result));
        assert_eq!(meta["retryable"], true);
        let retry = meta["retry_after_seconds"].as_u64().unwrap();
        assert!(retry > 0 && retry <= 24 * 3600, "{retry}");
        let message = text(result);
        for needle in [
            "5 videos per day",
            "KLING_MCP_MAX_VIDEOS_PER_DAY",
            "nothing was sent",
        ] {
            assert!(message.contains(needle), "{needle:?} missing: {message}");
        }
    }
    assert_eq!(
        sim.create_count(),
        5,
        "the simulator saw exactly five creates"
    );
    let listed = a.call("list_video_tasks", json!({"limit": 100})).await;
    assert_eq!(
        structured(&listed)["tasks"].as_array().unwrap().len(),
        5,
        "refusals leave no record"
    );
    a.stop().await;
    b.stop().await;
}

/// The same across two `--http` instances on one PostgreSQL database (as behind a load
/// balancer): the advisory lock per owner holds the limit.
#[tokio::test]
#[cfg_attr(
    not(kling_pg_tests),
    ignore = "needs PostgreSQL: set KLING_MCP_TEST_POSTGRES (README: Build from source and test)"
)]
async fn ten_calls_from_two_instances_on_postgresql_at_a_limit_of_five_buy_exactly_five() {
    use crate::http::{HttpServer, call};
    use crate::store_postgres::{admin_url, fresh_database};

    let Some(admin_url) = admin_url() else { return };
    let (_, store) = fresh_database(&admin_url).await;
    let sim = std::sync::Arc::new(Simulator::start(SimConfig::default()).await.unwrap());
    let env = [
        ("KLING_MCP_STORE", store.as_str()),
        ("KLING_MCP_MAX_VIDEOS_PER_DAY", "5"),
    ];
    let (a, b) = tokio::join!(
        HttpServer::start_on(&[], sim.clone(), &env),
        HttpServer::start_on(&[], sim.clone(), &env)
    );
    let (a, b) = (a.client().await, b.client().await);
    let calls = (0..10).map(|i| {
        let client = if i % 2 == 0 { &a } else { &b };
        call(
            client,
            "generate_video",
            json!({"prompt": format!("a dog, take {i}"), "aspect_ratio": "1:1"}),
        )
    });
    let results = join_all(calls).await;
    let refused: Vec<_> = results
        .iter()
        .filter(|r| r.is_error == Some(true))
        .collect();
    assert_eq!(refused.len(), 5, "refused: {}", refused.len());
    for result in refused {
        let meta = error_meta(result);
        assert_eq!(meta["kind"], "budget_exceeded", "{}", text(result));
        assert!(meta["retry_after_seconds"].as_u64().unwrap() > 0);
    }
    assert_eq!(sim.create_count(), 5);
}

/// `dry_run` says what a call would buy and what is left; `list_video_tasks` what was bought.
#[tokio::test]
async fn dry_run_shows_the_spend_and_the_allowance_and_the_list_the_usage() {
    let h = Harness::with(Setup {
        env: vec![
            ("KLING_MCP_MAX_VIDEOS_PER_DAY", "2".to_owned()),
            ("KLING_MCP_MAX_SECONDS_PER_DAY", "30".to_owned()),
        ],
        ..Setup::default()
    })
    .await;
    let ask = |dry_run: bool| json!({"prompt": "a cat", "aspect_ratio": "1:1", "duration": 10, "dry_run": dry_run});
    let preview = h.call("generate_video", ask(true)).await;
    let out = structured(&preview);
    assert_eq!(out["spend"]["videos"], 1);
    assert_eq!(out["spend"]["seconds"], 10);
    assert_eq!(out["spend"]["mode"], "text_to_video");
    assert!(out["spend"]["model"].is_string());
    assert_eq!(
        out["allowance"],
        json!({"videos_left": 2, "seconds_left": 30})
    );
    assert!(
        text(&preview).contains("It would buy 1 video of 10 s"),
        "{}",
        text(&preview)
    );
    assert_eq!(h.sim().create_count(), 0, "a dry run sends nothing");

    let bought = h.call("generate_video", ask(false)).await;
    assert!(structured(&bought)["task_id"].is_string());
    assert!(structured(&bought).get("spend").is_none(), "dry run only");
    let preview = h.call("generate_video", ask(true)).await;
    assert_eq!(
        structured(&preview)["allowance"],
        json!({"videos_left": 1, "seconds_left": 20})
    );
    let listed = h.call("list_video_tasks", json!({})).await;
    assert_eq!(
        structured(&listed)["usage_24h"],
        json!({"videos": 1, "seconds": 10})
    );
    h.stop().await;
}

/// The CLI: a refused `generate` exits 5 with the limit named and nothing sent; `list` and
/// `doctor` show the day's spend and the limits.
#[tokio::test]
async fn the_cli_exits_5_at_the_limit_and_list_and_doctor_show_the_spend() {
    use crate::support::{person, run};

    let dir = tempfile::tempdir().unwrap();
    let cli = || {
        let mut command = person(dir.path());
        command.env("KLING_MCP_MAX_VIDEOS_PER_DAY", "1");
        command
    };
    let args = [
        "generate",
        "--simulate",
        "--prompt",
        "a lighthouse",
        "--aspect-ratio",
        "16:9",
    ];
    let first = run(cli(), &args).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let dry = run(cli(), &[&args[..], &["--dry-run"]].concat()).await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stderr.contains("it would buy 1 video of 5 s") && dry.stderr.contains("0 videos"),
        "{}",
        dry.stderr
    );
    let second = run(cli(), &args).await;
    assert_eq!(second.code, 5, "{}", second.stderr);
    assert!(
        second.stderr.contains("KLING_MCP_MAX_VIDEOS_PER_DAY"),
        "{}",
        second.stderr
    );
    for sub in [&["list", "--simulate"][..], &["doctor", "--simulate"][..]] {
        let shown = run(cli(), sub).await;
        assert!(
            shown
                .stdout
                .contains("bought in the last 24 hours: 1 videos, 5 s (daily limits: 1 videos, no seconds limit)"),
            "{sub:?}: {}",
            shown.stdout
        );
    }
}

/// An MCP-task request at the limit gets the same refusal, and no task is created.
#[tokio::test]
async fn an_mcp_task_request_at_the_limit_is_refused_without_a_task() {
    use crate::tasks::{call_once, modern, submit_task};
    use rmcp::model::CallToolResponse;

    let mut setup = modern(true);
    setup
        .env
        .push(("KLING_MCP_MAX_VIDEOS_PER_DAY", "1".to_owned()));
    let h = Harness::with(setup).await;
    let ask = json!({"prompt": "a cat", "aspect_ratio": "1:1"});
    submit_task(&h, ask.clone()).await;
    match call_once(&h, "generate_video", ask).await {
        CallToolResponse::Complete(refused) => {
            assert_eq!(error_meta(&refused)["kind"], "budget_exceeded");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(h.sim().create_count(), 1);
    h.stop().await;
}
