//! The simulator's balance service: `GET /user/quota?key=KEY`, answered in the documented
//! shape (<https://apidoc.cometapi.com/tools/balance-api>). Nothing is charged here, so the
//! balance stays where the configuration put it; the request count is the tasks created.

use std::sync::Arc;

use axum::Json;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{State, lock, routes};

pub(super) async fn balance(
    Extract(state): Extract<Arc<State>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // The key is in the query: the log keeps the path only.
    routes::record(&state, Method::GET, "/user/quota", &headers, None);
    let key = key_of(&uri);
    let wanted = state
        .config
        .quota_key
        .as_deref()
        .or(state.config.required_key.as_deref());
    let accepted = match (wanted, key.as_deref()) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(wanted), Some(given)) => wanted == given,
    };
    let echo = if state.config.echo_key {
        format!(" (received key {})", key.unwrap_or_default())
    } else {
        String::new()
    };
    let balance = state.config.balance_usd.filter(|_| accepted);
    let Some(balance) = balance else {
        let body = json!({ "success": false, "message": format!("invalid key{echo}") });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    let created = lock(&state.tasks).len();
    Json(json!({
        "username": "simulated",
        "total_quota": balance,
        "total_used_quota": 0,
        "request_count": created,
        "keys": [{ "name": format!("simulated{echo}"), "remain_quota": -1, "used_quota": 0 }],
    }))
    .into_response()
}

/// The non-empty `key` of a query string.
fn key_of(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    let url = reqwest::Url::parse(&format!("http://sim/?{query}")).ok()?;
    url.query_pairs()
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}
