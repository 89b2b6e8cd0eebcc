//! One HTTP exchange with CometAPI: send, read a bounded reply, note `Retry-After`, count it in
//! the metrics, and turn transport failures into [`Error`]s that never carry the request URL.

use std::time::Duration;

use reqwest::{Url, header};

use super::client::Client;
use super::error::Error;
use crate::metrics::{self, Route, UpstreamOutcome};

/// Longest `Retry-After` honoured (spec §7).
const MAX_RETRY_AFTER_SECS: u64 = 60;

/// Largest reply body read; real replies are a few KiB, so more means a wrong endpoint.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

impl Client {
    /// Sends a request on `route` and reads at most [`MAX_REPLY_BYTES`] of the reply; counts
    /// it, with its status and time, in the metrics. `url` is what messages name: the
    /// request's own URL may carry a secret (the balance query's key).
    pub(super) async fn send(
        &self,
        route: Route,
        builder: reqwest::RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let started = std::time::Instant::now();
        let result = self.exchange(builder, url, timeout).await;
        let outcome = match &result {
            Ok(reply) => UpstreamOutcome::Status(reply.status),
            Err(err) => upstream_outcome(err),
        };
        metrics::upstream(route, outcome, started.elapsed());
        result
    }

    /// One request and its reply, at most [`MAX_REPLY_BYTES`] of it.
    async fn exchange(
        &self,
        builder: reqwest::RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let transport_error = |e: reqwest::Error| transport_error(e, url, timeout);
        let mut response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
        if status.is_redirection() {
            let target = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            return Err(Error::MalformedResponse {
                status: status.as_u16(),
                url: url.to_string(),
                detail: format!("redirect to {target}, not followed"),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(Error::MalformedResponse {
                    status: status.as_u16(),
                    url: url.to_string(),
                    detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "reply");
        Ok(Reply {
            status: status.as_u16(),
            body,
            retry_after,
        })
    }
}

/// A raw reply: status, body, and the server's `Retry-After`.
pub(super) struct Reply {
    /// HTTP status.
    pub(super) status: u16,
    /// The body, at most [`MAX_REPLY_BYTES`].
    pub(super) body: Vec<u8>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// Puts the reply's `Retry-After` on an API error, so retries can honour it.
    pub(super) fn attach_retry_after<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|err| match err {
            Error::Api(mut api) => {
                api.retry_after = self.retry_after;
                Error::Api(api)
            }
            other => other,
        })
    }
}

/// How a failed exchange ended, for the metrics.
fn upstream_outcome(error: &Error) -> UpstreamOutcome {
    match error {
        Error::Timeout { .. } => UpstreamOutcome::Timeout,
        Error::MalformedResponse { status, .. } => UpstreamOutcome::Status(*status),
        _ => UpstreamOutcome::Network,
    }
}

fn transport_error(error: reqwest::Error, url: &Url, timeout: Duration) -> Error {
    if error.is_timeout() {
        return Error::Timeout {
            url: url.to_string(),
            after: timeout,
        };
    }
    // reqwest's Display names the request's URL, which may carry a key (the balance query);
    // the error names `url` instead.
    let error = error.without_url();
    Error::Network {
        url: url.to_string(),
        detail: error_chain(&error),
        before_send: error.is_connect(),
    }
}

/// An error and its causes on one line, outermost first.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
