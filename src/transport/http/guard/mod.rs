//! The guard in front of `/mcp`: bearer-token auth, the session cap (per caller, in
//! [`sessions`]; only `initialize` opens a session), the answers MCP clients
//! expect where rmcp's differ (a body that is not JSON, a session's `DELETE`), and one info line
//! for every refused request, with the reason (never a header, so never the token). JSON bodies
//! are read under the body budget ([`read`]) and counted before rmcp parses them ([`scan`]).

mod sessions;

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Body as _;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use self::sessions::{HeldBody, Sessions};

/// JSON-RPC: the body is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the body is JSON but not a request, notification or response.
const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: a server-defined error (auth, limits, sessions).
const SERVER_ERROR: i64 = -32000;
/// The header that names a session.
const SESSION_HEADER: &str = "mcp-session-id";
/// The longest refusal body read back for the log line.
const REASON_BYTES: usize = 4096;

/// What the request guard needs.
pub(super) struct Guard {
    token: Option<SecretString>,
    manager: Arc<LocalSessionManager>,
    max_body_bytes: usize,
    /// Request-body bytes read and parsed at once, over all requests.
    budget: Arc<BodyBudget>,
    /// Who holds which session, behind `--max-sessions`.
    sessions: Arc<Sessions>,
    /// Whether callers are told apart by their own CometAPI key (`--allow-client-keys`).
    client_keys: bool,
}

impl Guard {
    /// The guard for these settings.
    pub(super) fn new(
        token: Option<SecretString>,
        manager: Arc<LocalSessionManager>,
        max_sessions: usize,
        max_body_bytes: usize,
        budget: Arc<BodyBudget>,
        client_keys: bool,
    ) -> Self {
        Self {
            token,
            manager,
            max_body_bytes,
            budget,
            sessions: Arc::new(Sessions::new(max_sessions)),
            client_keys,
        }
    }
}

/// Guards `/mcp` and logs what it (or rmcp behind it) refuses. `/healthz` needs no token and
/// shows no secrets.
pub(super) async fn check_request(
    State(guard): State<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let response = guard.answer(request, next).await;
    log_refusal(&method, response).await
}

impl Guard {
    async fn answer(&self, request: Request, next: Next) -> Response {
        if let Some(refused) = self.refuse_token(request.headers()) {
            return refused;
        }
        match *request.method() {
            Method::POST => self.post(request, next).await,
            Method::DELETE => self.delete(request, next).await,
            _ => self.capped(request, next, false).await,
        }
    }

    /// A 401 when a token is set and the request does not carry it.
    fn refuse_token(&self, headers: &HeaderMap) -> Option<Response> {
        let token = self.token.as_ref()?;
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .unwrap_or_default();
        let matches: bool = presented
            .as_bytes()
            .ct_eq(token.expose_secret().as_bytes())
            .into();
        if matches {
            return None;
        }
        let mut response = json_error(
            StatusCode::UNAUTHORIZED,
            SERVER_ERROR,
            "missing or wrong bearer token",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"kling-omni-mcp\""),
        );
        Some(response)
    }

    /// A POST: its JSON checked (rmcp answers 415 to a body that does not parse; JSON-RPC
    /// clients expect 400 with -32700) and counted, then the session cap for one that may open
    /// a session. The body's share of the budget is held until rmcp has parsed it and answered.
    async fn post(&self, request: Request, next: Next) -> Response {
        let (parts, body) = request.into_parts();
        let json = is_json(&parts.headers);
        let mut held = None;
        let mut opens_session = false;
        let request = if json {
            let read =
                match read_body(&parts.headers, body, self.max_body_bytes, &self.budget).await {
                    Ok(read) => read,
                    Err(refused) => return refused,
                };
            match scan(&read.bytes) {
                Scan::Fits => {}
                Scan::NotJson => {
                    return json_error(
                        StatusCode::BAD_REQUEST,
                        PARSE_ERROR,
                        "Parse error: the request body is not valid JSON",
                    );
                }
                Scan::TooManyValues => {
                    return json_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        SERVER_ERROR,
                        &format!(
                            "the request body holds more than {MAX_JSON_VALUES} JSON values; an MCP message needs a few hundred at most (an image is one string)"
                        ),
                    );
                }
            }
            opens_session = is_initialize(&read.bytes);
            held = read.held;
            Request::from_parts(parts, Body::from(read.bytes))
        } else {
            Request::from_parts(parts, body)
        };
        let response = self.capped(request, next, opens_session).await;
        drop(held);
        // Valid JSON that rmcp could not read as a JSON-RPC message (content type checked).
        if json && response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return json_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: the body is JSON but not a JSON-RPC request, notification or response",
            );
        }
        response
    }

    /// Runs a request: one on a session (a POST, or the GET of its SSE stream) keeps it busy
    /// until its response ends; an `initialize` (the only request that opens a session) is
    /// held to the session cap. Any other, stateless 2026-07-28 requests included, never
    /// touches the session table.
    async fn capped(&self, request: Request, next: Next, opens_session: bool) -> Response {
        let session = request
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(id) = session {
            let busy = self.sessions.request_started(&id);
            let response = next.run(request).await;
            return match busy {
                Some(busy) => response.map(|body| Body::new(HeldBody::new(body, busy))),
                None => response,
            };
        }
        if !opens_session {
            return next.run(request).await;
        }
        let caller = crate::server::caller_id(request.headers(), self.client_keys);
        // Checked and counted as one step: an open counts from here until rmcp has inserted (or
        // refused) its session, so parallel opens cannot all pass the check.
        let admitted = {
            let live = self.manager.sessions.read().await;
            self.sessions
                .admit(&caller, |id| live.contains_key(id), live.len())
        };
        let (opening, victim) = match admitted {
            Ok(admitted) => admitted,
            Err(refusal) => {
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    SERVER_ERROR,
                    &refusal.message(),
                );
            }
        };
        if let Some(victim) = victim {
            tracing::info!(
                "session table full: closing the least recently used session to make room"
            );
            if let Err(err) = self.manager.close_session(&victim.into()).await {
                tracing::warn!(%err, "could not close a session to make room");
            }
        }
        let response = next.run(request).await;
        let opened = response
            .headers()
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|_| response.status().is_success());
        if let Some(id) = opened {
            opening.opened(id);
        }
        response
    }

    /// Ending a session. rmcp answers 202 to any session id, known or not; the MCP SDKs'
    /// clients expect 200 (Python's logs a warning on anything but 200 or 204), and the spec
    /// says a terminated or unknown session gets 404. No session id (400) and the stateless
    /// 2026-07-28 wire (405, "this server does not end sessions") stay rmcp's.
    async fn delete(&self, request: Request, next: Next) -> Response {
        let known = match request
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            Some(id) => self.manager.sessions.read().await.contains_key(id),
            None => false,
        };
        let response = next.run(request).await;
        if response.status() != StatusCode::ACCEPTED {
            return response;
        }
        if known {
            let mut ended = Response::new(Body::empty());
            *ended.status_mut() = StatusCode::OK;
            return ended;
        }
        json_error(
            StatusCode::NOT_FOUND,
            SERVER_ERROR,
            "session not found: it ended or was never opened; open a new one with initialize",
        )
    }
}

/// Whether the request says its body is JSON (what rmcp requires of a POST).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// Logs a refused request (4xx, 5xx) at info with its reason, read back from the body; the
/// response goes out unchanged. Refusals are small, finished bodies; SSE streams are 200.
async fn log_refusal(method: &Method, response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let small = response
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= REASON_BYTES as u64);
    if !small {
        tracing::info!(status = status.as_u16(), %method, "HTTP request refused");
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, REASON_BYTES)
        .await
        .unwrap_or_default();
    tracing::info!(
        status = status.as_u16(),
        %method,
        reason = ?reason(&bytes),
        "HTTP request refused"
    );
    Response::from_parts(parts, Body::from(bytes))
}

/// The message of a JSON-RPC error body, else the text (shortened).
fn reason(body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        });
    let text = message.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    text.chars().take(200).collect()
}

/// Whether a JSON body is an `initialize` request, the one request that opens a session.
/// Read without building the body's tree: the other fields are skipped.
fn is_initialize(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow, default)]
        method: Option<Cow<'a, str>>,
    }
    serde_json::from_slice::<Method<'_>>(body)
        .ok()
        .and_then(|m| m.method)
        .is_some_and(|method| method == "initialize")
}

/// The token of an `Authorization: Bearer <token>` header. The scheme name is
/// case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` are accepted too.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

/// A JSON-RPC error body (id null), so MCP clients can show the message.
fn json_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

mod read;
mod scan;

pub(crate) use read::BodyBudget;
use read::read_body;
pub(crate) use scan::MAX_JSON_VALUES;
use scan::{Scan, scan};

#[cfg(test)]
mod tests;
