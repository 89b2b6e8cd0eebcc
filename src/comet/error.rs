//! Errors of the CometAPI client: one enum, a stable [`ErrorKind`] for callers to branch on,
//! and the mapping from HTTP status, gateway envelope and Kling business code (spec §6).

use std::time::Duration;

use super::violation::Violation;

/// Stable, machine-readable error category. Its `as_str` spelling is part of the tool output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No API key is configured.
    MissingApiKey,
    /// The key was refused (HTTP 401, codes 1000-1004).
    Auth,
    /// The key may not use this API or model, or the account is blocked (1100, 1103, 1304, 403).
    PermissionDenied,
    /// Balance or resource pack used up (1101, 1102, `quota_not_enough`).
    InsufficientBalance,
    /// Too many requests or concurrent tasks (1302, 1303, HTTP 429 without a code).
    RateLimited,
    /// The request was refused as invalid (1200-1202, HTTP 400) or failed local checks.
    InvalidRequest,
    /// Content-safety or platform policy refused the input (1300, 1301).
    ContentRejected,
    /// No such task or model (1203, HTTP 404).
    NotFound,
    /// Upstream failure or maintenance (5000-5002, HTTP 5xx).
    UpstreamUnavailable,
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made or broke.
    Network,
    /// A reply that is not one of the documented shapes (HTML, empty, redirect, bad JSON).
    MalformedResponse,
}

impl ErrorKind {
    /// The stable snake_case name shown to agents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingApiKey => "missing_api_key",
            Self::Auth => "auth",
            Self::PermissionDenied => "permission_denied",
            Self::InsufficientBalance => "insufficient_balance",
            Self::RateLimited => "rate_limited",
            Self::InvalidRequest => "invalid_request",
            Self::ContentRejected => "content_rejected",
            Self::NotFound => "not_found",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::Timeout => "timeout",
            Self::Network => "network",
            Self::MalformedResponse => "malformed_response",
        }
    }
}

/// A failed CometAPI call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// No API key was configured, so nothing was sent.
    #[error("COMETAPI_KEY is not set")]
    MissingApiKey,
    /// The request broke API rules, so nothing was sent.
    #[error("{}", describe_violations(.0))]
    Invalid(Vec<Violation>),
    /// CometAPI answered with a documented error body or an error status.
    #[error("{0}")]
    Api(ApiError),
    /// No complete answer within the timeout.
    #[error("no answer from {url} within {}s", .after.as_secs())]
    Timeout {
        /// The endpoint called.
        url: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection failed or broke.
    #[error("could not reach {url}: {detail}")]
    Network {
        /// The endpoint called.
        url: String,
        /// The transport error, without headers.
        detail: String,
        /// Whether the request certainly never reached the server (connect failure).
        before_send: bool,
    },
    /// A reply in no documented shape.
    #[error("unexpected reply (HTTP {status}) from {url}: {detail}")]
    MalformedResponse {
        /// HTTP status.
        status: u16,
        /// The endpoint called.
        url: String,
        /// What was wrong, with the first bytes of the body.
        detail: String,
    },
}

/// An error reply from CometAPI, with everything support will ask for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CometAPI refused the request (HTTP {status}{}): {message}{}",
    .code.as_ref().map(|c| format!(", code {c}")).unwrap_or_default(),
    .request_id.as_ref().map(|r| format!(" (request id: {r})")).unwrap_or_default())]
pub struct ApiError {
    /// The category.
    pub kind: ErrorKind,
    /// HTTP status.
    pub status: u16,
    /// Kling business code (`1102`) or relay/gateway code (`quota_not_enough`).
    pub code: Option<String>,
    /// Upstream message, verbatim.
    pub message: String,
    /// Upstream request id, when given.
    pub request_id: Option<String>,
    /// How long the server asked us to wait (`Retry-After`), when it said.
    pub retry_after: Option<Duration>,
}

impl Error {
    /// The stable category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingApiKey => ErrorKind::MissingApiKey,
            Self::Invalid(_) => ErrorKind::InvalidRequest,
            Self::Api(api) => api.kind,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Network { .. } => ErrorKind::Network,
            Self::MalformedResponse { .. } => ErrorKind::MalformedResponse,
        }
    }

    /// Whether the same query may succeed if repeated later (spec §7, `GET` column). A create
    /// is stricter: see [`Error::create_may_have_started`].
    pub fn retryable(&self) -> bool {
        match self {
            Self::MalformedResponse { status, .. } => (200..300).contains(status),
            other => matches!(
                other.kind(),
                ErrorKind::RateLimited
                    | ErrorKind::UpstreamUnavailable
                    | ErrorKind::Timeout
                    | ErrorKind::Network
            ),
        }
    }

    /// Whether a failed create may still have started (and billed) a task upstream, so it must
    /// not be re-sent blindly (spec §7, "ambiguous").
    pub fn create_may_have_started(&self) -> bool {
        match self {
            Self::Timeout { .. } => true,
            Self::Network { before_send, .. } => !before_send,
            Self::MalformedResponse { status, .. } => (200..300).contains(status),
            Self::Api(api) => api.kind == ErrorKind::UpstreamUnavailable,
            _ => false,
        }
    }

    /// The upstream HTTP status, when there was a reply.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            Self::MalformedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked to wait before retrying, when it said (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// The upstream request id, when the reply had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.request_id.as_deref(),
            _ => None,
        }
    }

    /// The upstream business code, when the reply had one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.code.as_deref(),
            _ => None,
        }
    }
}

/// "2 problems: `a` is x (do y); `b` is z (do w)".
fn describe_violations(violations: &[Violation]) -> String {
    let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
    match list.len() {
        1 => list.concat(),
        n => format!("{n} problems: {}", list.join("; ")),
    }
}

/// The category for a Kling business code (§6.2), falling back to the HTTP status.
pub(super) fn kind_for_kling_code(code: i64, status: u16) -> ErrorKind {
    match code {
        1000..=1004 => ErrorKind::Auth,
        1100 | 1103 | 1304 => ErrorKind::PermissionDenied,
        1101 | 1102 => ErrorKind::InsufficientBalance,
        1200..=1202 => ErrorKind::InvalidRequest,
        1203 => ErrorKind::NotFound,
        1300 | 1301 => ErrorKind::ContentRejected,
        1302 | 1303 => ErrorKind::RateLimited,
        5000..=5002 => ErrorKind::UpstreamUnavailable,
        _ => kind_for_status(status),
    }
}

/// The category for a gateway or relay error (§6.1, §6.3): its code and text first, then status.
pub(super) fn kind_for_gateway(code: Option<&str>, message: &str, status: u16) -> ErrorKind {
    let code = code.unwrap_or_default().to_ascii_lowercase();
    let message = message.to_ascii_lowercase();
    let mentions = |word: &str| code.contains(word) || message.contains(word);
    if mentions("quota") || mentions("balance") || mentions("insufficient") {
        ErrorKind::InsufficientBalance
    } else if code == "invalid_request" && status < 501 {
        // §6.3: 500 with `invalid_request` is the caller's fault, not an outage.
        ErrorKind::InvalidRequest
    } else {
        kind_for_status(status)
    }
}

/// The category for a bare HTTP status, used only when the body says nothing better.
pub(super) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 405..=407 | 409..=428 | 430..=499 => ErrorKind::InvalidRequest,
        401 => ErrorKind::Auth,
        402 => ErrorKind::InsufficientBalance,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::UpstreamUnavailable,
        _ => ErrorKind::MalformedResponse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kling_codes_follow_the_spec_table() {
        let table = [
            (1000, 401, ErrorKind::Auth, false),
            (1004, 401, ErrorKind::Auth, false),
            (1100, 429, ErrorKind::PermissionDenied, false),
            (1101, 429, ErrorKind::InsufficientBalance, false),
            (1102, 429, ErrorKind::InsufficientBalance, false),
            (1103, 403, ErrorKind::PermissionDenied, false),
            (1200, 400, ErrorKind::InvalidRequest, false),
            (1201, 400, ErrorKind::InvalidRequest, false),
            (1202, 404, ErrorKind::InvalidRequest, false),
            (1203, 404, ErrorKind::NotFound, false),
            (1300, 400, ErrorKind::ContentRejected, false),
            (1301, 400, ErrorKind::ContentRejected, false),
            (1302, 429, ErrorKind::RateLimited, true),
            (1303, 429, ErrorKind::RateLimited, true),
            (1304, 429, ErrorKind::PermissionDenied, false),
            (5000, 500, ErrorKind::UpstreamUnavailable, true),
            (5001, 503, ErrorKind::UpstreamUnavailable, true),
            (5002, 504, ErrorKind::UpstreamUnavailable, true),
        ];
        for (code, status, kind, retryable) in table {
            assert_eq!(kind_for_kling_code(code, status), kind, "code {code}");
            let err = Error::Api(ApiError {
                kind,
                status,
                code: Some(code.to_string()),
                message: String::new(),
                request_id: None,
                retry_after: None,
            });
            assert_eq!(err.retryable(), retryable, "code {code}");
        }
    }

    #[test]
    fn a_business_code_outranks_the_status() {
        // 1102 arrives as HTTP 429 but must not be retried as a rate limit.
        assert_eq!(
            kind_for_kling_code(1102, 429),
            ErrorKind::InsufficientBalance
        );
        assert_eq!(kind_for_kling_code(9999, 429), ErrorKind::RateLimited);
    }

    #[test]
    fn gateway_errors_use_code_text_then_status() {
        assert_eq!(
            kind_for_gateway(Some(""), "invalid token", 401),
            ErrorKind::Auth
        );
        assert_eq!(
            kind_for_gateway(Some("quota_not_enough"), "", 403),
            ErrorKind::InsufficientBalance
        );
        assert_eq!(
            kind_for_gateway(Some("invalid_request"), "bad", 500),
            ErrorKind::InvalidRequest
        );
        assert_eq!(
            kind_for_gateway(None, "busy", 524),
            ErrorKind::UpstreamUnavailable
        );
        assert_eq!(
            kind_for_gateway(None, "slow down", 429),
            ErrorKind::RateLimited
        );
    }

    #[test]
    fn only_ambiguous_create_failures_may_have_started_a_task() {
        let refused = Error::Network {
            url: "u".into(),
            detail: "refused".into(),
            before_send: true,
        };
        assert!(refused.retryable() && !refused.create_may_have_started());
        let timeout = Error::Timeout {
            url: "u".into(),
            after: Duration::from_secs(60),
        };
        assert!(timeout.create_may_have_started());
        let html = Error::MalformedResponse {
            status: 404,
            url: "u".into(),
            detail: "<html>".into(),
        };
        assert!(!html.retryable() && !html.create_may_have_started());
    }

    #[test]
    fn messages_carry_code_and_request_id() {
        let err = Error::Api(ApiError {
            kind: ErrorKind::InsufficientBalance,
            status: 429,
            code: Some("1102".into()),
            message: "Account balance not enough".into(),
            request_id: Some("req-1".into()),
            retry_after: None,
        });
        assert_eq!(
            err.to_string(),
            "CometAPI refused the request (HTTP 429, code 1102): Account balance not enough (request id: req-1)"
        );
    }
}
