//! Response bodies as CometAPI sends them, in both documented shapes (spec §3, §4, §6).
//!
//! Every field is optional and read leniently (a number where a string was expected, or the
//! reverse, is accepted; a value of the wrong kind becomes `None`), so an upstream change of
//! detail never breaks parsing. The simulator serialises these same types, so the fake and the
//! parser cannot drift apart.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Kling-native envelope: `{code, message, request_id, data}` (create, query and Kling errors).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KlingEnvelope {
    /// `0` on success; a business code (§6.2) otherwise.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub code: Option<i64>,
    /// Free text; never branched on.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Kept for support requests.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub request_id: Option<String>,
    /// The task, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<KlingTask>,
}

/// The task object inside a Kling envelope (and the body of a callback).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KlingTask {
    /// Opaque id, usually 18 digits; kept as a string.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub task_id: Option<String>,
    /// `submitted` | `processing` | `succeed` | `failed`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub task_status: Option<String>,
    /// Why it failed; absent or empty otherwise.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_status_msg: Option<String>,
    /// `{external_task_id?}`.
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub task_info: Option<TaskInfo>,
    /// `{videos?}`; `{}` until the task finishes.
    #[serde(
        default,
        deserialize_with = "lenient::opt_struct",
        skip_serializing_if = "Option::is_none"
    )]
    pub task_result: Option<TaskResult>,
    /// Unix milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub created_at: Option<i64>,
    /// Unix milliseconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub updated_at: Option<i64>,
    /// Units Kling billed for a finished task (`"8"`), when the reply says.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub final_unit_deduction: Option<String>,
}

/// `task_info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// The caller's own id, echoed when one was sent.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_task_id: Option<String>,
}

/// `task_result`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// Finished videos.
    #[serde(
        default,
        deserialize_with = "lenient::opt_vec",
        skip_serializing_if = "Option::is_none"
    )]
    pub videos: Option<Vec<KlingVideo>>,
}

/// One finished video.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KlingVideo {
    /// Opaque id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    /// Download URL (expires after about 30 days).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub url: Option<String>,
    /// Decimal seconds as a string (`"5"`, `"5.041"`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub duration: Option<String>,
}

/// The older new-api task-relay shape: `{code: "success", message, data: {status, …, data}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WrapperEnvelope {
    /// `"success"`, or a relay error code such as `quota_not_enough`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub code: Option<String>,
    /// Often empty.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// The relayed task, or `null` on a relay error.
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub data: Option<WrapperTask>,
}

/// The task inside a wrapper envelope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WrapperTask {
    /// Upstream task id.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub task_id: Option<String>,
    /// `OMNI_VIDEO`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub action: Option<String>,
    /// `NOT_START`, `SUBMITTED`, `QUEUED`, `IN_PROGRESS`, `SUCCESS`, `FAILURE`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// Failure text, or on `SUCCESS` in some builds the video URL.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub fail_reason: Option<String>,
    /// A percentage such as `"30%"`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub progress: Option<String>,
    /// Result URL in some new-api builds.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_url: Option<String>,
    /// Unix seconds; 0 = not yet.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub submit_time: Option<i64>,
    /// Unix seconds; 0 = not yet.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub start_time: Option<i64>,
    /// Unix seconds; 0 = not yet.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub finish_time: Option<i64>,
    /// The last raw Kling reply, `{code, message, request_id, data: {…}}`.
    #[serde(default, deserialize_with = "lenient::opt_struct")]
    pub data: Option<KlingEnvelope>,
}

/// The gateway error shape: `{"error": {message, type, code, param?}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayErrorBody {
    /// The error.
    #[serde(default)]
    pub error: GatewayError,
}

/// The `error` object of a gateway error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayError {
    /// Human text; contains `(request id: …)`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Usually `comet_api_error`.
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// `""`, `invalid_request`, …
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub code: Option<String>,
    /// The offending parameter, when named.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub param: Option<String>,
}

/// Deserialisers that never fail on a value of the wrong kind.
mod lenient {
    use super::*;

    pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
    }

    pub(super) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
    }

    pub(super) fn opt_struct<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned,
    {
        let value = Value::deserialize(d)?;
        Ok(value
            .is_object()
            .then(|| serde_json::from_value(value).ok())
            .flatten())
    }

    pub(super) fn opt_vec<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned,
    {
        let Value::Array(items) = Value::deserialize(d)? else {
            return Ok(None);
        };
        Ok(Some(
            items
                .into_iter()
                .filter_map(|item| serde_json::from_value(item).ok())
                .collect(),
        ))
    }
}
