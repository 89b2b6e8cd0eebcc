//! The HTTP transport under attack: remote roots, slow clients, auth spelling, session races.

use serde_json::json;

use crate::http::{HttpServer, TOKEN, call};
use crate::support::{TestClient, assert_ok, error_meta, text};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

/// A PNG header with the given size (the server reads sizes from headers only).
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    data.extend(width.to_be_bytes());
    data.extend(height.to_be_bytes());
    data.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    data
}

#[tokio::test]
async fn a_remote_clients_roots_do_not_widen_what_the_server_reads() {
    let allowed = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = elsewhere.path().join("secret.png");
    std::fs::write(&secret, png(800, 800)).unwrap();
    let server = HttpServer::start(&["--allow-dir", &allowed.path().display().to_string()]).await;
    // The client claims the whole disk of the server as its root.
    let config =
        StreamableHttpClientTransportConfig::with_uri(server.url.as_str()).auth_header(TOKEN);
    let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
    let client = TestClient::with_roots(vec!["file:///".into()])
        .serve(transport)
        .await
        .unwrap();
    let result = call(
        &client,
        "generate_video",
        json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1",
               "image_list": [{"image_url": secret.display().to_string()}]}),
    )
    .await;
    assert_eq!(error_meta(&result)["field"], "image_list[0].image_url");
    assert!(
        text(&result).contains("outside the allowed directories"),
        "{}",
        text(&result)
    );
    assert!(
        server.sim.requests().is_empty(),
        "nothing was sent upstream"
    );
    // Inside --allow-dir still works over HTTP.
    let inside = allowed.path().join("ok.png");
    std::fs::write(&inside, png(800, 800)).unwrap();
    let result = call(
        &client,
        "generate_video",
        json!({"prompt": "<<<image_1>>>", "aspect_ratio": "1:1", "dry_run": true,
               "image_list": [{"image_url": inside.display().to_string()}]}),
    )
    .await;
    assert_ok(&result);
    client.cancel().await.unwrap();
}
