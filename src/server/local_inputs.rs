//! Local image paths in `image_list` become base64 before validation, read only inside the
//! configured directories plus, on stdio only, the roots the MCP client shares.

use std::path::PathBuf;
use std::time::Duration;

use rmcp::{Peer, RoleServer};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;

use crate::comet::{CreateTaskRequest, Violation, looks_like_local_path};
use crate::jobs::Deadline;
use crate::local_images::{AllowedRoots, ImageFile, LocalImage, find_image, path_from_file_uri};

/// How long to wait for the client's `roots/list` answer.
const ROOTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Most base64 of local images all calls together may hold, in bytes. A call holds its share
/// from reading its images until its request has been sent, so one call with seven 10 MB
/// images (93 MB) fits, and concurrent calls wait their turn instead of multiplying memory.
pub const IMAGE_BUDGET_BYTES: u32 = 160_000_000;

/// The budget, process-wide: HTTP sessions share the machine's memory too.
static IMAGE_BUDGET: Semaphore = Semaphore::const_new(IMAGE_BUDGET_BYTES as usize);

/// Time a call keeps, when it waits for the budget, to read its images and send them.
const SEND_RESERVE: Duration = Duration::from_secs(10);

/// What reading a request's local images found: a violation per file that cannot be used,
/// and the images' share of the memory budget, to hold until the request has been sent.
#[derive(Debug)]
pub(super) struct LocalImages {
    pub(super) violations: Vec<Violation>,
    pub(super) budget: Option<SemaphorePermit<'static>>,
}

/// Other calls held the image budget until the call's time was up, or the call was
/// cancelled while waiting for it.
#[derive(Debug)]
pub(super) struct BudgetBusy;

/// Replaces each local image path with the file's base64; files that cannot be used become
/// violations. Remote URLs and base64 are left as they are. `roots_from` is the client whose
/// MCP roots widen the configured directories (`None` over HTTP: a remote client's
/// `file:///` must not open the server's disk). Reading waits for the images' share of
/// [`IMAGE_BUDGET_BYTES`], until `deadline` (less time to send) or until `cancel`.
pub(super) async fn read_local_images(
    request: &mut CreateTaskRequest,
    configured: &AllowedRoots,
    roots_from: Option<&Peer<RoleServer>>,
    deadline: Deadline,
    cancel: &CancellationToken,
) -> Result<LocalImages, BudgetBusy> {
    let local: Vec<(usize, String)> = request
        .image_list
        .iter()
        .enumerate()
        .filter(|(_, image)| looks_like_local_path(image.image_url.trim()))
        .map(|(index, image)| (index, image.image_url.clone()))
        .collect();
    if local.is_empty() {
        return Ok(LocalImages {
            violations: Vec::new(),
            budget: None,
        });
    }
    let mut roots = configured.clone();
    if let Some(peer) = roots_from {
        roots.extend(client_roots(peer).await);
    }
    // File system calls block: keep them off the async workers.
    let found = tokio::task::spawn_blocking(move || {
        local
            .into_iter()
            .map(|(index, input)| (index, find_image(&input, &roots)))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let needed: u64 = found
        .iter()
        .filter_map(|(_, file)| file.as_ref().ok().map(ImageFile::encoded_len))
        .sum();
    let budget = wait_for_budget(needed, deadline.less(SEND_RESERVE), cancel).await?;
    // Reading up to 10 MB per file is blocking I/O too.
    let loaded = tokio::task::spawn_blocking(move || {
        found
            .into_iter()
            .map(|(index, file)| (index, file.and_then(ImageFile::read)))
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
    Ok(LocalImages { violations, budget })
}

/// Takes `bytes` of the image budget (all of it for a call that needs more), waiting for
/// other calls to send theirs; `None` when nothing is needed.
async fn wait_for_budget(
    bytes: u64,
    until: Deadline,
    cancel: &CancellationToken,
) -> Result<Option<SemaphorePermit<'static>>, BudgetBusy> {
    if bytes == 0 {
        return Ok(None);
    }
    let permits = u32::try_from(bytes).map_or(IMAGE_BUDGET_BYTES, |b| b.min(IMAGE_BUDGET_BYTES));
    let out_of_time = async {
        match until.instant() {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        // A free budget is taken even when the deadline has just passed.
        biased;
        permit = IMAGE_BUDGET.acquire_many(permits) => permit.map(Some).map_err(|_| BudgetBusy),
        () = cancel.cancelled() => Err(BudgetBusy),
        () = out_of_time => {
            tracing::warn!(bytes, "local images not read: the image memory budget stayed in use until the call's deadline");
            Err(BudgetBusy)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_waiting_for_the_budget_stops_when_cancelled_or_out_of_time() {
        // Nothing else in this test binary reads local images, so the budget is free here.
        let all = IMAGE_BUDGET.acquire_many(IMAGE_BUDGET_BYTES).await.unwrap();
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(wait_for_budget(1, Deadline::none(), &cancel).await.is_err());
        let passed = Deadline::at(tokio::time::Instant::now());
        let open = CancellationToken::new();
        assert!(wait_for_budget(1, passed, &open).await.is_err());
        // Nothing needed, nothing waited for.
        assert!(wait_for_budget(0, passed, &open).await.unwrap().is_none());
        drop(all);
        // More than the budget takes all of it rather than waiting forever.
        let whole = wait_for_budget(u64::MAX, passed, &open)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(whole.num_permits(), IMAGE_BUDGET_BYTES as usize);
    }
}
