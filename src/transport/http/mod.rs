//! The streamable HTTP transport: MCP at `/mcp` (rmcp's server, SSE streams for server
//! messages), `GET /healthz`, `GET /metrics` (Prometheus text, [`scrape`]), bearer-token auth, Host/Origin checks against DNS rebinding,
//! request-size, session-count and idle limits, and graceful shutdown. Connections are
//! accepted by [`conn`] (header deadline, idle timeout, connection cap).

mod body;
mod conn;
mod fdlimit;
mod guard;
mod overflow;
mod scrape;
mod slots;

use std::future::Future;
use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::conn::serve_connections;
use self::guard::{BodyBudget, Guard, check_request};
use self::scrape::Scrape;
use crate::config::HttpConfig;
use crate::server::KlingServer;

pub use self::conn::ConnectionLimits;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The address was given as `localhost`: also listen on `[::1]` at the same port, since
    /// clients may resolve the name to either loopback address.
    pub localhost: bool,
    /// Bearer token clients must send; required unless the address is loopback.
    pub token: Option<SecretString>,
    /// Accepted `Host` values (loopback names by default).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values; an `Origin` header outside this list is refused.
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most request-body bytes read and parsed at once, over all requests.
    pub body_budget_bytes: usize,
    /// Most sessions open at once.
    pub max_sessions: usize,
    /// Sessions idle this long are closed.
    pub session_idle: Duration,
    /// How long in-flight calls may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Let callers use their own CometAPI key (`X-CometAPI-Key`).
    pub client_keys: bool,
    /// Header deadline, idle timeout and connection cap.
    pub connections: ConnectionLimits,
}

impl From<&HttpConfig> for HttpOptions {
    /// The checked settings, with the loopback names and origins always accepted.
    fn from(config: &HttpConfig) -> Self {
        let with_loopback = |loopback: &[&str], extra: &[String]| -> Vec<String> {
            loopback
                .iter()
                .map(|v| (*v).to_owned())
                .chain(extra.iter().cloned())
                .collect()
        };
        Self {
            addr: config.addr,
            localhost: config.localhost,
            token: config.token.clone(),
            allowed_hosts: with_loopback(LOOPBACK_HOSTS, &config.extra_hosts),
            allowed_origins: with_loopback(LOOPBACK_ORIGINS, &config.extra_origins),
            max_body_bytes: config.max_body_bytes,
            body_budget_bytes: config.body_budget_bytes,
            max_sessions: config.max_sessions,
            session_idle: config.session_idle,
            shutdown_grace: config.shutdown_grace,
            client_keys: config.client_keys,
            connections: ConnectionLimits {
                header_timeout: config.header_timeout,
                idle_timeout: config.idle_timeout,
                body_timeout: config.body_timeout,
                max_connections: config.max_connections,
            },
        }
    }
}

/// Why the HTTP server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Serving a non-loopback address without a token would let anyone spend the API key.
    #[error(
        "refusing to listen on {0} without a token: set KLING_MCP_HTTP_TOKEN (or --http-token-file), or bind 127.0.0.1"
    )]
    TokenRequired(SocketAddr),
    /// The address cannot be bound. The reason is part of the message, not a `source`: the
    /// final error line prints the chain, and "address in use" is said once.
    #[error("cannot listen on {addr}: {error}. Fix: {}", bind_fix(.error))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The server failed while running.
    #[error("HTTP server error: {0}")]
    Serve(std::io::Error),
}

/// Loopback names accepted in `Host` by default.
pub const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]", "::1"];

/// Loopback origins (any port) accepted in `Origin` by default: a page served from this
/// machine may call the server; pages from anywhere else may not.
pub const LOOPBACK_ORIGINS: &[&str] = &[
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
    "https://[::1]:*",
];

/// Serves MCP over streamable HTTP until `shutdown` completes, then shuts down gracefully.
pub async fn serve_http(
    server: KlingServer,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    if options.token.is_none() && !options.addr.ip().is_loopback() {
        return Err(HttpError::TokenRequired(options.addr));
    }
    // A remote client's MCP roots name directories on its machine, not this one.
    let server = server.without_client_roots();
    let sessions_closed = CancellationToken::new();
    let mut session_config = SessionConfig::default();
    session_config.keep_alive = Some(options.session_idle);
    let mut manager = LocalSessionManager::default();
    manager.session_config = session_config;
    let manager = Arc::new(manager);
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(options.allowed_hosts.clone())
        .with_max_request_body_bytes(options.max_body_bytes)
        .with_cancellation_token(sessions_closed.child_token());
    config = if options.allowed_origins.is_empty() {
        // Browsers always send Origin; with no allowed origins, refuse every one that is sent.
        config.enforce_origin_validation()
    } else {
        config.with_allowed_origins(options.allowed_origins.clone())
    };
    let factory_server = server.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(factory_server.for_new_session()),
        manager.clone(),
        config,
    );
    let scrape = Arc::new(Scrape::new(server.clone(), manager.clone()));
    let metrics_hosts = options.allowed_hosts.clone();
    let budget = Arc::new(BodyBudget::new(options.body_budget_bytes));
    let in_use = budget.clone();
    crate::metrics::register_gauge(
        "kling_http_body_budget_bytes_in_use",
        "Request-body bytes being read and parsed now, against --body-budget-bytes",
        move || i64::try_from(in_use.in_use()).unwrap_or(i64::MAX),
    );
    let guard = Guard::new(
        options.token.clone(),
        manager,
        options.max_sessions,
        options.max_body_bytes,
        budget,
        options.client_keys,
    );
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| async move {
                match scrape::host_allowed(&headers, &metrics_hosts) {
                    true => scrape.answer().await,
                    false => scrape::forbidden_host(),
                }
            }),
        )
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(
            Arc::new(guard),
            check_request,
        ));

    let listeners = bind(&options).await?;
    let local = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(HttpError::Serve)?;
    let port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map_or(options.addr.port(), |a| a.port());
    let url = match options.localhost {
        true => format!("http://localhost:{port}/mcp"),
        false => format!("http://{}/mcp", local.first().map_or("", String::as_str)),
    };
    tracing::info!(%url, addrs = %local.join(","), auth = options.token.is_some(), "MCP streamable HTTP listening");

    let stopping = CancellationToken::new();
    let stop_signal = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop_signal.cancel();
    });
    let grace = options.shutdown_grace;
    let drain = {
        let stopping = stopping.clone();
        let server = server.clone();
        async move {
            stopping.cancelled().await;
            tracing::info!(
                in_flight = server.in_flight(),
                "shutting down: no new connections; letting calls finish"
            );
            // Waiting calls end at once (they return the current status); others get the grace.
            server.begin_shutdown();
            let deadline = tokio::time::Instant::now() + grace;
            while server.in_flight() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Give finished calls a moment to flush their responses, then close the streams.
            tokio::time::sleep(Duration::from_millis(100)).await;
            sessions_closed.cancel();
        }
    };
    // Not `axum::serve`: it has no header deadline, idle timeout or connection cap.
    let serve = serve_connections(listeners, app, options.connections, stopping);
    tokio::join!(serve, drain);
    Scrape::forget();
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// The listener of `options.addr`; for `localhost`, also one on `[::1]` at the same port when
/// this machine has IPv6 loopback.
async fn bind(options: &HttpOptions) -> Result<Vec<TcpListener>, HttpError> {
    let first = TcpListener::bind(options.addr)
        .await
        .map_err(|error| HttpError::Bind {
            addr: options.addr,
            error,
        })?;
    let port = first.local_addr().map_err(HttpError::Serve)?.port();
    let mut listeners = vec![first];
    if options.localhost {
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
        match TcpListener::bind(v6).await {
            Ok(listener) => listeners.push(listener),
            // A machine without IPv6 resolves `localhost` to 127.0.0.1 only.
            Err(err) => tracing::info!(%err, addr = %v6, "not listening on IPv6 loopback"),
        }
    }
    Ok(listeners)
}

/// What to do about a bind error.
fn bind_fix(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another program (perhaps another kling-omni-mcp) listens there; stop it, or choose another port, e.g. --http 127.0.0.1:8788"
        }
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; choose a port such as 8787"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "this machine has no such address; use 127.0.0.1 (this machine only) or 0.0.0.0 (all interfaces, with a token)"
        }
        _ => "choose another address or port",
    }
}

async fn healthz() -> Response {
    let body = serde_json::json!({"status": "ok", "name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")});
    (StatusCode::OK, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_always_accept_loopback_then_the_extras() {
        let config = HttpConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
            localhost: false,
            token: None,
            extra_hosts: vec!["mcp.example.com".to_owned()],
            extra_origins: vec!["https://app.example.com:443".to_owned()],
            max_body_bytes: 1024,
            max_sessions: 1,
            session_idle: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(1),
            client_keys: false,
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(3),
            body_timeout: Duration::from_secs(5),
            body_budget_bytes: 4096,
            max_connections: 4,
        };
        let options = HttpOptions::from(&config);
        assert_eq!(options.allowed_hosts.len(), LOOPBACK_HOSTS.len() + 1);
        assert_eq!(options.allowed_hosts.last().unwrap(), "mcp.example.com");
        assert_eq!(
            options.allowed_origins[..LOOPBACK_ORIGINS.len()],
            *LOOPBACK_ORIGINS
        );
        assert_eq!(options.connections.idle_timeout, Duration::from_secs(3));
    }
}
