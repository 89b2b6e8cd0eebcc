//! Parses CometAPI reply bodies: a create reply into a [`CreatedTask`], a query reply into a
//! [`Task`] whichever documented shape arrives (spec §4.3, through `reply_shapes`), and error
//! replies into [`Error`]s (spec §6). Accept liberally: extra fields, numeric ids, missing
//! timestamps and unknown statuses never break parsing.

use serde::Deserialize;
use serde_json::Value;

use super::error::{
    ApiError, Error, ErrorKind, kind_for_gateway, kind_for_kling_code, kind_for_status,
};
use super::ids::TaskId;
use super::reply_shapes::{from_native, from_wrapper};
use super::status::TaskStatus;
use super::task::{CreatedTask, Task};
use super::wire::{GatewayErrorBody, KlingEnvelope, KlingTask, WrapperEnvelope};

/// Parses a create reply (§3): HTTP 2xx, `code == 0` and a non-empty task id.
pub fn parse_create(status: u16, url: &str, body: &[u8]) -> Result<CreatedTask, Error> {
    let value = decode(status, url, body)?;
    check_error(status, &value)?;
    // Deserialising from `&Value` reads the tree in place instead of cloning it.
    let envelope = KlingEnvelope::deserialize(&value).unwrap_or_default();
    // Other proxies (L) put `task_id` at top level with no `data`.
    let task = envelope
        .data
        .unwrap_or_else(|| KlingTask::deserialize(&value).unwrap_or_default());
    let Some(task_id) = task
        .task_id
        .and_then(|id| TaskId::from_reply(id.trim().to_owned()))
    else {
        return Err(unrecognised(
            status,
            url,
            "no task_id in the create reply",
            body,
        ));
    };
    if !(200..300).contains(&status) {
        return Err(unrecognised(status, url, "task id in an error reply", body));
    }
    Ok(CreatedTask {
        task_id,
        status: task
            .task_status
            .as_deref()
            .and_then(TaskStatus::from_native)
            .unwrap_or(TaskStatus::Submitted),
        external_task_id: task.task_info.and_then(|info| info.external_task_id),
        created_at_ms: task.created_at.filter(|t| *t > 0),
        request_id: envelope.request_id,
    })
}

/// Parses a query reply (§4) in either shape.
pub fn parse_query(status: u16, url: &str, body: &[u8]) -> Result<Task, Error> {
    let value = decode(status, url, body)?;
    check_error(status, &value)?;
    let data = value.get("data");
    let is_wrapper = value.get("code").is_some_and(Value::is_string)
        || data.is_some_and(|d| d.get("status").is_some() && d.get("task_status").is_none());
    let task = if is_wrapper {
        WrapperEnvelope::deserialize(&value)
            .ok()
            .and_then(from_wrapper)
    } else if data.is_some_and(|d| d.get("task_status").is_some()) {
        KlingEnvelope::deserialize(&value)
            .ok()
            .and_then(from_native)
    } else {
        None
    };
    task.ok_or_else(|| unrecognised(status, url, "unrecognised task reply", body))
}

/// Parses the body as JSON; otherwise an error that shows the status and the first bytes.
fn decode(status: u16, url: &str, body: &[u8]) -> Result<Value, Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.is_object() => Ok(value),
        _ => {
            let kind = kind_for_status(status);
            let detail = if body.iter().all(u8::is_ascii_whitespace) {
                "empty body".to_owned()
            } else {
                format!("not JSON: {}", head(body))
            };
            // Only outages and rate limits are worth naming by status alone; a 2xx, 3xx or
            // 404 HTML page almost always means a wrong COMETAPI_BASE_URL.
            if matches!(
                kind,
                ErrorKind::UpstreamUnavailable | ErrorKind::RateLimited | ErrorKind::Auth
            ) {
                Err(Error::Api(ApiError {
                    kind,
                    status,
                    code: None,
                    message: format!("{detail} (from {url})"),
                    request_id: None,
                    retry_after: None,
                }))
            } else {
                Err(Error::MalformedResponse {
                    status,
                    url: url.to_owned(),
                    detail,
                })
            }
        }
    }
}

/// Steps 2, 3 and 6 of §4.3: gateway errors, relay errors, Kling business codes.
fn check_error(status: u16, value: &Value) -> Result<(), Error> {
    if value.get("error").is_some_and(Value::is_object) {
        let body = GatewayErrorBody::deserialize(value).unwrap_or_default();
        let message = body
            .error
            .message
            .unwrap_or_else(|| "no message".to_owned());
        let code = body.error.code.filter(|c| !c.is_empty());
        return Err(Error::Api(ApiError {
            kind: kind_for_gateway(code.as_deref(), &message, status),
            status,
            code,
            message,
            request_id: None,
            retry_after: None,
        }));
    }
    match value.get("code") {
        Some(Value::String(code)) if !code.eq_ignore_ascii_case("success") => {
            let message = text(value, "message").unwrap_or_else(|| code.clone());
            Err(Error::Api(ApiError {
                kind: kind_for_gateway(Some(code), &message, status),
                status,
                code: Some(code.clone()),
                message,
                request_id: text(value, "request_id"),
                retry_after: None,
            }))
        }
        Some(Value::Number(code)) if code.as_i64() != Some(0) => {
            let numeric = code.as_i64().unwrap_or(-1);
            Err(Error::Api(ApiError {
                kind: kind_for_kling_code(numeric, status),
                status,
                code: Some(code.to_string()),
                message: text(value, "message").unwrap_or_else(|| "no message".to_owned()),
                request_id: text(value, "request_id"),
                retry_after: None,
            }))
        }
        _ => Ok(()),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn unrecognised(status: u16, url: &str, what: &str, body: &[u8]) -> Error {
    Error::MalformedResponse {
        status,
        url: url.to_owned(),
        detail: format!("{what}: {}", head(body)),
    }
}

/// The first ~200 characters of a body, on one line, for error messages.
fn head(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod reply_props;
