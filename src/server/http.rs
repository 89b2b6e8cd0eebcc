//! The streamable HTTP transport: MCP at `/mcp` (rmcp's server, SSE streams for server
//! messages), `GET /healthz`, bearer-token auth, Host/Origin checks against DNS rebinding,
//! request-size, session-count and idle limits, and graceful shutdown. Connections are
//! accepted by [`super::http_conn`] (header deadline, idle timeout, connection cap).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::{LocalSessionManager, SessionConfig};
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::KlingServer;
use super::http_conn::{ConnectionLimits, serve_connections};
use crate::config::HttpConfig;

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Bearer token clients must send; required unless the address is loopback.
    pub token: Option<SecretString>,
    /// Accepted `Host` values (loopback names by default).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values; an `Origin` header outside this list is refused.
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
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
            token: config.token.clone(),
            allowed_hosts: with_loopback(LOOPBACK_HOSTS, &config.extra_hosts),
            allowed_origins: with_loopback(LOOPBACK_ORIGINS, &config.extra_origins),
            max_body_bytes: config.max_body_bytes,
            max_sessions: config.max_sessions,
            session_idle: config.session_idle,
            shutdown_grace: config.shutdown_grace,
            client_keys: config.client_keys,
            connections: ConnectionLimits {
                header_timeout: config.header_timeout,
                idle_timeout: config.idle_timeout,
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
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
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
    let guard = Guard {
        token: options.token.clone(),
        manager,
        max_sessions: options.max_sessions,
        opening: Arc::default(),
    };
    let app = Router::new()
        .route("/healthz", get(healthz))
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(
            Arc::new(guard),
            check_request,
        ));

    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|source| HttpError::Bind {
            addr: options.addr,
            source,
        })?;
    let local = listener.local_addr().map_err(HttpError::Serve)?;
    tracing::info!(url = %format!("http://{local}/mcp"), auth = options.token.is_some(), "MCP streamable HTTP listening");

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
    let serve = serve_connections(listener, app, options.connections, stopping);
    tokio::join!(serve, drain);
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// What the request guard needs.
struct Guard {
    token: Option<SecretString>,
    manager: Arc<LocalSessionManager>,
    max_sessions: usize,
    /// Requests that may be opening a session right now.
    opening: Arc<AtomicUsize>,
}

/// Auth for `/mcp`, and the session cap. `/healthz` needs no token and shows no secrets.
async fn check_request(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    if let Some(token) = &guard.token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .unwrap_or_default();
        let matches: bool = presented
            .as_bytes()
            .ct_eq(token.expose_secret().as_bytes())
            .into();
        if !matches {
            let mut response =
                json_error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kling-omni-mcp\""),
            );
            return response;
        }
    }
    let opens_session =
        request.method() == Method::POST && !request.headers().contains_key("mcp-session-id");
    if !opens_session {
        return next.run(request).await;
    }
    // Check and insert as one step: a request that may open a session counts as open from
    // here until rmcp has inserted (or refused) it, so parallel opens cannot all pass the check.
    let _opening = Opening::start(&guard.opening);
    let open = guard.manager.sessions.read().await.len();
    // `opening` counts this request too, hence `>`.
    if open + guard.opening.load(Ordering::SeqCst) > guard.max_sessions {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "too many open sessions (limit {}); close idle clients or try again later",
                guard.max_sessions
            ),
        );
    }
    next.run(request).await
}

/// Counts a request that may open a session, for as long as it runs.
struct Opening(Arc<AtomicUsize>);

impl Opening {
    fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme name is
/// case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` are accepted too.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

async fn healthz() -> Response {
    let body = serde_json::json!({"status": "ok", "name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// A JSON-RPC error body (id null), so MCP clients can show the message.
fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": message}});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_always_accept_loopback_then_the_extras() {
        let config = HttpConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8787)),
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

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER  abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    /// Every open is held after the check until all have been checked: the old
    /// check-then-insert let all of them through.
    #[tokio::test]
    async fn parallel_session_opens_cannot_all_pass_the_cap() {
        use hyper::service::Service;
        use rmcp::transport::streamable_http_server::session::SessionManager;
        let manager = Arc::new(LocalSessionManager::default());
        let guard = Arc::new(Guard {
            token: None,
            manager: manager.clone(),
            max_sessions: 2,
            opening: Arc::default(),
        });
        let (parked_tx, mut parked) = tokio::sync::mpsc::unbounded_channel();
        let release = CancellationToken::new();
        let held = release.clone();
        let opener = move || {
            let (parked_tx, held, manager) = (parked_tx.clone(), held.clone(), manager.clone());
            async move {
                let _ = parked_tx.send(());
                held.cancelled().await;
                let _ = manager.create_session().await;
                "opened"
            }
        };
        let app = Router::new()
            .route("/mcp", axum::routing::post(opener))
            .layer(middleware::from_fn_with_state(guard, check_request));
        let (refused_tx, mut refused) = tokio::sync::mpsc::unbounded_channel();
        let opens = 10;
        for _ in 0..opens {
            let call = hyper_util::service::TowerToHyperService::new(app.clone())
                .call(Request::post("/mcp").body(Body::empty()).unwrap());
            let refused_tx = refused_tx.clone();
            tokio::spawn(async move {
                let response = call.await.unwrap();
                if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                    let _ = refused_tx.send(());
                }
            });
        }
        let (mut passed, mut turned_away) = (0, 0);
        while passed + turned_away < opens {
            tokio::select! {
                Some(()) = parked.recv() => passed += 1,
                Some(()) = refused.recv() => turned_away += 1,
            }
        }
        release.cancel();
        assert!(passed <= 2, "{passed} opens passed a cap of 2");
    }
}
