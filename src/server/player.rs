//! The MCP Apps player (SEP-1865, extension `io.modelcontextprotocol/ui`): a small HTML view a
//! host shows next to `generate_video` and `get_video_task` results, and the server icon
//! (SEP-973).
//!
//! Only a client that declares the extension sees any of it in `tools/list` and
//! `resources/list`: at `initialize` (protocol 2025-11-25) or in each request's `_meta`
//! (2026-07-28). Every other client gets exactly the answers it got before the player existed.

use rmcp::model::{
    Icon, MetaObject, ReadResourceRequestParams, ReadResourceResult, Resource, ResourceContents,
    Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::json;

use super::KlingServer;

/// The extension id a client declares to get the player.
pub const UI_EXTENSION: &str = "io.modelcontextprotocol/ui";

/// Where the player is read from.
pub const PLAYER_URI: &str = "ui://kling-omni-mcp/player.html";

/// The MIME type MCP Apps hosts render as a view.
pub const APP_MIME: &str = "text/html;profile=mcp-app";

/// Origins Kling videos are served from through CometAPI (Kling's CDN hosts, and CometAPI's
/// own), allowed as media sources by the view's Content Security Policy unless
/// `--player-origins` says otherwise. Not yet checked against live result URLs: a host outside
/// these shows the "link no longer works" state, and `--player-origins` fixes it.
pub const DEFAULT_PLAYER_ORIGINS: &[&str] = &[
    "https://*.klingai.com",
    "https://*.kling.ai",
    "https://*.cometapi.com",
];

/// The view itself: one self-contained document (no external script, style or font).
const PLAYER_HTML: &str = include_str!("player.html");

/// The server's icon: a play triangle in a rounded square, as SVG (readable at 16 px).
const ICON_SVG: &str = include_str!("icon.svg");

/// Tools whose results the player shows.
const TOOLS_WITH_VIEW: [&str; 2] = ["generate_video", "get_video_task"];

/// Settings of the player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerOptions {
    /// Origins the view may load videos from (the CSP `resourceDomains`).
    pub resource_domains: Vec<String>,
}

impl Default for PlayerOptions {
    fn default() -> Self {
        Self {
            resource_domains: DEFAULT_PLAYER_ORIGINS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// The server icon as a `data:` URI (SEP-973 icons may be `data:` URIs, which need no fetch).
pub(super) fn icons() -> Vec<Icon> {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(ICON_SVG);
    vec![
        Icon::new(format!("data:image/svg+xml;base64,{data}"))
            .with_mime_type("image/svg+xml")
            .with_sizes(vec!["any".to_owned()]),
    ]
}

impl KlingServer {
    /// Whether this request's client declared the MCP Apps extension (and the player is on).
    /// `client_capabilities` reads the request's `_meta` under 2026-07-28 and the `initialize`
    /// capabilities before it.
    pub(super) fn wants_player(&self, context: &RequestContext<RoleServer>) -> bool {
        self.player.is_some()
            && context.client_capabilities().is_some_and(|c| {
                c.extensions
                    .as_ref()
                    .is_some_and(|e| e.contains_key(UI_EXTENSION))
            })
    }

    /// The tool list for a client with the extension: the two task tools point at the view,
    /// and every tool carries the icon.
    pub(super) fn tools_with_player(&self) -> Vec<Tool> {
        let mut tools = self.tool_router.list_all();
        for tool in &mut tools {
            tool.icons = Some(icons());
            if TOOLS_WITH_VIEW.contains(&tool.name.as_ref()) {
                let mut meta = tool.meta.take().unwrap_or_default();
                meta.0
                    .insert("ui".to_owned(), json!({ "resourceUri": PLAYER_URI }));
                tool.meta = Some(meta);
            }
        }
        tools
    }

    /// The view's entry in `resources/list`.
    pub(super) fn player_resource() -> Resource {
        let mut resource = Resource::new(PLAYER_URI, "player.html");
        resource.title = Some("Video player".to_owned());
        resource.description =
            Some("Shows a video task's progress, and its videos once made".to_owned());
        resource.mime_type = Some(APP_MIME.to_owned());
        resource
    }

    /// The view, when `request` names it and the player is on; `None` for any other URI.
    pub(super) fn read_player(
        &self,
        request: &ReadResourceRequestParams,
    ) -> Option<Result<ReadResourceResult, ErrorData>> {
        if request.uri != PLAYER_URI {
            return None;
        }
        let Some(player) = &self.player else {
            return Some(Err(ErrorData::resource_not_found(
                "the player view is turned off (--no-player)",
                None,
            )));
        };
        let meta = json!({
            "ui": {
                "csp": { "resourceDomains": player.resource_domains },
                "prefersBorder": true,
            }
        });
        let meta = match meta {
            serde_json::Value::Object(map) => MetaObject(map),
            _ => MetaObject::default(),
        };
        let contents = ResourceContents::TextResourceContents {
            uri: PLAYER_URI.to_owned(),
            mime_type: Some(APP_MIME.to_owned()),
            text: PLAYER_HTML.to_owned(),
            meta: Some(meta),
        };
        Some(Ok(ReadResourceResult::new(vec![contents])))
    }
}
