//! The directories a tool call may read local images from: the configured ones plus, on
//! stdio only, the roots the MCP client shares (a remote client's `file:///` must not open
//! the server's disk).

use std::path::PathBuf;
use std::time::Duration;

use rmcp::{Peer, RoleServer};

use crate::local_images::{AllowedRoots, path_from_file_uri};

/// How long to wait for the client's `roots/list` answer.
const ROOTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether this request's client may be asked for its roots: a 2025-11-25 (or older) request
/// whose client offers them. Under 2026-07-28 a server sends no requests of its own on a
/// request's stream.
pub(super) fn may_ask(context: &rmcp::service::RequestContext<RoleServer>) -> bool {
    #[allow(
        deprecated,
        reason = "roots are deprecated from protocol 2026-07-28 (SEP-2577), but 2025-11-25 clients still offer them"
    )]
    let offers = context
        .client_capabilities()
        .is_some_and(|c| c.roots.is_some());
    let legacy = context
        .protocol_version()
        .is_none_or(|v| v < rmcp::model::ProtocolVersion::V_2026_07_28);
    offers && legacy
}

/// `configured`, widened by the MCP roots of `roots_from` when given.
pub(super) async fn allowed_roots(
    configured: &AllowedRoots,
    roots_from: Option<&Peer<RoleServer>>,
) -> AllowedRoots {
    let mut roots = configured.clone();
    if let Some(peer) = roots_from {
        roots.extend(client_roots(peer).await);
    }
    roots
}

/// The client's MCP roots as directories, when it offers them.
#[allow(
    deprecated,
    reason = "roots are deprecated from protocol 2026-07-28 (SEP-2577), but 2025-11-25 clients still offer them"
)]
async fn client_roots(peer: &Peer<RoleServer>) -> Vec<PathBuf> {
    let offers_roots = peer
        .peer_info()
        .is_some_and(|info| info.capabilities.roots.is_some());
    if !offers_roots {
        return Vec::new();
    }
    match tokio::time::timeout(ROOTS_TIMEOUT, peer.list_roots()).await {
        Ok(Ok(result)) => result
            .roots
            .iter()
            .filter_map(|root| path_from_file_uri(&root.uri))
            .collect(),
        Ok(Err(err)) => {
            tracing::warn!(%err, "roots/list failed; using the configured directories only");
            Vec::new()
        }
        Err(_) => {
            tracing::warn!("roots/list timed out; using the configured directories only");
            Vec::new()
        }
    }
}
