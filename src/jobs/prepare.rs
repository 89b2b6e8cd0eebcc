//! Preparing a request to submit, for every front door: local image paths in `image_list`
//! become base64 (read only inside the directories the front door allows, within a
//! process-wide memory budget), then every API rule is checked — one answer with all the
//! problems, or a request ready to send.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;

use super::Deadline;
use crate::comet::{CreateTaskRequest, ImageInput, ValidRequest, Violation, looks_like_local_path};
use crate::local_images::{AllowedRoots, ImageFile, LocalImage, find_image};

/// Most base64 of local images all calls together may hold, in bytes. A call holds its share
/// from reading its images until its request has been sent, so one call with seven 10 MB
/// images (93 MB) fits, and concurrent calls wait their turn instead of multiplying memory.
pub const IMAGE_BUDGET_BYTES: u32 = 160_000_000;

/// The budget, process-wide: HTTP sessions share the machine's memory too.
static IMAGE_BUDGET: Semaphore = Semaphore::const_new(IMAGE_BUDGET_BYTES as usize);

/// Bytes of [`IMAGE_BUDGET_BYTES`] held by calls' local images right now (for the metrics).
pub fn image_budget_in_use() -> usize {
    (IMAGE_BUDGET_BYTES as usize).saturating_sub(IMAGE_BUDGET.available_permits())
}

/// Time a call keeps, when it waits for the budget, to read its images and send them.
const SEND_RESERVE: Duration = Duration::from_secs(10);

/// A request ready to submit, holding its images' share of the memory budget until dropped
/// (drop it once the request has been sent).
#[derive(Debug)]
pub struct Prepared {
    /// The checked request.
    pub request: ValidRequest,
    /// The images' share of [`IMAGE_BUDGET_BYTES`].
    budget: Option<SemaphorePermit<'static>>,
}

impl Prepared {
    /// Gives the images' memory back (the request keeps its body until dropped too).
    pub fn release(self) -> ValidRequest {
        drop(self.budget);
        self.request
    }
}

/// Why a request cannot be submitted.
#[derive(Debug)]
pub enum Unprepared {
    /// Every problem found: unreadable files and broken API rules, one per field.
    Invalid(Vec<Violation>),
    /// Other calls held the image memory budget until the deadline, or the caller cancelled
    /// while waiting for it.
    ImagesBusy,
}

/// Reads the request's local images from inside `roots`, then checks every API rule. Reading
/// waits for the images' share of [`IMAGE_BUDGET_BYTES`], until `deadline` (less time to
/// send) or `cancel`.
pub async fn prepare(
    mut request: CreateTaskRequest,
    roots: &AllowedRoots,
    deadline: Deadline,
    cancel: &CancellationToken,
) -> Result<Prepared, Unprepared> {
    let (violations, budget) = read_local_images(&mut request, roots, deadline, cancel)
        .await
        .map_err(|BudgetBusy| Unprepared::ImagesBusy)?;
    // Moved, not copied: the request may hold megabytes of image base64.
    match (request.into_valid(), violations.is_empty()) {
        (Ok(request), true) => Ok(Prepared { request, budget }),
        (checked, _) => {
            // A file that could not be read is still a path, which validation also flags:
            // report the file's own problem once.
            let mut violations = violations;
            for problem in checked.err().unwrap_or_default() {
                if !violations.iter().any(|v| v.field == problem.field) {
                    violations.push(problem);
                }
            }
            Err(Unprepared::Invalid(violations))
        }
    }
}

/// The body a dry run shows: base64 images as their length. Built without them, so megabytes
/// of base64 are not copied only to be dropped.
pub fn preview_body(request: &ValidRequest) -> Value {
    let request = request.body();
    let mut body = serde_json::to_value(request.without_images()).unwrap_or(Value::Null);
    let images: Vec<ImageInput> = request
        .image_list
        .iter()
        .map(|image| ImageInput {
            image_url: if image.image_url.starts_with("http://")
                || image.image_url.starts_with("https://")
            {
                image.image_url.clone()
            } else {
                format!("<base64 image data, {} characters>", image.image_url.len())
            },
            frame: image.frame,
        })
        .collect();
    if let (Value::Object(fields), false) = (&mut body, images.is_empty()) {
        fields.insert(
            "image_list".to_owned(),
            serde_json::to_value(images).unwrap_or(Value::Null),
        );
    }
    body
}

/// Other calls held the image budget until the call's time was up, or the call was
/// cancelled while waiting for it.
#[derive(Debug)]
struct BudgetBusy;

type ImageBudget = Option<SemaphorePermit<'static>>;

/// Replaces each local image path with the file's base64; files that cannot be used become
/// violations. Remote URLs and base64 are left as they are.
async fn read_local_images(
    request: &mut CreateTaskRequest,
    roots: &AllowedRoots,
    deadline: Deadline,
    cancel: &CancellationToken,
) -> Result<(Vec<Violation>, ImageBudget), BudgetBusy> {
    let local: Vec<(usize, String)> = request
        .image_list
        .iter()
        .enumerate()
        .filter(|(_, image)| looks_like_local_path(image.image_url.trim()))
        .map(|(index, image)| (index, image.image_url.clone()))
        .collect();
    if local.is_empty() {
        return Ok((Vec::new(), None));
    }
    let roots = roots.clone();
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
    Ok((violations, budget))
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
    tokio::select! {
        // A free budget is taken even when the deadline has just passed.
        biased;
        permit = IMAGE_BUDGET.acquire_many(permits) => permit.map(Some).map_err(|_| BudgetBusy),
        () = cancel.cancelled() => Err(BudgetBusy),
        () = until.reached() => {
            tracing::warn!(bytes, "local images not read: the image memory budget stayed in use until the call's deadline");
            Err(BudgetBusy)
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
