//! Memory of calls with large local images: a call holds about one copy of its encoded
//! payload, and concurrent calls share a fixed budget instead of multiplying it. Peak RSS
//! (`VmHWM`, Linux only) is a memory measure, not a timing one, so the bounds hold on a slow
//! machine too; they leave a wide margin over what the fixed server needs.
//!
//! Run with `cargo test --test it memory`.

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{Harness, Setup, assert_ok};

/// Seven images, the most a request takes.
const IMAGES: usize = 7;
/// Just under the API's 10 MB limit.
const LARGEST_FILE: usize = 9_990_000;

/// The encoded payload of a call with seven files of `file_bytes`: about 93 MB for the largest.
fn payload(file_bytes: usize) -> u64 {
    (IMAGES * file_bytes.div_ceil(3) * 4) as u64
}

/// Writes seven valid PNGs of `file_bytes` (a real header, then filler the server never
/// decodes).
fn write_images(dir: &std::path::Path, file_bytes: usize) -> Vec<String> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    (0..IMAGES)
        .map(|index| {
            let mut data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
            data.extend(1280u32.to_be_bytes());
            data.extend(720u32.to_be_bytes());
            data.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
            // Incompressible filler, as real pixels would be.
            while data.len() < file_bytes {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                data.extend(seed.to_le_bytes());
            }
            data.truncate(file_bytes);
            let path = dir.join(format!("frame{index}.png"));
            std::fs::write(&path, &data).unwrap();
            path.display().to_string()
        })
        .collect()
}

fn arguments(paths: &[String]) -> Value {
    let prompt: String = (1..=paths.len())
        .map(|n| format!("<<<image_{n}>>> "))
        .collect();
    json!({
        "prompt": prompt,
        "aspect_ratio": "1:1",
        "duration": 5,
        "image_list": paths.iter().map(|p| json!({"image_url": p})).collect::<Vec<_>>(),
    })
}

/// The server's peak resident memory so far, in bytes.
pub(crate) fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

async fn harness(dir: &std::path::Path) -> Harness {
    Harness::with(Setup {
        // The longest deadline there is: calls waiting for the image budget wait for the
        // others to be sent, which a debug build on a busy machine does slowly.
        args: vec![
            "--allow-dir".into(),
            dir.display().to_string(),
            "--call-deadline".into(),
            "59".into(),
        ],
        // Debug logs would format every request; the figures are for the default level.
        env: vec![("RUST_LOG", "info".into())],
        ..Setup::default()
    })
    .await
}

/// Checks that every create the simulator took carried the images' exact base64.
fn assert_payloads_arrived(h: &Harness, paths: &[String], calls: usize) {
    let expected: Vec<String> = paths
        .iter()
        .map(|p| {
            let data = std::fs::read(p).unwrap();
            let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
            kling_omni_mcp::simulator::elided(encoded.as_bytes())
        })
        .collect();
    let creates: Vec<_> = h
        .sim()
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(creates.len(), calls);
    for create in creates {
        let body = create.body.unwrap();
        for (index, expected) in expected.iter().enumerate() {
            assert_eq!(&body["image_list"][index]["image_url"], expected);
        }
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn one_call_with_seven_10_mb_images_holds_about_one_copy_of_its_payload() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_images(dir.path(), LARGEST_FILE);
    let payload = payload(LARGEST_FILE);
    let h = harness(dir.path()).await;
    let baseline = peak_rss(h.pid);
    let result = h.call("generate_video", arguments(&paths)).await;
    assert_ok(&result);
    let grown = peak_rss(h.pid).saturating_sub(baseline);
    eprintln!(
        "one call: payload {} MB, peak RSS grew {} MB (baseline {} MB)",
        payload / 1_000_000,
        grown / 1_000_000,
        baseline / 1_000_000
    );
    assert_payloads_arrived(&h, &paths, 1);
    // One copy of the payload, one piece of a file being read, and allocator slack; a second
    // copy of the payload (a cloned request, or the body serialised next to it) would not fit.
    assert!(
        grown < payload * 3 / 2,
        "peak RSS grew by {grown} bytes for a {payload}-byte payload"
    );
    h.stop().await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn eight_concurrent_calls_share_the_image_budget() {
    // Seven 3 MB files: 28 MB of base64 a call, 224 MB for eight, so the 160 MB budget admits
    // five calls at a time (smaller than the largest files so a debug build sends all eight
    // well within the call deadline).
    const FILE: usize = 3_000_000;
    let dir = tempfile::tempdir().unwrap();
    let paths = write_images(dir.path(), FILE);
    let payload = payload(FILE);
    let h = harness(dir.path()).await;
    let baseline = peak_rss(h.pid);
    let calls = (0..8).map(|_| h.call("generate_video", arguments(&paths)));
    for result in futures::future::join_all(calls).await {
        assert_ok(&result);
    }
    let grown = peak_rss(h.pid).saturating_sub(baseline);
    eprintln!(
        "eight calls: payload {} MB each, peak RSS grew {} MB (baseline {} MB)",
        payload / 1_000_000,
        grown / 1_000_000,
        baseline / 1_000_000
    );
    assert_payloads_arrived(&h, &paths, 8);
    // The budget, plus one file being read per call and allocator slack: eight calls at once
    // holding a copy each (224 MB), let alone two, would not fit.
    let budget = u64::from(kling_omni_mcp::server::IMAGE_BUDGET_BYTES);
    assert!(
        grown < budget + payload * 2,
        "peak RSS grew by {grown} bytes for eight calls of {payload} bytes each"
    );
    h.stop().await;
}
