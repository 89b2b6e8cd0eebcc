//! Kling 3.0 Omni from the CLI: `--model kling-v3-omni --sound --shot SECS:PROMPT` sends the
//! storyboard fixture exactly and runs to `succeed`; `--auto-shots` asks for `intelligence`.

use kling_omni_mcp::simulator::{SimConfig, Simulator};
use serde_json::Value;

use crate::cli::command;
use crate::support::run;

const STORYBOARD: &[&str] = &[
    "generate",
    "--model",
    "kling-v3-omni",
    "--mode",
    "pro",
    "--aspect-ratio",
    "16:9",
    "--sound",
    "--shot",
    "2:A paper boat is set down on a still pond at dawn, close-up",
    "--shot",
    "3:The boat drifts toward the rising sun, wide shot, birdsong",
    "--external-task-id",
    "kmcp-9c41d2e07a6b3f18",
];

fn fixture() -> Value {
    serde_json::from_str(include_str!(
        "../fixtures/comet/requests/v3_multi_shot_sound.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn a_storyboard_with_sound_is_the_fixture_and_runs_to_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let dry = run(
        command(None, &store_path),
        &[STORYBOARD, &["--dry-run"]].concat(),
    )
    .await;
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let shown: Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(shown, fixture(), "the dry run shows the fixture");

    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let done = run(
        command(Some(&sim), &store_path),
        &[STORYBOARD, &["--wait", "--json"]].concat(),
    )
    .await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    let json: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(json["status"], "succeed");
    let sent: Vec<Value> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.body)
        .collect();
    assert_eq!(sent, vec![fixture()], "exactly the fixture is sent");
    let listed = run(command(Some(&sim), &store_path), &["list"]).await;
    assert!(
        listed.stdout.contains("[v3, sound, 2 shots] A paper boat"),
        "{}",
        listed.stdout
    );
}

#[tokio::test]
async fn auto_shots_and_v3_flags_with_o1_are_named_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("tasks.sqlite3");
    let auto = run(
        command(None, &store_path),
        &[
            "generate",
            "--model",
            "kling-v3-omni",
            "--prompt",
            "a storm rolls in",
            "--aspect-ratio",
            "16:9",
            "--duration",
            "15",
            "--auto-shots",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(auto.code, 0, "{}", auto.stderr);
    let body: Value = serde_json::from_str(&auto.stdout).unwrap();
    assert_eq!(
        (&body["multi_shot"], &body["shot_type"], &body["duration"]),
        (
            &Value::Bool(true),
            &Value::from("intelligence"),
            &Value::from("15")
        )
    );
    let o1 = run(
        command(None, &store_path),
        &[
            "generate",
            "--prompt",
            "p",
            "--aspect-ratio",
            "16:9",
            "--sound",
            "--shot",
            "5:x",
        ],
    )
    .await;
    assert_eq!(o1.code, 2, "{}", o1.stderr);
    for flag in ["`--sound`", "`--shot`", "`--shot/--auto-shots`"] {
        assert!(o1.stderr.contains(flag), "{flag}: {}", o1.stderr);
    }
}

#[tokio::test]
async fn an_account_without_v3_is_told_to_use_o1() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let refused = run(
        command(Some(&sim), &dir.path().join("tasks.sqlite3")),
        &[
            "generate",
            "--model",
            "kling-v3-omni",
            "--prompt",
            "x [sim:error=1103]",
            "--aspect-ratio",
            "16:9",
        ],
    )
    .await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("not enabled for this account")
            && refused.stderr.contains("--model kling-video-o1"),
        "{}",
        refused.stderr
    );
}
