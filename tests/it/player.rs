//! The MCP Apps player (issue 22): offered only to clients that declare
//! `io.modelcontextprotocol/ui`, at initialize (2025-11-25) or per request (2026-07-28); the
//! view document, its CSP and border hint; the server icon.

use kling_omni_mcp::server::{APP_MIME, PLAYER_URI};
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::Value;

use crate::support::{Harness, Setup};

fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, sorted(v)))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

async fn tools_json(h: &Harness) -> Value {
    let mut tools = h.client.list_all_tools().await.unwrap();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    sorted(serde_json::to_value(&tools).unwrap())
}

fn resource_uri(tools: &Value, name: &str) -> Option<String> {
    let tool = tools.as_array()?.iter().find(|t| t["name"] == name)?;
    tool["_meta"]["ui"]["resourceUri"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_client_with_apps_sees_the_player_on_the_task_tools() {
    let h = Harness::with(Setup {
        ui: true,
        ..Setup::default()
    })
    .await;
    let tools = tools_json(&h).await;
    insta::assert_json_snapshot!("tools_list_with_ui", tools);
    assert_eq!(
        resource_uri(&tools, "generate_video").as_deref(),
        Some(PLAYER_URI)
    );
    assert_eq!(
        resource_uri(&tools, "get_video_task").as_deref(),
        Some(PLAYER_URI)
    );
    assert_eq!(resource_uri(&tools, "list_video_tasks"), None);
    let listed = h.client.list_all_resources().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|r| r.uri == PLAYER_URI && r.mime_type.as_deref() == Some(APP_MIME))
    );
    h.stop().await;
}

#[tokio::test]
async fn a_client_without_apps_sees_neither_the_player_nor_tool_icons() {
    let h = Harness::start().await;
    let tools = tools_json(&h).await;
    for tool in tools.as_array().unwrap() {
        assert!(
            tool.get("_meta").is_none() && tool.get("icons").is_none(),
            "{tool}"
        );
    }
    assert!(h.client.list_all_resources().await.unwrap().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn under_2026_07_28_the_extension_is_read_from_each_request() {
    for ui in [false, true] {
        let h = Harness::with(Setup {
            ui,
            modern: true,
            ..Setup::default()
        })
        .await;
        let tools = tools_json(&h).await;
        assert_eq!(
            resource_uri(&tools, "get_video_task").is_some(),
            ui,
            "ui: {ui}"
        );
        h.stop().await;
    }
}

#[tokio::test]
async fn the_view_is_one_html_document_with_its_csp_and_border_hint() {
    let h = Harness::with(Setup {
        ui: true,
        args: vec![
            "--player-origins".into(),
            "https://a.example, https://b.example".into(),
        ],
        ..Setup::default()
    })
    .await;
    let read = h
        .client
        .read_resource(ReadResourceRequestParams::new(PLAYER_URI))
        .await
        .unwrap();
    let [
        ResourceContents::TextResourceContents {
            uri,
            mime_type,
            text,
            meta,
        },
    ] = read.contents.as_slice()
    else {
        panic!("one text document expected: {read:?}");
    };
    assert_eq!(uri, PLAYER_URI);
    assert_eq!(mime_type.as_deref(), Some(APP_MIME));
    assert!(text.starts_with("<!doctype html>"));
    assert!(text.len() < 40_000, "small: {} bytes", text.len());
    for outside in ["<script src", "<link", "@import", "url(http"] {
        assert!(!text.contains(outside), "self-contained, but has {outside}");
    }
    let ui = &serde_json::to_value(meta).unwrap()["ui"];
    assert_eq!(
        ui["csp"]["resourceDomains"],
        serde_json::json!(["https://a.example", "https://b.example"])
    );
    assert_eq!(ui["prefersBorder"], true);
    h.stop().await;
}

#[tokio::test]
async fn no_player_turns_the_view_off() {
    let h = Harness::with(Setup {
        ui: true,
        args: vec!["--no-player".into()],
        ..Setup::default()
    })
    .await;
    let tools = tools_json(&h).await;
    assert_eq!(resource_uri(&tools, "generate_video"), None);
    let read = h
        .client
        .read_resource(ReadResourceRequestParams::new(PLAYER_URI))
        .await;
    assert!(read.is_err(), "{read:?}");
    h.stop().await;
}

#[tokio::test]
async fn the_server_has_an_svg_icon() {
    let h = Harness::start().await;
    let info = h.client.peer_info().unwrap();
    let icons = info.server_info.clone().unwrap().icons.unwrap();
    assert_eq!(icons[0].mime_type.as_deref(), Some("image/svg+xml"));
    assert!(icons[0].src.starts_with("data:image/svg+xml;base64,"));
    h.stop().await;
}
