//! Local image paths in `image_list` become base64 before validation, read only inside the
//! configured directories plus, on stdio only, the roots the MCP client shares.

use std::path::PathBuf;
use std::time::Duration;

use rmcp::{Peer, RoleServer};

use crate::comet::{CreateTaskRequest, Violation, looks_like_local_path};
use crate::local_images::{AllowedRoots, LocalImage, load_image, path_from_file_uri};

/// How long to wait for the client's `roots/list` answer.
const ROOTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Replaces each local image path with the file's base64; returns a violation per file that
/// cannot be used. Remote URLs and base64 are left as they are. `roots_from` is the client
/// whose MCP roots widen the configured directories (`None` over HTTP: a remote client's
/// `file:///` must not open the server's disk).
pub(super) async fn read_local_images(
    request: &mut CreateTaskRequest,
    configured: &AllowedRoots,
    roots_from: Option<&Peer<RoleServer>>,
) -> Vec<Violation> {
    let local: Vec<(usize, String)> = request
        .image_list
        .iter()
        .enumerate()
        .filter(|(_, image)| looks_like_local_path(image.image_url.trim()))
        .map(|(index, image)| (index, image.image_url.clone()))
        .collect();
    if local.is_empty() {
        return Vec::new();
    }
    let mut roots = configured.clone();
    if let Some(peer) = roots_from {
        roots.extend(client_roots(peer).await);
    }
    // Reading up to 10 MB per file is blocking I/O: keep it off the async workers.
    let loaded = tokio::task::spawn_blocking(move || {
        local
            .into_iter()
            .map(|(index, input)| (index, load_image(&input, &roots)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut violations = Vec::new();
    for (index, result) in loaded {
        match (result, request.image_list.get_mut(index)) {
            (Ok(LocalImage { base64, path, .. }), Some(image)) => {
                tracing::info!(path = %path.display(), "read local image");
                image.image_url = base64;
            }
            (Err(err), _) => violations.push(Violation::new(
                format!("image_list[{index}].image_url"),
                err.to_string(),
                "give a PNG or JPEG inside the allowed directories, or a public https URL",
            )),
            (Ok(_), None) => {}
        }
    }
    violations
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
