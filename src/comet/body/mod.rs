//! The create request's body on the wire. Images can be ~94 MB of base64 in all, so the body is
//! not serialised into one buffer next to the request that holds them: the small rest of the
//! JSON is serialised once per attempt and each image's base64 is streamed straight from the
//! shared request, a piece at a time.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::request::{CreateTaskRequest, ImageInput};

/// Largest piece of an image copied at once.
const PIECE_BYTES: usize = 256 * 1024;

/// A create body: the JSON of a request, streamed. Its length is known up front, so it is
/// sent with a `Content-Length`.
#[derive(Debug)]
pub(super) struct CreateBody {
    request: Arc<CreateTaskRequest>,
    parts: Vec<Part>,
    /// The part being sent, and how far into it.
    next: usize,
    offset: usize,
    remaining: u64,
}

/// A stretch of the body: serialised JSON, or the base64 of `image_list[index]`, unescaped
/// (it holds nothing JSON escapes).
#[derive(Debug)]
enum Part {
    Json(Bytes),
    Image(usize),
}

impl CreateBody {
    /// The body of `request`: byte for byte what `serde_json::to_vec` makes of it.
    pub(super) fn new(request: Arc<CreateTaskRequest>) -> Result<Self, serde_json::Error> {
        let parts = match split(&request)? {
            Some(parts) => parts,
            // Unreachable in practice (see `split`); the plain copy is still correct.
            None => vec![Part::Json(Bytes::from(serde_json::to_vec(&*request)?))],
        };
        let remaining = parts
            .iter()
            .map(|part| match part {
                Part::Json(json) => json.len() as u64,
                Part::Image(index) => image_url(&request, *index).len() as u64,
            })
            .sum();
        Ok(Self {
            request,
            parts,
            next: 0,
            offset: 0,
            remaining,
        })
    }
}

/// The JSON of `request` cut around its images: it is serialised with a unique marker for
/// each image that needs no escaping, then cut at the markers. `None` if a marker is not
/// found where expected (it is freshly random, so neither the prompt nor anything else can
/// hold it).
fn split(request: &CreateTaskRequest) -> Result<Option<Vec<Part>>, serde_json::Error> {
    let marker = format!("kmcp-image-{}-", uuid::Uuid::new_v4().simple());
    let mut streamed = Vec::new();
    let image_list = request
        .image_list
        .iter()
        .enumerate()
        .map(|(index, image)| ImageInput {
            image_url: if needs_no_escaping(&image.image_url) {
                streamed.push(index);
                format!("{marker}{index}")
            } else {
                image.image_url.clone()
            },
            frame: image.frame,
        })
        .collect();
    let mut skeleton = request.without_images();
    skeleton.image_list = image_list;
    let json = Bytes::from(serde_json::to_vec(&skeleton)?);
    let mut parts = Vec::with_capacity(2 * streamed.len() + 1);
    let mut from = 0;
    for index in streamed {
        // The marker with its quotes: the quotes stay in the JSON parts.
        let quoted = format!("\"{marker}{index}\"");
        let Some(found) = find(json.get(from..).unwrap_or_default(), quoted.as_bytes()) else {
            return Ok(None);
        };
        let at = from + found + 1;
        parts.push(Part::Json(json.slice(from..at)));
        parts.push(Part::Image(index));
        from = at + quoted.len() - 2;
    }
    parts.push(Part::Json(json.slice(from..)));
    Ok(Some(parts))
}

/// Whether `serde_json` writes `text` as it is (it escapes only `"`, `\` and control characters).
fn needs_no_escaping(text: &str) -> bool {
    !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn image_url(request: &CreateTaskRequest, index: usize) -> &str {
    request
        .image_list
        .get(index)
        .map_or("", |image| image.image_url.as_str())
}

impl http_body::Body for CreateBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        while let Some(part) = this.parts.get(this.next) {
            let piece = match part {
                Part::Json(json) => {
                    this.next += 1;
                    json.clone()
                }
                Part::Image(index) => {
                    let url = image_url(&this.request, *index).as_bytes();
                    let end = url.len().min(this.offset + PIECE_BYTES);
                    let piece = url.get(this.offset..end).unwrap_or_default();
                    this.offset = end;
                    if end >= url.len() {
                        this.next += 1;
                        this.offset = 0;
                    }
                    Bytes::copy_from_slice(piece)
                }
            };
            if !piece.is_empty() {
                this.remaining = this.remaining.saturating_sub(piece.len() as u64);
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests;
