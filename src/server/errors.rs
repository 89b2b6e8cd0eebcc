//! The one place where failures become MCP tool results: `isError: true`, a one-line message
//! that says what failed and what to change, and the details in structured form under `_meta`.
//!
//! Error results carry no `structuredContent`: some clients validate it against the tool's
//! success `outputSchema` even when `isError` is set, which would hide the real message.

use rmcp::model::{CallToolResult, ContentBlock, MetaObject};
use serde::Serialize;
use serde_json::Value;

use super::args::ArgumentError;
pub(super) use super::fixes::fix_for_agent;
use super::fixes::{TASK_NOT_FOUND_FIX, kind_fix};
use crate::comet::{self, ErrorKind};
use crate::jobs;
use crate::store::StoreError;

/// JSON-RPC: a server-defined error (here: too busy for this caller now).
const BUSY_CODE: i32 = -32000;

/// The `_meta` key under which error details travel.
pub const ERROR_META_KEY: &str = "kling-omni-mcp/error";

/// A failure as the model sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ToolFailure {
    /// Stable category (`auth`, `invalid_request`, …).
    kind: &'static str,
    /// Whether calling again unchanged, later, may work.
    retryable: bool,
    /// The one-line message.
    message: String,
    /// The argument at fault, as a JSON path.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Upstream HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// Upstream business code.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    /// Upstream request id, for CometAPI support.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    /// The external id of a task whose creation is uncertain.
    #[serde(skip_serializing_if = "Option::is_none")]
    external_task_id: Option<String>,
    /// When calling again makes sense, in whole seconds: the upstream's `Retry-After`, or the
    /// pause a call stopped at its time limit did not wait for.
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
    /// Every broken rule, when the request failed validation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    violations: Vec<comet::Violation>,
}

impl ToolFailure {
    /// Arguments that did not deserialize.
    pub(crate) fn from_arguments(err: ArgumentError, tool: &str) -> Self {
        let message = match &err.field {
            Some(field) => format!(
                "Invalid argument `{field}`: {}. Fix: correct `{field}` and call {tool} again.",
                err.reason
            ),
            None => format!(
                "Invalid arguments: {}. Fix: follow the {tool} input schema and call again.",
                err.reason
            ),
        };
        Self::bare(ErrorKind::InvalidRequest, message, err.field)
    }

    /// A caller sent its own key to a server that does not take them.
    pub(crate) fn client_keys_disabled() -> Self {
        Self {
            message: "This server does not take a caller's own CometAPI key (X-CometAPI-Key), or the key is empty; nothing was sent. Fix: remove the header to use the server's key, or start the server with --allow-client-keys.".to_owned(),
            ..Self::too_many_calls(0)
        }
        .with_kind("auth", false)
    }

    fn with_kind(mut self, kind: &'static str, retryable: bool) -> Self {
        self.kind = kind;
        self.retryable = retryable;
        self
    }

    /// A refusal that calling again later may cure, as a JSON-RPC server error whose `data`
    /// carries the kind and `retryable`, for methods that have no tool result to carry it.
    pub(crate) fn into_busy_error(self) -> rmcp::ErrorData {
        let data = serde_json::json!({"kind": self.kind, "retryable": self.retryable});
        rmcp::ErrorData::new(rmcp::model::ErrorCode(BUSY_CODE), self.message, Some(data))
    }

    /// The failure as a JSON-RPC error, for methods that have no tool result to carry it.
    pub(crate) fn into_error_data(self) -> rmcp::ErrorData {
        rmcp::ErrorData::invalid_request(self.message, None)
    }

    /// Other calls' local images held the image memory budget until this call's time was up.
    pub(crate) fn images_busy() -> Self {
        Self {
            message: format!(
                "The server is busy sending other calls' local images (at most {} MB of them at once), and this call ran out of time waiting; nothing was sent. Fix: call again shortly, or give public URLs instead of local files.",
                jobs::IMAGE_BUDGET_BYTES / 1_000_000
            ),
            ..Self::too_many_calls(0)
        }
        .with_kind("busy", true)
    }

    /// The caller already runs its maximum of concurrent calls.
    pub(crate) fn too_many_calls(limit: usize) -> Self {
        Self {
            kind: "too_many_calls",
            retryable: true,
            message: format!(
                "This caller already runs {limit} calls at once (tool calls and resource reads, in all its sessions; --max-calls). Fix: wait for one to finish, then call again."
            ),
            field: None,
            status: None,
            code: None,
            request_id: None,
            external_task_id: None,
            retry_after_seconds: None,
            violations: Vec::new(),
        }
    }

    /// A job error.
    pub(crate) fn from_jobs(err: &jobs::Error) -> Self {
        match err {
            jobs::Error::Comet(inner) => Self::from_comet(inner),
            // The upstream's own kind (`rate_limited`, `timeout`, …), made retryable, with
            // when to call again.
            jobs::Error::OutOfTime { cause, .. } => Self {
                retryable: true,
                message: format!("{err}. Fix: {}", fix_for_agent(err)),
                retry_after_seconds: err.retry_after().map(jobs::whole_seconds),
                ..Self::from_comet(cause)
            },
            jobs::Error::Store(store) => {
                let field = matches!(store, StoreError::ExternalIdTaken { .. })
                    .then(|| "external_task_id".to_owned());
                Self::bare(
                    ErrorKind::InvalidRequest,
                    format!("{err}. Fix: {}", fix_for_agent(err)),
                    field,
                )
                .with_kind(err.kind(), err.retryable())
            }
            jobs::Error::BudgetExceeded { .. } => Self {
                retry_after_seconds: err.retry_after().map(jobs::whole_seconds),
                ..Self::bare(
                    ErrorKind::InvalidRequest,
                    format!("{err}. Fix: {}", fix_for_agent(err)),
                    None,
                )
                .with_kind(err.kind(), err.retryable())
            },
            jobs::Error::NoAnswerYet => Self::bare(
                ErrorKind::Timeout,
                format!("{err}. Fix: {}", fix_for_agent(err)),
                None,
            )
            .with_kind(err.kind(), err.retryable()),
            jobs::Error::OtherWorld { .. } => Self::bare(
                ErrorKind::InvalidRequest,
                format!("{err}. Fix: {}", fix_for_agent(err)),
                Some("task_id".to_owned()),
            )
            .with_kind(err.kind(), err.retryable()),
            jobs::Error::Download(_) => Self::bare(
                ErrorKind::Network,
                format!("{err}. Fix: {}", fix_for_agent(err)),
                None,
            )
            .with_kind(err.kind(), err.retryable()),
            jobs::Error::SubmitUncertain {
                external_task_id,
                cause,
            } => Self {
                kind: err.kind(),
                retryable: false,
                message: format!("{err}. Fix: {}", fix_for_agent(err)),
                status: cause.status(),
                code: cause.code().map(str::to_owned),
                request_id: cause.request_id().map(str::to_owned),
                external_task_id: Some(external_task_id.clone()),
                retry_after_seconds: None,
                field: None,
                violations: Vec::new(),
            },
        }
    }

    /// A job error of a call about one task (`get_video_task`): "not found" is about its
    /// `task_id`, the call's only input.
    pub(crate) fn from_task_query(err: &jobs::Error) -> Self {
        match err {
            jobs::Error::Comet(inner) if inner.kind() == ErrorKind::NotFound => Self {
                message: format!(
                    "{}. Fix: {TASK_NOT_FOUND_FIX}",
                    inner.to_string().trim_end_matches('.')
                ),
                ..Self::from_comet(inner)
            },
            _ => Self::from_jobs(err),
        }
    }

    /// A job error of the balance query: the fix names the balance settings, not the video
    /// API's.
    pub(crate) fn from_balance(err: &jobs::Error) -> Self {
        let failure = Self::from_jobs(err);
        let Some(fix) = jobs::balance_fix(err) else {
            return failure;
        };
        Self {
            message: format!("{}. Fix: {fix}", err.to_string().trim_end_matches('.')),
            ..failure
        }
    }

    /// A client error.
    pub(crate) fn from_comet(err: &comet::Error) -> Self {
        let kind = err.kind();
        let what = match err {
            comet::Error::MissingApiKey => {
                "COMETAPI_KEY is not set, so nothing was sent".to_owned()
            }
            comet::Error::Invalid(_) => format!("Nothing was sent: {err}"),
            other => other.to_string(),
        };
        let message = format!("{}. Fix: {}", what.trim_end_matches('.'), kind_fix(kind));
        let (field, violations) = match err {
            comet::Error::Invalid(list) => (list.first().map(|v| v.field.clone()), list.clone()),
            _ => (None, Vec::new()),
        };
        Self {
            violations,
            retryable: err.retryable(),
            status: err.status(),
            code: err.code().map(str::to_owned),
            request_id: err.request_id().map(str::to_owned),
            retry_after_seconds: err.retry_after().map(jobs::whole_seconds),
            ..Self::bare(kind, message, field)
        }
    }

    fn bare(kind: ErrorKind, message: String, field: Option<String>) -> Self {
        Self {
            kind: kind.as_str(),
            retryable: false,
            message,
            field,
            status: None,
            code: None,
            request_id: None,
            external_task_id: None,
            retry_after_seconds: None,
            violations: Vec::new(),
        }
    }

    /// The tool result: `isError: true`, the message as text, details in `_meta`.
    pub(crate) fn into_result(self) -> CallToolResult {
        tracing::info!(kind = self.kind, message = ?self.message, "tool error");
        let text = format!("Error [{}]: {}", self.kind, self.message);
        let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
        let mut meta = MetaObject::new();
        meta.0.insert(
            ERROR_META_KEY.to_owned(),
            serde_json::to_value(&self).unwrap_or(Value::Null),
        );
        result.meta = Some(meta);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comet::ApiError;

    fn text_of(result: &CallToolResult) -> String {
        result.content[0].as_text().unwrap().text.clone()
    }

    #[test]
    fn argument_errors_name_the_field_and_the_fix() {
        let failure = ToolFailure::from_arguments(
            ArgumentError {
                field: Some("aspect_ratio".into()),
                reason: "unknown variant `4:3`, expected one of `16:9`, `9:16`, `1:1`".into(),
            },
            "generate_video",
        );
        let result = failure.into_result();
        assert_eq!(result.is_error, Some(true));
        assert_eq!(result.structured_content, None);
        assert_eq!(
            text_of(&result),
            "Error [invalid_request]: Invalid argument `aspect_ratio`: unknown variant `4:3`, expected one of `16:9`, `9:16`, `1:1`. Fix: correct `aspect_ratio` and call generate_video again."
        );
        let meta = &result.meta.unwrap().0[ERROR_META_KEY];
        assert_eq!(meta["kind"], "invalid_request");
        assert_eq!(meta["field"], "aspect_ratio");
        assert_eq!(meta["retryable"], false);
    }

    #[test]
    fn missing_key_says_how_to_set_it() {
        let result = ToolFailure::from_comet(&comet::Error::MissingApiKey).into_result();
        let text = text_of(&result);
        assert!(
            text.starts_with("Error [missing_api_key]: COMETAPI_KEY is not set"),
            "{text}"
        );
        assert!(text.contains("\"env\" block"), "{text}");
    }

    #[test]
    fn a_task_not_found_names_the_task_id_and_no_model() {
        let err = jobs::Error::Comet(comet::Error::Api(ApiError {
            kind: ErrorKind::NotFound,
            status: 404,
            code: Some("1203".into()),
            message: "task not found".into(),
            request_id: None,
            retry_after: None,
        }));
        let text = text_of(&ToolFailure::from_task_query(&err).into_result());
        assert!(text.starts_with("Error [not_found]"), "{text}");
        assert!(text.contains("Check the task_id"), "{text}");
        assert!(!text.contains("model_name"), "{text}");
        // A create that is not found is about the model.
        let text = text_of(&ToolFailure::from_jobs(&err).into_result());
        assert!(text.contains("model_name"), "{text}");
    }

    #[test]
    fn uncertain_submits_say_not_to_resubmit_and_keep_the_upstream_details() {
        let cause = comet::Error::Api(ApiError {
            kind: ErrorKind::UpstreamUnavailable,
            status: 500,
            code: Some("5000".into()),
            message: "Internal server error".into(),
            request_id: Some("req-9".into()),
            retry_after: None,
        });
        let err = jobs::Error::SubmitUncertain {
            external_task_id: "kmcp-abc".into(),
            cause,
        };
        let result = ToolFailure::from_jobs(&err).into_result();
        let text = text_of(&result);
        assert!(text.starts_with("Error [submit_uncertain]"), "{text}");
        assert!(text.contains("HTTP 500, code 5000"), "{text}");
        assert!(text.contains("external_task_id \"kmcp-abc\""), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
        let meta = &result.meta.unwrap().0[ERROR_META_KEY];
        assert_eq!(meta["request_id"], "req-9");
        assert_eq!(meta["external_task_id"], "kmcp-abc");
        assert_eq!(meta["retryable"], false);
    }

    #[test]
    fn running_out_of_time_keeps_the_upstream_kind_and_says_when_to_call_again() {
        let cause = comet::Error::Api(ApiError {
            kind: ErrorKind::RateLimited,
            status: 429,
            code: Some("1303".into()),
            message: "Parallel task limit exceeded".into(),
            request_id: None,
            retry_after: Some(std::time::Duration::from_secs(60)),
        });
        let err = jobs::Error::OutOfTime {
            cause,
            retry_after: std::time::Duration::from_millis(59_500),
            submit: false,
        };
        let result = ToolFailure::from_jobs(&err).into_result();
        let text = text_of(&result);
        assert!(text.starts_with("Error [rate_limited]"), "{text}");
        assert!(text.contains("time limit"), "{text}");
        assert!(text.contains("Call again in about 60 s"), "{text}");
        let meta = &result.meta.unwrap().0[ERROR_META_KEY];
        assert_eq!(meta["retryable"], true);
        assert_eq!(meta["retry_after_seconds"], 60);
        assert_eq!(meta["status"], 429);
    }
}
