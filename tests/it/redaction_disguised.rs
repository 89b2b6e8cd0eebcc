//! A hostile upstream that echoes the key disguised (issue 24, finding 11): upper-cased,
//! base64 at each byte offset inside a longer blob, percent- and hex-encoded, split by a
//! newline, a zero-width space, a soft hyphen or a word joiner. None of it reaches a tool
//! result or the log. Run with `cargo test --test it redaction_disguised::`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Harness, Setup, text};

const KEY: &str = "sk-Disguised-8c1f4e7a2b9d3c6f";

/// Every disguise of `key` the fake echoes, each with a name.
fn disguises(key: &str) -> Vec<(&'static str, String)> {
    let split = |separator: &str| {
        let (a, b) = key.split_at(key.len() / 2);
        format!("{a}{separator}{b}")
    };
    let spread = |separator: &str| {
        key.chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(separator)
    };
    vec![
        ("upper-cased", key.to_uppercase()),
        ("base64", STANDARD.encode(key)),
        ("base64 offset 1", STANDARD.encode(format!("x{key}yz"))),
        (
            "base64 offset 2",
            URL_SAFE_NO_PAD.encode(format!("Bearer {key}")),
        ),
        (
            "percent-encoded",
            key.bytes().map(|b| format!("%{b:02X}")).collect(),
        ),
        ("hex", key.bytes().map(|b| format!("{b:02x}")).collect()),
        ("split by a newline", split("\n")),
        ("split by a zero-width space", spread("\u{200b}")),
        ("split by a soft hyphen", split("\u{ad}")),
        ("split by a word joiner", spread("\u{2060}")),
    ]
}

/// A CometAPI that answers everything with 401 and the presented key in every disguise.
async fn hostile_upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then as much body as Content-Length says.
                let head_end = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_string();
                let header = |name: &str| {
                    head.lines().find_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.eq_ignore_ascii_case(name)
                            .then(|| value.trim().to_owned())
                    })
                };
                let length: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let presented = header("authorization").unwrap_or_default();
                let key = presented.strip_prefix("Bearer ").unwrap_or(&presented);
                let echoes: Vec<String> = disguises(key)
                    .into_iter()
                    .map(|(name, shown)| format!("{name}: <{shown}>"))
                    .collect();
                let body =
                    json!({"error": {"message": format!("invalid token; {}", echoes.join("; ")),
                    "type": "comet_api_error", "code": ""}})
                    .to_string();
                let reply = format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

/// Which disguises of the key can still be read in `shown` (as sent, or JSON-escaped).
fn surviving(shown: &str) -> Vec<&'static str> {
    disguises(KEY)
        .into_iter()
        .filter(|(_, disguise)| {
            let escaped = serde_json::to_string(disguise).unwrap();
            let escaped = escaped.trim_matches('"');
            let escaped_controls: String = disguise
                .chars()
                .map(|c| match c.is_control() {
                    true => c.escape_default().to_string(),
                    false => c.to_string(),
                })
                .collect();
            let fragments = [disguise.as_str(), escaped, escaped_controls.as_str()];
            fragments.iter().any(|f| shown.contains(f))
        })
        .map(|(name, _)| name)
        .collect()
}

#[tokio::test]
async fn a_key_echoed_in_disguise_reaches_no_result_and_no_log() {
    let upstream = hostile_upstream().await;
    let h = Harness::with(Setup {
        sim: None,
        base_url: Some(upstream),
        key: Some(KEY),
        ..Setup::default()
    })
    .await;
    let mut shown = String::new();
    for (tool, args) in [
        (
            "generate_video",
            json!({"prompt": "a", "aspect_ratio": "1:1"}),
        ),
        ("get_video_task", json!({"task_id": "880000000000000001"})),
    ] {
        let result = h.call(tool, args).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        // The upstream's message did come through, with every echo masked.
        assert!(text(&result).contains("[redacted]"), "{}", text(&result));
        assert!(text(&result).contains("upper-cased"), "{}", text(&result));
        shown.push_str(&serde_json::to_string(&result).unwrap());
    }
    let stderr = h.stop().await;
    assert_eq!(
        surviving(&shown),
        Vec::<&str>::new(),
        "tool results: {shown}"
    );
    assert_eq!(surviving(&stderr), Vec::<&str>::new(), "log: {stderr}");
    // The check itself sees every disguise in what the upstream sent.
    let sent: String = disguises(KEY)
        .iter()
        .map(|(_, d)| format!("{d} "))
        .collect();
    assert_eq!(surviving(&sent).len(), disguises(KEY).len());
}
