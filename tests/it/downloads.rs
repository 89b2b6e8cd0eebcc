//! Downloads of result videos: only public addresses unless allowed, CDN redirects, per-task
//! caps, all or nothing, cancellation, the start-up sweep of orphaned temporary files, and which
//! files `resources/read` serves. Run with `cargo test --test it downloads`.

use std::path::{Path, PathBuf};

use kling_omni_mcp::simulator::{Endpoint, Fault, SAMPLE_MP4};
use rmcp::model::{ContentBlock, ReadResourceRequestParams};
use serde_json::{Value, json};

use crate::support::{Harness, Setup, assert_ok, structured};

/// Submits a task that is finished at its first poll; returns its id.
async fn submit(h: &Harness, directives: &str) -> String {
    let result = h
        .call(
            "generate_video",
            json!({"prompt": format!("a cat [sim:polls=1] {directives}"), "aspect_ratio": "16:9"}),
        )
        .await;
    assert_ok(&result);
    structured(&result)["task_id"].as_str().unwrap().to_owned()
}

/// `get_video_task` with `download: true`; returns its structured output.
async fn download(h: &Harness, task_id: &str) -> Value {
    let result = h
        .call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        )
        .await;
    assert_ok(&result);
    structured(&result).clone()
}

fn videos_dir(h: &Harness) -> PathBuf {
    h.data.path().join("videos")
}

/// Every file name in `dir` (none when it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn video_gets(h: &Harness) -> usize {
    h.sim()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/_sim/videos/"))
        .count()
}

fn error_of(out: &Value) -> String {
    out["download_error"]
        .as_str()
        .unwrap_or_else(|| panic!("a download error: {out}"))
        .to_owned()
}

#[tokio::test]
async fn loopback_and_metadata_urls_are_refused_without_the_flag() {
    let h = Harness::with(Setup {
        env: vec![("KLING_MCP_ALLOW_PRIVATE_DOWNLOADS", "false".into())],
        ..Setup::default()
    })
    .await;
    let port = h.sim().url().port().unwrap();
    // The simulator itself would answer the first two: only the refusal keeps them unfetched.
    let hostile = [
        format!("http://127.0.0.1:{port}/_sim/videos/secret.mp4"),
        format!("http://localhost:{port}/_sim/videos/secret.mp4"),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
        // Octal spelling of 127.0.0.1: the URL parser normalises it to the literal address.
        format!("http://0177.0.0.1:{port}/_sim/videos/secret.mp4"),
    ];
    for url in hostile {
        let task_id = submit(&h, &format!("[sim:video_url={url}]")).await;
        let out = download(&h, &task_id).await;
        let error = error_of(&out);
        assert!(
            error.contains("refused") && error.contains("public addresses"),
            "{url}: {error}"
        );
        assert!(error.contains("--allow-private-downloads"), "{error}");
        assert_eq!(out["videos"][0]["url"], url.as_str(), "the URL is kept");
        assert!(out.get("local_files").is_none_or(|f| f == &json!([])));
    }
    assert_eq!(video_gets(&h), 0, "nothing reached the loopback server");
    assert!(names(&videos_dir(&h)).is_empty());
    h.stop().await;
}

#[tokio::test]
async fn a_cdn_redirect_is_followed() {
    let h = Harness::start().await;
    let task_id = submit(&h, "[sim:redirect]").await;
    let out = download(&h, &task_id).await;
    assert!(out.get("download_error").is_none(), "{out}");
    let path = out["local_files"][0]["path"].as_str().unwrap();
    assert_eq!(
        std::fs::metadata(path).unwrap().len(),
        SAMPLE_MP4.len() as u64
    );
    let paths: Vec<String> = h.sim().requests().into_iter().map(|r| r.path).collect();
    assert!(paths.contains(&format!("/_sim/redirect/{task_id}.mp4")));
    assert!(paths.contains(&format!("/_sim/videos/{task_id}.mp4")));
    h.stop().await;
}

#[tokio::test]
async fn a_reply_with_too_many_videos_downloads_none() {
    let h = Harness::start().await;
    let task_id = submit(&h, "[sim:videos=50]").await;
    let out = download(&h, &task_id).await;
    let error = error_of(&out);
    assert!(
        error.contains("50 videos") && error.contains("--max-videos-per-task"),
        "{error}"
    );
    assert_eq!(out["videos"].as_array().unwrap().len(), 50);
    assert_eq!(video_gets(&h), 0);
    assert!(names(&videos_dir(&h)).is_empty());
    h.stop().await;
}

#[tokio::test]
async fn the_byte_cap_covers_all_videos_of_a_task() {
    let h = Harness::with(Setup {
        args: vec!["--max-download-bytes".into(), "40000".into()],
        ..Setup::default()
    })
    .await;
    // One 26 KB video fits; two do not, and then neither is kept.
    let one = submit(&h, "").await;
    assert!(download(&h, &one).await["local_files"][0]["path"].is_string());
    let two = submit(&h, "[sim:videos=2]").await;
    let error = error_of(&download(&h, &two).await);
    assert!(
        error.contains("40000 bytes") && error.contains("--max-download-bytes"),
        "{error}"
    );
    assert_eq!(names(&videos_dir(&h)), [format!("{one}.mp4")]);
    h.stop().await;
}

#[tokio::test]
async fn when_the_fourth_video_fails_none_of_the_four_is_kept() {
    let h = Harness::start().await;
    let task_id = submit(&h, "[sim:videos=4] [sim:expired=4]").await;
    let out = download(&h, &task_id).await;
    let error = error_of(&out);
    assert!(
        error.contains("HTTP 403") && error.contains("Nothing was saved"),
        "{error}"
    );
    assert_eq!(video_gets(&h), 4, "three fetched, the fourth refused");
    assert!(names(&videos_dir(&h)).is_empty(), "all or nothing");
    assert!(h.client.list_all_resources().await.unwrap().is_empty());

    // Four that all arrive are all kept, named after the task.
    let task_id = submit(&h, "[sim:videos=4]").await;
    let out = download(&h, &task_id).await;
    assert_eq!(out["local_files"].as_array().unwrap().len(), 4, "{out}");
    let mut expected: Vec<String> = ["", "-2", "-3", "-4"]
        .iter()
        .map(|suffix| format!("{task_id}{suffix}.mp4"))
        .collect();
    expected.sort();
    assert_eq!(names(&videos_dir(&h)), expected);
    h.stop().await;
}

#[tokio::test]
async fn cancelling_a_download_stops_it_and_removes_the_partial_file() {
    let h = Harness::start().await;
    let task_id = submit(&h, "").await;
    h.sim().inject(Endpoint::Video, Fault::Stall, 1);
    {
        let call = h.call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        );
        tokio::pin!(call);
        tokio::select! {
            _ = &mut call => panic!("the stalled download finished"),
            () = h.sim().wait_until(|log| log.iter().any(|r| r.path.starts_with("/_sim/videos/"))) => {}
        }
        // The temporary file is created before the request is sent.
        let partial = names(&videos_dir(&h));
        assert!(
            partial.len() == 1 && partial[0].ends_with(".partial"),
            "{partial:?}"
        );
        // Dropping the call makes rmcp's client send notifications/cancelled.
    }
    h.wait_for_log("the download was cancelled").await;
    assert!(
        names(&videos_dir(&h)).is_empty(),
        "the partial file is gone"
    );
    // The call's slot is free again, and the next download succeeds.
    let out = download(&h, &task_id).await;
    assert!(out["local_files"][0]["path"].is_string(), "{out}");
    assert_eq!(names(&videos_dir(&h)), [format!("{task_id}.mp4")]);
    h.stop().await;
}

#[tokio::test]
async fn orphaned_partial_files_are_removed_at_start_and_live_ones_kept() {
    let data = tempfile::tempdir().unwrap();
    let videos = data.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    let orphan = ".881.mp4.0123456789abcdef0123456789abcdef.partial";
    let live = ".882.mp4.fedcba9876543210fedcba9876543210.partial";
    let keep = ["881.mp4", ".notes.partial", "notes.txt"];
    for name in [orphan, live].iter().chain(&keep) {
        std::fs::write(videos.join(name), b"x").unwrap();
    }
    // Another process's download in flight holds its file locked.
    let held = std::fs::OpenOptions::new()
        .write(true)
        .open(videos.join(live))
        .unwrap();
    held.lock().unwrap();
    let h = Harness::with(Setup {
        data: Some(data),
        ..Setup::default()
    })
    .await;
    // The sweep runs before the server answers `initialize`.
    let mut expected: Vec<String> = keep.iter().map(|n| (*n).to_owned()).collect();
    expected.push(live.to_owned());
    expected.sort();
    assert_eq!(names(&videos_dir(&h)), expected);
    let log = h.stop().await;
    assert!(
        log.contains("removed temporary download files left by a stopped process"),
        "{log}"
    );
    drop(held);
}

/// Points the stored record of `task_id` at `files`, as a hostile or confused process could.
fn set_local_files(store: &Path, task_id: &str, files: &[String]) {
    let conn = rusqlite::Connection::open(store).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let list = serde_json::to_string(files).unwrap();
    let changed = conn
        .execute(
            "UPDATE tasks SET local_files = ?1 WHERE task_id = ?2",
            rusqlite::params![list, task_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

pub(crate) fn resource_link(result: &rmcp::model::CallToolResult) -> String {
    result
        .content
        .iter()
        .find_map(|c| match c {
            ContentBlock::ResourceLink(resource) => Some(resource.uri.clone()),
            _ => None,
        })
        .expect("a resource_link")
}

fn file_uri(path: &Path) -> String {
    reqwest::Url::from_file_path(path).unwrap().to_string()
}

#[tokio::test]
async fn resources_read_serves_only_regular_files_inside_the_output_dir() {
    let h = Harness::start().await;
    let task_id = submit(&h, "").await;
    download(&h, &task_id).await;
    let videos = videos_dir(&h);
    let outside = h.data.path().join("outside.mp4");
    std::fs::write(&outside, b"not yours").unwrap();
    let link = videos.join("link.mp4");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let sub = videos.join("sub.mp4");
    std::fs::create_dir(&sub).unwrap();
    let named = [
        PathBuf::from("/proc/self/environ"),
        outside.clone(),
        link.clone(),
        sub.clone(),
        videos.join("..").join("outside.mp4"),
    ];
    let list: Vec<String> = named.iter().map(|p| p.display().to_string()).collect();
    set_local_files(&h.data.path().join("tasks.sqlite3"), &task_id, &list);

    let listed = h.client.list_all_resources().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    for path in &named {
        let read = h
            .client
            .read_resource(ReadResourceRequestParams::new(file_uri(path)))
            .await;
        assert!(read.is_err(), "{} must not be served", path.display());
    }
    h.stop().await;
}

#[tokio::test]
async fn a_video_downloaded_by_one_process_is_readable_from_another() {
    let a = Harness::start().await;
    let task_id = submit(&a, "").await;
    let result = a
        .call(
            "get_video_task",
            json!({"task_id": task_id, "download": true}),
        )
        .await;
    assert_ok(&result);
    let uri = resource_link(&result);
    // B shares A's task store and output directory, and has downloaded nothing itself.
    let b = Harness::with(Setup {
        sim: None,
        base_url: Some(a.sim().url().to_string()),
        env: vec![
            (
                "KLING_MCP_STORE",
                a.data.path().join("tasks.sqlite3").display().to_string(),
            ),
            ("KLING_MCP_OUTPUT_DIR", videos_dir(&a).display().to_string()),
        ],
        ..Setup::default()
    })
    .await;
    let listed = b.client.list_all_resources().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].uri, uri);
    let read = b
        .client
        .read_resource(ReadResourceRequestParams::new(uri.clone()))
        .await
        .unwrap();
    let contents = serde_json::to_value(&read).unwrap();
    assert_eq!(contents["contents"][0]["uri"], uri.as_str());
    assert_eq!(contents["contents"][0]["mimeType"], "video/mp4");
    let blob = contents["contents"][0]["blob"].as_str().unwrap();
    assert_eq!(blob.len(), SAMPLE_MP4.len().div_ceil(3) * 4);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_cli_reports_download_failed_with_its_own_advice() {
    let sim = kling_omni_mcp::simulator::Simulator::start(Default::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = tokio::process::Command::new(crate::support::BIN)
        .args(["generate", "--prompt", "a cat [sim:polls=1]"])
        .args(["--aspect-ratio", "1:1", "--download", out.to_str().unwrap()])
        .env("COMETAPI_BASE_URL", sim.url().as_str())
        .env("COMETAPI_KEY", crate::support::TEST_KEY)
        .env("KLING_MCP_POLL_MIN", "0.02")
        .env("KLING_MCP_STORE", "off")
        .env("XDG_DATA_HOME", dir.path())
        .env_remove("KLING_MCP_ALLOW_PRIVATE_DOWNLOADS")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The simulator is on loopback, which downloads refuse without the flag.
    assert!(stderr.contains("error [download_failed]"), "{stderr}");
    assert!(stderr.contains("--allow-private-downloads"), "{stderr}");
    assert!(!stderr.contains("COMETAPI_BASE_URL"), "{stderr}");
    assert_eq!(output.status.code(), Some(3));
    assert!(names(&out).is_empty());
}
