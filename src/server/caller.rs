//! Who a request runs for: the server's own key, or (over HTTP, when allowed) the caller's own
//! key with its own job layer; which caller the per-caller limits count it against; and the
//! count of running calls for a graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::RoleServer;
use rmcp::service::RequestContext;

use super::{KlingServer, errors};
use crate::comet;

impl KlingServer {
    /// The server a request should run on: this one, or (when the caller sent its own key and
    /// that is allowed) a copy whose jobs use that key.
    pub(super) fn for_caller(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<Self>, Box<errors::ToolFailure>> {
        let parts = context.extensions.get::<axum::http::request::Parts>();
        let Some(header) = parts.and_then(|p| p.headers.get(CLIENT_KEY_HEADER)) else {
            return Ok(None);
        };
        if !self.client_keys {
            return Err(Box::new(errors::ToolFailure::client_keys_disabled()));
        }
        let key = header
            .to_str()
            .ok()
            .and_then(comet::ApiKey::new)
            .ok_or_else(|| Box::new(errors::ToolFailure::client_keys_disabled()))?;
        let fingerprint = key.fingerprint();
        let mut cache = crate::lock(&self.keyed_jobs);
        if cache.len() >= 1000 && !cache.contains_key(&fingerprint) {
            cache.clear();
        }
        let jobs = cache
            .entry(fingerprint)
            .or_insert_with(|| self.jobs.for_key(key))
            .clone();
        Ok(Some(Self {
            jobs,
            ..self.clone()
        }))
    }
}

/// The header a caller may use to send its own CometAPI key (with `--allow-client-keys`).
pub const CLIENT_KEY_HEADER: &str = "x-cometapi-key";

/// Who an HTTP request runs for, as the per-caller limits count it: the fingerprint of its own
/// CometAPI key when `client_keys` allows one and it sent one, else everyone who holds the
/// bearer token and runs on the server's key. Never the key or the token itself.
pub fn caller_id(headers: &axum::http::HeaderMap, client_keys: bool) -> String {
    let own_key = headers
        .get(CLIENT_KEY_HEADER)
        .filter(|_| client_keys)
        .and_then(|v| v.to_str().ok())
        .and_then(comet::ApiKey::new);
    match own_key {
        Some(key) => format!("key:{}", key.fingerprint()),
        None => SERVER_CALLER.to_owned(),
    }
}

/// The caller of requests on the server's own key.
const SERVER_CALLER: &str = "server";

impl KlingServer {
    /// The caller a request counts against: [`caller_id`] over HTTP; the one local client on
    /// stdio.
    pub(super) fn caller_of(&self, context: &RequestContext<RoleServer>) -> String {
        match context.extensions.get::<axum::http::request::Parts>() {
            Some(parts) => caller_id(&parts.headers, self.client_keys),
            None => "local".to_owned(),
        }
    }
}

/// Counts a running tool call for as long as it lives.
pub(super) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    pub(super) fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
