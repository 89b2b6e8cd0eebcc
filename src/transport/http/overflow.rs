//! Connections beyond the cap, when every connection under it has a request in flight: a few
//! reserved ones that answer `/healthz` and tell everything else to come back (503,
//! `Retry-After`), one request each. A load balancer's probe then tells "busy" from "down";
//! before, it was closed at once like any other connection. Idle sockets in the reserve
//! displace each other as under the cap, so they cannot hold it.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;

/// Connections kept for `/healthz` beyond the cap.
pub(super) const RESERVED: usize = 8;

/// `app` answering only `/healthz`.
pub(super) fn healthz_only(app: Router) -> Router {
    app.layer(middleware::from_fn(only_healthz))
}

async fn only_healthz(request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    tracing::debug!(path = %request.uri().path(), "request refused: every connection is busy");
    let body = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000,
        "message": "the server is at its connection limit (--max-connections) with every connection busy; try again shortly"}});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
