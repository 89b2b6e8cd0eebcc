//! CometAPI's balance query: `GET {quota origin}/user/quota?key=KEY` on a service of its own
//! (`https://query.cometapi.com`). The key travels in the query string there, so the full URL
//! is a secret: messages and logs name the URL without its query, and every string from the
//! reply is cleaned like any other upstream text.

use reqwest::{Url, header};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{Client, path_on};
use super::error::{ApiError, Error, ErrorKind};
use super::redact::display_url;

/// The balance service's production origin.
pub const DEFAULT_QUOTA_URL: &str = "https://query.cometapi.com";

/// The path of the balance query, relative to its origin.
const QUOTA_PATH: &str = "user/quota";

/// Most per-key entries kept from a reply (an account has a handful; more is hostile).
const MAX_KEYS: usize = 100;

/// Longest key name kept, in characters.
const MAX_NAME_CHARS: usize = 64;

/// What the balance service says of the account behind a key.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Balance {
    /// What the account has left, in US dollars (`total_quota`).
    pub balance_usd: f64,
    /// What the account has spent so far, in US dollars (`total_used_quota`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_usd: Option<f64>,
    /// Requests the account has made, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_count: Option<u64>,
    /// The account's keys with their own limits (at most 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyBalance>,
    /// Whether a separate query-only key (`COMETAPI_QUERY_KEY`) asked, not the API key.
    pub query_key: bool,
}

/// One key of the account.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KeyBalance {
    /// The key's name in the CometAPI console (never the key itself).
    pub name: String,
    /// What the key may still spend, in US dollars; absent when unlimited (`-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_usd: Option<f64>,
    /// What the key has spent, in US dollars, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_usd: Option<f64>,
    /// Whether the key has no spending limit of its own.
    pub unlimited: bool,
}

/// The reply as the balance service documents it; every field optional and read leniently.
#[derive(Debug, Default, Deserialize)]
struct QuotaReply {
    #[serde(default)]
    total_quota: Option<Value>,
    #[serde(default)]
    total_used_quota: Option<Value>,
    #[serde(default)]
    request_count: Option<Value>,
    #[serde(default)]
    keys: Option<Value>,
}

impl Client {
    /// The balance of the account behind the query key (`COMETAPI_QUERY_KEY`) or else the API
    /// key, taking at most `limit` (or the query timeout, if shorter).
    ///
    /// API: <https://apidoc.cometapi.com/tools/balance-api>
    pub async fn balance_within(
        &self,
        limit: Option<std::time::Duration>,
    ) -> Result<Balance, Error> {
        let (key, query_key) = self.quota_key()?;
        let origin = self.quota_origin()?;
        let shown = quota_url(&origin);
        let mut url = shown.clone();
        url.query_pairs_mut().append_pair("key", key.expose());
        let timeout = self.query_timeout(limit);
        tracing::debug!(url = %display_url(&shown), "balance query");
        let builder = self
            .http()?
            .get(url)
            .header(header::ACCEPT, "application/json")
            .timeout(timeout);
        // Errors name `shown`, never the URL that carries the key.
        let reply = self
            .send(crate::metrics::Route::Quota, builder, &shown, timeout)
            .await
            .map_err(|e| self.redactor().error(e))?;
        parse_balance(reply.status, shown.as_str(), &reply.body)
            .map(|mut balance| {
                balance.query_key = query_key;
                for entry in &mut balance.keys {
                    entry.name = self.redactor().clean(&entry.name);
                }
                balance
            })
            .map_err(|e| self.redactor().error(e))
    }

    /// The balance service's origin: the configured one, else CometAPI's.
    fn quota_origin(&self) -> Result<Url, Error> {
        if let Some(url) = &self.options().quota_url {
            return Ok(url.clone());
        }
        Url::parse(DEFAULT_QUOTA_URL).map_err(|e| Error::Network {
            url: DEFAULT_QUOTA_URL.to_owned(),
            detail: e.to_string(),
            before_send: true,
        })
    }
}

/// `{origin}/user/quota`, keeping any path prefix of a proxy origin, without a query.
fn quota_url(origin: &Url) -> Url {
    path_on(origin, QUOTA_PATH)
}

/// A balance reply: `total_quota` and the rest on 2xx, an error otherwise.
fn parse_balance(status: u16, url: &str, body: &[u8]) -> Result<Balance, Error> {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let message = value.as_ref().and_then(message_of);
    if !(200..300).contains(&status) {
        return Err(status_error(status, url, message, body));
    }
    let reply: QuotaReply = value
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let Some(balance_usd) = reply.total_quota.as_ref().and_then(number) else {
        // A 2xx without a balance but with a message is a refusal worded as a success.
        return Err(match message {
            Some(message) => Error::Api(ApiError {
                kind: ErrorKind::Auth,
                status,
                code: None,
                message,
                request_id: None,
                retry_after: None,
            }),
            None => Error::MalformedResponse {
                status,
                url: url.to_owned(),
                detail: format!("no total_quota in the reply: {}", head(body)),
            },
        });
    };
    Ok(Balance {
        balance_usd,
        used_usd: reply.total_used_quota.as_ref().and_then(number),
        request_count: reply
            .request_count
            .as_ref()
            .and_then(number)
            .filter(|n| *n >= 0.0)
            .map(|n| n as u64),
        keys: keys_of(reply.keys.as_ref()),
        query_key: false,
    })
}

/// The error for a non-2xx balance reply.
fn status_error(status: u16, url: &str, message: Option<String>, body: &[u8]) -> Error {
    let kind = match status {
        401 => ErrorKind::Auth,
        403 => ErrorKind::PermissionDenied,
        429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::UpstreamUnavailable,
        _ => {
            return Error::MalformedResponse {
                status,
                url: url.to_owned(),
                detail: format!(
                    "not a balance service reply (check COMETAPI_QUOTA_URL): {}",
                    head(body)
                ),
            };
        }
    };
    Error::Api(ApiError {
        kind,
        status,
        code: None,
        message: message.unwrap_or_else(|| "the balance service refused the query".into()),
        request_id: None,
        retry_after: None,
    })
}

/// The per-key entries: named, with a finite limit or `-1` for unlimited.
fn keys_of(keys: Option<&Value>) -> Vec<KeyBalance> {
    let Some(Value::Array(keys)) = keys else {
        return Vec::new();
    };
    keys.iter()
        .take(MAX_KEYS)
        .filter_map(|entry| {
            let name: String = entry
                .get("name")
                .and_then(Value::as_str)?
                .chars()
                .take(MAX_NAME_CHARS)
                .collect();
            let remain = entry.get("remain_quota").and_then(number);
            let unlimited = remain.is_some_and(|r| r < 0.0);
            Some(KeyBalance {
                name,
                remaining_usd: remain.filter(|r| *r >= 0.0),
                used_usd: entry
                    .get("used_quota")
                    .and_then(number)
                    .filter(|u| *u >= 0.0),
                unlimited,
            })
        })
        .collect()
}

/// A finite number, given as a JSON number or a numeric string.
fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// The error text of a reply, under the names gateways use.
fn message_of(value: &Value) -> Option<String> {
    ["message", "error", "msg"]
        .iter()
        .find_map(|name| match value.get(name)? {
            Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
            Value::Object(inner) => inner
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        })
}

/// The first bytes of a body, for an error message.
fn head(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let head: String = text.chars().take(200).collect();
    if head.len() < text.len() {
        format!("{head}…")
    } else {
        head
    }
}

#[cfg(test)]
mod tests;
