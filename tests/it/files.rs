//! The files this program keeps and makes (issue 24): a task store other users may change is
//! refused with the fix (and `doctor` says so), what it creates is private, a FIFO named like
//! a temporary download cannot hang the start, and a wait on a made-up task id leaves no poll
//! row. Run with `cargo test --test it files::`.

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;

use serde_json::json;

use crate::support::{Harness, Setup, assert_ok, error_meta, person, run, structured};

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_store_other_users_may_write_is_refused_with_the_fix_and_doctor_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("tasks.sqlite3");
    let listed = run(person(dir.path()), &["list", "--simulate"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert_eq!(mode_of(&store), 0o600, "created private");

    set_mode(&store, 0o666);
    let refused = run(person(dir.path()), &["list", "--simulate"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let fix = format!("chmod go-w {}", store.display());
    assert!(
        refused
            .stderr
            .contains("can be written by other users (mode 0666)")
            && refused.stderr.contains(&fix),
        "{}",
        refused.stderr
    );
    let doctor = run(person(dir.path()), &["doctor", "--simulate"]).await;
    assert_eq!(doctor.code, 3, "{}", doctor.stdout);
    assert!(
        doctor.stdout.contains("✘ task store") && doctor.stdout.contains(&fix),
        "{}",
        doctor.stdout
    );
    assert_eq!(mode_of(&store), 0o666, "left for its owner to fix");

    set_mode(&store, 0o600);
    let doctor = run(person(dir.path()), &["doctor", "--simulate"]).await;
    assert!(
        doctor.stdout.contains(&format!(
            "✔ task store {} and its folder can be changed by no other user",
            store.display()
        )),
        "{}",
        doctor.stdout
    );
}

/// Generates a video and downloads it; returns the saved file.
async fn one_video(h: &Harness) -> std::path::PathBuf {
    let submitted = h
        .call(
            "generate_video",
            json!({"prompt": "a cat [sim:polls=1]", "aspect_ratio": "1:1"}),
        )
        .await;
    assert_ok(&submitted);
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = h
        .call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        )
        .await;
    assert_ok(&got);
    structured(&got)["local_files"][0]["path"]
        .as_str()
        .unwrap()
        .into()
}

#[tokio::test]
async fn what_it_creates_is_private_and_a_given_folder_keeps_its_mode() {
    // Nothing exists yet: the folders it makes are 0700, the files 0600.
    let h = Harness::start().await;
    let video = one_video(&h).await;
    let data = h.data.path();
    assert_eq!(video.parent().unwrap(), data.join("videos"));
    assert_eq!(mode_of(&data.join("videos")), 0o700);
    assert_eq!(mode_of(&video), 0o600);
    assert_eq!(mode_of(&data.join("tasks.sqlite3")), 0o600);
    // The per-user data folder (the task secret's) under XDG_DATA_HOME.
    assert_eq!(mode_of(&data.join("kling-omni-mcp")), 0o700);
    h.stop().await;

    // A folder the user made (and may share on purpose) is used as it is.
    let data = tempfile::tempdir().unwrap();
    let given = data.path().join("videos");
    std::fs::create_dir(&given).unwrap();
    set_mode(&given, 0o755);
    let h = Harness::with(Setup {
        data: Some(data),
        ..Setup::default()
    })
    .await;
    let video = one_video(&h).await;
    assert_eq!(mode_of(&given), 0o755);
    assert_eq!(mode_of(&video), 0o600);
    h.stop().await;
}

/// A FIFO named like an orphaned temporary download, in a shared output folder: the start-up
/// sweep once opened it for writing, which waits for a reader for ever (and the server never
/// answered `initialize`). A reader is held open here so the old code could not hang this
/// test: it then deleted the FIFO instead, which this test also refuses.
#[tokio::test]
async fn a_fifo_named_like_a_partial_download_is_left_alone_at_start() {
    let data = tempfile::tempdir().unwrap();
    let videos = data.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let fifo = videos.join(".881.mp4.0123456789abcdef0123456789abcdef.partial");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = rustix::fs::open(
        &fifo,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    // Harness::with returns once the server answered `initialize`, after the sweep.
    let h = Harness::with(Setup {
        data: Some(data),
        ..Setup::default()
    })
    .await;
    h.wait_for_log("left alone: named like a temporary download but not one")
        .await;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO is neither opened nor removed"
    );
    assert_ok(&h.call("list_video_tasks", json!({})).await);
    h.stop().await;
    drop(reader);
}

/// Each wait on a made-up task id once left a row in the shared poll table until a start a
/// day later pruned it.
#[tokio::test]
async fn a_wait_on_a_made_up_task_id_leaves_no_poll_row() {
    let h = Harness::start().await;
    for (id, args) in [
        (
            "123456789012345678",
            json!({"task_id": "123456789012345678"}),
        ),
        (
            "223456789012345678",
            json!({"task_id": "223456789012345678", "wait_seconds": 5}),
        ),
    ] {
        let result = h.call("get_video_task", args).await;
        assert_eq!(error_meta(&result)["kind"], "not_found", "{id}");
    }
    let conn = rusqlite::Connection::open(h.data.path().join("tasks.sqlite3")).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM polls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows, 0,
        "no poll row is left for a task that does not exist"
    );
    // A real task's wait still shares its poll (its row stays for the other waiters).
    let submitted = h
        .call(
            "generate_video",
            json!({"prompt": "a cat [sim:polls=1]", "aspect_ratio": "1:1"}),
        )
        .await;
    let task_id = structured(&submitted)["task_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(
        &h.call(
            "get_video_task",
            json!({"task_id": task_id, "wait_seconds": 5}),
        )
        .await,
    );
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM polls", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    h.stop().await;
}
