//! `GET /metrics`: the process's metrics in the Prometheus text format, behind the same bearer
//! token as `/mcp` (the guard checks it). Values that need an await are refreshed here before
//! the text is rendered: open sessions, and the task counts by status (one grouped query, at
//! most once per [`TASKS_REFRESH`] however often a scraper calls, and never longer than
//! [`TASKS_TIMEOUT`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::time::Instant;

use crate::metrics;
use crate::server::KlingServer;

/// Task counts younger than this are served again instead of querying the store.
const TASKS_REFRESH: Duration = Duration::from_secs(5);
/// Longest a scrape waits for the task counts; the last ones are served after that.
const TASKS_TIMEOUT: Duration = Duration::from_secs(2);
/// The gauge of open sessions.
const SESSIONS_GAUGE: &str = "kling_http_sessions_open";

/// What a scrape reads besides the process-wide metrics.
pub(super) struct Scrape {
    server: KlingServer,
    manager: Arc<LocalSessionManager>,
    sessions: Arc<AtomicI64>,
    /// When the task counts were last read.
    tasks_read: tokio::sync::Mutex<Option<Instant>>,
}

impl Scrape {
    /// Registers the session gauge; [`Scrape::forget`] removes it when the server stops.
    pub(super) fn new(server: KlingServer, manager: Arc<LocalSessionManager>) -> Self {
        let sessions = Arc::new(AtomicI64::new(0));
        let read = sessions.clone();
        metrics::register_gauge(
            SESSIONS_GAUGE,
            "MCP sessions open now (protocol 2025-11-25 and earlier; 2026-07-28 is stateless)",
            move || read.load(Ordering::Relaxed),
        );
        Self {
            server,
            manager,
            sessions,
            tasks_read: tokio::sync::Mutex::default(),
        }
    }

    /// Removes what [`Scrape::new`] registered.
    pub(super) fn forget() {
        metrics::unregister_gauge(SESSIONS_GAUGE);
    }

    /// The scrape's response.
    pub(super) async fn answer(&self) -> Response {
        let open = self.manager.sessions.read().await.len();
        self.sessions
            .store(i64::try_from(open).unwrap_or(i64::MAX), Ordering::Relaxed);
        self.refresh_tasks().await;
        let mut response = (StatusCode::OK, metrics::render()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(metrics::CONTENT_TYPE),
        );
        response
    }

    /// Reads the task counts unless they are fresh; a slow or failing store leaves the last.
    async fn refresh_tasks(&self) {
        // One scrape queries at a time; the others wait and then find fresh counts.
        let mut read = self.tasks_read.lock().await;
        if read.is_some_and(|at| at.elapsed() < TASKS_REFRESH) {
            return;
        }
        match tokio::time::timeout(TASKS_TIMEOUT, self.server.task_counts()).await {
            Ok(Ok(counts)) => {
                metrics::set_tasks_by_status(counts.into_iter().map(|(s, n)| (s.as_str(), n)));
                *read = Some(Instant::now());
            }
            Ok(Err(err)) => tracing::debug!(%err, "metrics: task counts not read"),
            Err(_) => tracing::debug!("metrics: task counts took too long"),
        }
    }
}

/// Whether a request's `Host` is one `/mcp` accepts too (rmcp's rule: the host matches, and the
/// port when the allowed entry names one). A page on a rebinding domain that resolves to this
/// machine sends its own name and is refused, as on `/mcp`.
pub(super) fn host_allowed(headers: &axum::http::HeaderMap, allowed: &[String]) -> bool {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| axum::http::uri::Authority::try_from(v).ok())
    else {
        return false;
    };
    let name = |text: &str| text.trim_matches(['[', ']']).to_ascii_lowercase();
    allowed.iter().any(|entry| {
        let (entry_host, entry_port) = match axum::http::uri::Authority::try_from(entry.trim()) {
            Ok(authority) => (name(authority.host()), authority.port_u16()),
            Err(_) => (name(entry), None),
        };
        entry_host == name(host.host()) && entry_port.is_none_or(|p| host.port_u16() == Some(p))
    })
}

/// The answer to a `/metrics` request whose `Host` is not allowed.
pub(super) fn forbidden_host() -> Response {
    (
        StatusCode::FORBIDDEN,
        "Host not allowed (add it with --allow-host)",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowed_hosts_may_scrape() {
        let allowed: Vec<String> = ["localhost", "127.0.0.1", "[::1]", "mcp.example.com:8443"]
            .map(String::from)
            .to_vec();
        let with = |host: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            host_allowed(&headers, &allowed)
        };
        for ok in [
            "localhost:8787",
            "127.0.0.1:1",
            "[::1]:8787",
            "LOCALHOST",
            "mcp.example.com:8443",
        ] {
            assert!(with(ok), "{ok}");
        }
        for bad in [
            "evil.example:8787",
            "mcp.example.com:8444",
            "127.0.0.2",
            "localhost.evil",
        ] {
            assert!(!with(bad), "{bad}");
        }
        assert!(!host_allowed(&axum::http::HeaderMap::new(), &allowed));
    }
}
