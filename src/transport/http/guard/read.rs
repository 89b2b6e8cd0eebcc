//! Reading a JSON request body under three limits: `--max-body-bytes` for one body, the
//! process-wide [`BodyBudget`] for all bodies being read and parsed at once (so four large
//! bodies cannot each take their several copies of memory at the same moment), and the body
//! deadline (enforced by the connection's `TimedBody`; answered here with 408).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{SERVER_ERROR, json_error};
use crate::transport::http::body::is_too_slow;

/// Seconds a client is told to wait when the body budget is full: bodies are read and parsed
/// in milliseconds, so the budget frees up quickly.
const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// The request-body bytes being read and parsed at once, over every connection.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    /// A budget of `total` bytes.
    pub(crate) fn new(total: usize) -> Self {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes held by bodies being read or parsed right now.
    pub(crate) fn in_use(&self) -> usize {
        self.total.saturating_sub(self.bytes.available_permits())
    }

    /// The budget's size.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// `bytes` more of the budget, merged into `held`; `false` when the budget lacks them.
    fn take(&self, held: &mut Option<OwnedSemaphorePermit>, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        let Ok(bytes) = u32::try_from(bytes) else {
            return false;
        };
        match self.bytes.clone().try_acquire_many_owned(bytes) {
            Ok(permit) => {
                match held {
                    Some(held) => held.merge(permit),
                    None => *held = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }
}

/// A body that was read, and its share of the budget (released on drop).
pub(super) struct ReadBody {
    /// The body.
    pub(super) bytes: Bytes,
    /// Its share of the budget.
    pub(super) held: Option<OwnedSemaphorePermit>,
}

/// Reads `body` (at most `max_bytes`) within `budget`, or the response that refuses it: 413
/// past the size limit, 503 with `Retry-After` when the budget is full, 408 when it came too
/// slowly, 400 when the connection failed.
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max_bytes: usize,
    budget: &BodyBudget,
) -> Result<ReadBody, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(too_large(max_bytes));
    }
    let mut held = None;
    // A declared length is reserved whole, before a byte is read: the buffer is allocated now.
    let reserved = declared.unwrap_or(0);
    if !budget.take(&mut held, reserved) {
        return Err(busy(budget));
    }
    let mut collected = Vec::with_capacity(reserved);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| {
            if is_too_slow(&err) {
                return json_error(StatusCode::REQUEST_TIMEOUT, SERVER_ERROR, &err.to_string());
            }
            json_error(
                StatusCode::BAD_REQUEST,
                SERVER_ERROR,
                &format!("cannot read the request body: {err}"),
            )
        })?;
        if chunk.len() > max_bytes.saturating_sub(collected.len()) {
            return Err(too_large(max_bytes));
        }
        let beyond = (collected.len() + chunk.len()).saturating_sub(reserved.max(collected.len()));
        if !budget.take(&mut held, beyond) {
            return Err(busy(budget));
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(ReadBody {
        bytes: Bytes::from(collected),
        held,
    })
}

fn too_large(max_bytes: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        SERVER_ERROR,
        &format!("request body larger than {max_bytes} bytes (--max-body-bytes)"),
    )
}

/// 503 with `Retry-After`: other bodies hold the budget.
fn busy(budget: &BodyBudget) -> Response {
    tracing::debug!(
        in_use = budget.in_use(),
        total = budget.total(),
        "request body refused: the body budget is full"
    );
    let mut response = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        SERVER_ERROR,
        &format!(
            "the server is reading other large requests ({} bytes at once, --body-budget-bytes); try again in {BUSY_RETRY_AFTER_SECS} s",
            budget.total()
        ),
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(BUSY_RETRY_AFTER_SECS),
    );
    response
}
