//! Local image paths become bare base64, read only inside the allowed directories or the
//! client's MCP roots.

use base64::Engine;
use serde_json::json;

use crate::http_hardening::png;
use crate::support::{Harness, Setup, assert_ok, error_meta, structured, text};

async fn with_allowed_dir(dir: &std::path::Path) -> Harness {
    Harness::with(Setup {
        args: vec!["--allow-dir".into(), dir.display().to_string()],
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn a_local_png_is_sent_as_bare_base64() {
    let dir = tempfile::tempdir().unwrap();
    let data = png(1280, 720);
    std::fs::write(dir.path().join("keeper.png"), &data).unwrap();
    let h = with_allowed_dir(dir.path()).await;
    for path in [
        dir.path().join("keeper.png").display().to_string(),
        "keeper.png".to_owned(),
    ] {
        let result = h
            .call(
                "generate_video",
                json!({"prompt": "The keeper steps out", "image_list": [{"image_url": path, "type": "first_frame"}]}),
            )
            .await;
        assert_ok(&result);
    }
    let expected = base64::engine::general_purpose::STANDARD.encode(&data);
    for request in h.sim().requests() {
        assert_eq!(
            request.body.unwrap()["image_list"][0]["image_url"],
            expected
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn unusable_local_files_are_refused_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.png"), b"plain text, not a picture").unwrap();
    std::fs::write(dir.path().join("tiny.png"), png(100, 100)).unwrap();
    std::fs::write(outside.path().join("secret.png"), png(800, 800)).unwrap();
    let h = with_allowed_dir(dir.path()).await;
    let outside_path = outside.path().join("secret.png").display().to_string();
    let cases = [
        ("notes.png", "not a PNG or JPEG"),
        ("tiny.png", "at least 300 px"),
        ("missing.png", "not found"),
        (outside_path.as_str(), "outside the allowed directories"),
    ];
    for (path, reason) in cases {
        let result = h
            .call(
                "generate_video",
                json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1", "image_list": [{"image_url": path}]}),
            )
            .await;
        let meta = error_meta(&result);
        assert_eq!(meta["field"], "image_list[0].image_url", "{path}");
        assert!(text(&result).contains(reason), "{path}: {}", text(&result));
        assert_eq!(
            meta["violations"].as_array().unwrap().len(),
            1,
            "reported once: {}",
            text(&result)
        );
    }
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "p", "video_list": [{"video_url": "./clip.mp4"}]}),
        )
        .await;
    assert!(
        text(&result).contains("needs a public URL for videos"),
        "{}",
        text(&result)
    );
    assert!(h.sim().requests().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn the_clients_mcp_roots_are_allowed_too() {
    let configured = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    let image = shared.path().join("style.png");
    std::fs::write(&image, png(600, 900)).unwrap();
    let root_uri = format!("file://{}", shared.path().display());
    let h = Harness::with(Setup {
        args: vec![
            "--allow-dir".into(),
            configured.path().display().to_string(),
        ],
        roots: vec![root_uri],
        ..Setup::default()
    })
    .await;
    let result = h
        .call(
            "generate_video",
            json!({"prompt": "in the style of <<<image_1>>>", "aspect_ratio": "9:16", "dry_run": true,
                   "image_list": [{"image_url": image.display().to_string()}]}),
        )
        .await;
    assert_ok(&result);
    let body = &structured(&result)["request_body"];
    assert!(
        body["image_list"][0]["image_url"]
            .as_str()
            .unwrap()
            .starts_with("<base64 image data")
    );
    h.stop().await;
}
