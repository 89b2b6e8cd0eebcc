//! Scripted transport faults (see [`super::Simulator::inject`]): the replies a broken or
//! overloaded upstream sends instead of the normal answer.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Fault;
use super::bodies;

/// The reply a scripted fault calls for; `None` to answer normally (after any delay).
pub(super) async fn apply_fault(fault: Option<Fault>, echo: &str) -> Option<Response> {
    let reply = match fault? {
        Fault::RateLimited => rate_limited(0),
        Fault::RateLimitedFor(pause) => rate_limited(pause.as_secs()),
        Fault::ServerError => {
            bodies::kling_error(5000, "Internal server error, please try again later")
        }
        Fault::ServerErrorAfterCreate => return None,
        Fault::Delay(delay) => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Fault::Reset => {
            let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![
                Ok(b"{\"code\":0,\"message\":\"SUCC"),
                Err(std::io::Error::other("simulated connection reset")),
            ];
            let body = Body::from_stream(futures::stream::iter(chunks));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Fault::StallBody => {
            let start = futures::stream::once(async {
                Ok::<&'static [u8], std::io::Error>(b"{\"code\":0,\"message\":\"SUCC")
            });
            let body =
                Body::from_stream(futures::StreamExt::chain(start, futures::stream::pending()));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"code\":0,\"data\":",
        )
            .into_response(),
        Fault::HtmlError => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            format!(
                "<html><head><title>502 Bad Gateway</title></head><body>nginx{echo}</body></html>"
            ),
        )
            .into_response(),
        Fault::Stall => {
            let start = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(
                b"\x00\x00\x00\x18ftypisom",
            ))]);
            let body =
                Body::from_stream(futures::StreamExt::chain(start, futures::stream::pending()));
            (StatusCode::OK, [(header::CONTENT_TYPE, "video/mp4")], body).into_response()
        }
        Fault::Huge => {
            let mut body = b"{\"code\":0,\"message\":\"".to_vec();
            body.resize(2 * 1024 * 1024, b'x');
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
    };
    Some(reply)
}

/// HTTP 429 with code 1303 (concurrency limit) and `Retry-After: secs`.
fn rate_limited(secs: u64) -> Response {
    let mut reply = bodies::kling_error(
        1303,
        "Parallel task limit of the resource pack exceeded; wait for running tasks to finish and try again",
    );
    if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
        reply.headers_mut().insert(header::RETRY_AFTER, value);
    }
    reply
}
