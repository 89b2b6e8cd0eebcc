//! The HTTP client for CometAPI's Kling Omni Video endpoints: one shared connection pool,
//! explicit timeouts on every call, no silent redirects, and bounded reply sizes.

use std::time::Duration;

use reqwest::{Url, header};

use super::body::CreateBody;
use super::error::Error;
use super::ids::{ExternalTaskId, TaskId};
use super::lazy_http::LazyHttp;
use super::redact::{Redactor, display_url};
use super::response::{parse_create, parse_query};
use super::secret::ApiKey;
use super::task::{CreatedTask, Task};
use super::validate::ValidRequest;
use crate::metrics::{self, Route, UpstreamOutcome};

/// CometAPI's production origin. Kling routes hang off the root, not `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.cometapi.com";

/// The endpoint path, relative to the origin.
const OMNI_VIDEO_PATH: &str = "kling/v1/videos/omni-video";

/// Longest `Retry-After` honoured (spec §7).
const MAX_RETRY_AFTER_SECS: u64 = 60;

/// Largest reply body read; real replies are a few KiB, so more means a wrong endpoint.
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Settings for [`Client`]. Defaults follow spec §7.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// API origin, e.g. `https://api.cometapi.com` (tests use a loopback simulator).
    pub base_url: Url,
    /// The key; without it every call fails with [`Error::MissingApiKey`] and sends nothing.
    pub api_key: Option<ApiKey>,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Total time allowed for a query.
    pub query_timeout: Duration,
    /// Total time allowed for a create.
    pub create_timeout: Duration,
    /// Other secrets to keep out of upstream text (the HTTP bearer token); the key and the
    /// base URL's user name and password are always kept out.
    pub other_secrets: Vec<secrecy::SecretString>,
    /// Origin of the balance query (`COMETAPI_QUOTA_URL`); `None` is CometAPI's own.
    pub quota_url: Option<Url>,
    /// A separate query-only key for the balance query (`COMETAPI_QUERY_KEY`); `None` asks
    /// with the API key.
    pub query_key: Option<ApiKey>,
}

impl ClientOptions {
    /// Options with the spec's timeouts (10 s connect, 30 s query, 60 s create).
    pub fn new(base_url: Url, api_key: Option<ApiKey>) -> Self {
        Self {
            base_url,
            api_key,
            connect_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(30),
            create_timeout: Duration::from_secs(60),
            other_secrets: Vec::new(),
            quota_url: None,
            query_key: None,
        }
    }
}

/// A CometAPI client. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: LazyHttp,
    endpoint: Url,
    options: ClientOptions,
    /// Cleans every string taken from a reply before it is returned.
    redactor: Redactor,
}

impl Client {
    /// Builds the client. Fails only if the TLS stack cannot be set up.
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        let connect_timeout = options.connect_timeout;
        // Built on first use: see `LazyHttp`.
        let http = LazyHttp::new(move || {
            reqwest::Client::builder()
                .user_agent(concat!(
                    env!("CARGO_PKG_NAME"),
                    "/",
                    env!("CARGO_PKG_VERSION")
                ))
                .connect_timeout(connect_timeout)
                // A redirect means a wrong base URL; following it could send the key elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                .build()
        });
        let endpoint = endpoint_url(&options.base_url);
        let mut redactor = Redactor::default().with_url_userinfo(&options.base_url);
        if let Some(quota_url) = &options.quota_url {
            redactor = redactor.with_url_userinfo(quota_url);
        }
        if let Some(key) = &options.query_key {
            redactor = redactor.with(key.expose());
        }
        for secret in &options.other_secrets {
            redactor = redactor.with(secrecy::ExposeSecret::expose_secret(secret));
        }
        if let Some(key) = &options.api_key {
            redactor = redactor.with(key.expose());
        }
        Ok(Self {
            http,
            endpoint,
            options,
            redactor,
        })
    }

    /// The same client (and connection pool) with another key: for callers that bring their
    /// own CometAPI key.
    pub fn with_key(&self, api_key: ApiKey) -> Self {
        let mut client = self.clone();
        // This key joins the secrets; the server's own key stays among them.
        client.redactor = client.redactor.with(api_key.expose());
        client.options.api_key = Some(api_key);
        // The caller's balance is its own key's, never the server's query key's.
        client.options.query_key = None;
        client
    }

    /// Whether a key is set: without one every call fails with [`Error::MissingApiKey`].
    pub fn has_key(&self) -> bool {
        self.options.api_key.is_some()
    }

    /// The HTTP client, built on first use.
    pub(super) fn http(&self) -> Result<&reqwest::Client, Error> {
        self.http.get().map_err(|detail| Error::Network {
            url: display_url(&self.options.base_url),
            detail: format!("could not set up the HTTP client: {detail}"),
            before_send: true,
        })
    }

    /// The create endpoint URL, for messages and diagnostics.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// Submits a generation task. Only a [`ValidRequest`] can be sent, so every API rule was
    /// checked first, and the body always carries `model_name`, `mode` and an `external_task_id`.
    ///
    /// Never retried here: a create that may have reached the server could start and bill a
    /// second task (spec §7).
    ///
    /// API: <https://apidoc.cometapi.com/api/video/kling/omni-video>
    pub async fn create_task(&self, request: &ValidRequest) -> Result<CreatedTask, Error> {
        self.create_task_within(request, None).await
    }

    /// [`Client::create_task`] taking at most `limit` (or the create timeout, if shorter): a
    /// caller with a deadline of its own passes the time it has left.
    pub async fn create_task_within(
        &self,
        request: &ValidRequest,
        limit: Option<Duration>,
    ) -> Result<CreatedTask, Error> {
        let timeout = shortest(self.options.create_timeout, limit);
        let key = self.key()?;
        let url = self.endpoint.clone();
        tracing::debug!(url = %display_url(&url), external_task_id = ?request.body().external_task_id, "create task");
        // Streamed from the shared request: a body of megabytes of images is never copied
        // whole, and each attempt (retries too) builds its own.
        let body = CreateBody::new(request.shared_body()).map_err(|e| Error::Network {
            url: url.to_string(),
            detail: format!("could not serialise the request: {e}"),
            before_send: true,
        })?;
        let builder = self
            .http()?
            .post(url.clone())
            .header(header::AUTHORIZATION, key.bearer())
            .header(header::CONTENT_TYPE, "application/json")
            .timeout(timeout)
            .body(reqwest::Body::wrap(body));
        let reply = self
            .send(Route::Submit, builder, &url, timeout)
            .await
            .map_err(|e| self.redactor.error(e))?;
        reply
            .attach_retry_after(parse_create(reply.status, url.as_str(), &reply.body))
            .map(|created| self.redactor.created(created))
            .map_err(|e| self.redactor.error(e))
    }

    /// Fetches a task's status and, once finished, its videos.
    ///
    /// API: <https://apidoc.cometapi.com/api/video/kling/omni-query>
    pub async fn get_task(&self, task_id: &TaskId) -> Result<Task, Error> {
        self.get_task_within(task_id, None).await
    }

    /// [`Client::get_task`] taking at most `limit` (or the query timeout, if shorter). The
    /// timeout covers the whole exchange, body included, so a body that never ends is cut too.
    pub async fn get_task_within(
        &self,
        task_id: &TaskId,
        limit: Option<Duration>,
    ) -> Result<Task, Error> {
        self.query_within(task_id.as_str(), limit).await
    }

    /// Looks a task up by the external id its create carried (spec §7: the query path takes
    /// either id), taking at most `limit`.
    pub async fn find_by_external_id(
        &self,
        external: &ExternalTaskId,
        limit: Option<Duration>,
    ) -> Result<Task, Error> {
        self.query_within(external.as_str(), limit).await
    }

    /// `GET .../omni-video/{id}` with an id already checked to be one path segment.
    async fn query_within(&self, task_id: &str, limit: Option<Duration>) -> Result<Task, Error> {
        let timeout = shortest(self.options.query_timeout, limit);
        let key = self.key()?;
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(task_id);
        }
        tracing::debug!(url = %display_url(&url), "query task");
        let builder = self
            .http()?
            .get(url.clone())
            .header(header::AUTHORIZATION, key.bearer())
            .timeout(timeout);
        let reply = self
            .send(Route::Poll, builder, &url, timeout)
            .await
            .map_err(|e| self.redactor.error(e))?;
        reply
            .attach_retry_after(parse_query(reply.status, url.as_str(), &reply.body))
            .map(|task| self.redactor.task(task))
            .map_err(|e| self.redactor.error(e))
    }

    fn key(&self) -> Result<&ApiKey, Error> {
        self.options.api_key.as_ref().ok_or(Error::MissingApiKey)
    }

    /// The key the balance query sends, and whether it is the separate query-only key.
    pub(super) fn quota_key(&self) -> Result<(&ApiKey, bool), Error> {
        match &self.options.query_key {
            Some(key) => Ok((key, true)),
            None => self.key().map(|key| (key, false)),
        }
    }

    /// The settings the client was built with.
    pub(super) fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Cleans upstream text of every secret this client knows.
    pub(super) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// The query timeout, or `limit` when that is shorter.
    pub(super) fn query_timeout(&self, limit: Option<Duration>) -> Duration {
        shortest(self.options.query_timeout, limit)
    }

    /// Sends a request on `route` and reads at most [`MAX_REPLY_BYTES`] of the reply; counts
    /// it, with its status and time, in the metrics. `url` is what messages name: the
    /// request's own URL may carry a secret (the balance query's key).
    pub(super) async fn send(
        &self,
        route: Route,
        builder: reqwest::RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let started = std::time::Instant::now();
        let result = self.exchange(builder, url, timeout).await;
        let outcome = match &result {
            Ok(reply) => UpstreamOutcome::Status(reply.status),
            Err(err) => upstream_outcome(err),
        };
        metrics::upstream(route, outcome, started.elapsed());
        result
    }

    /// One request and its reply, at most [`MAX_REPLY_BYTES`] of it.
    async fn exchange(
        &self,
        builder: reqwest::RequestBuilder,
        url: &Url,
        timeout: Duration,
    ) -> Result<Reply, Error> {
        let transport_error = |e: reqwest::Error| transport_error(e, url, timeout);
        let mut response = builder.send().await.map_err(transport_error)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)));
        if status.is_redirection() {
            let target = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            return Err(Error::MalformedResponse {
                status: status.as_u16(),
                url: url.to_string(),
                detail: format!("redirect to {target}, not followed"),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_REPLY_BYTES {
                return Err(Error::MalformedResponse {
                    status: status.as_u16(),
                    url: url.to_string(),
                    detail: format!("reply larger than {MAX_REPLY_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(status = status.as_u16(), bytes = body.len(), "reply");
        Ok(Reply {
            status: status.as_u16(),
            body,
            retry_after,
        })
    }
}

/// A raw reply: status, body, and the server's `Retry-After`.
pub(super) struct Reply {
    /// HTTP status.
    pub(super) status: u16,
    /// The body, at most [`MAX_REPLY_BYTES`].
    pub(super) body: Vec<u8>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// Puts the reply's `Retry-After` on an API error, so retries can honour it.
    fn attach_retry_after<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|err| match err {
            Error::Api(mut api) => {
                api.retry_after = self.retry_after;
                Error::Api(api)
            }
            other => other,
        })
    }
}

/// How a failed exchange ended, for the metrics.
fn upstream_outcome(error: &Error) -> UpstreamOutcome {
    match error {
        Error::Timeout { .. } => UpstreamOutcome::Timeout,
        Error::MalformedResponse { status, .. } => UpstreamOutcome::Status(*status),
        _ => UpstreamOutcome::Network,
    }
}

/// The configured timeout, or `limit` when that is shorter.
fn shortest(configured: Duration, limit: Option<Duration>) -> Duration {
    limit.map_or(configured, |limit| configured.min(limit))
}

/// `{origin}/kling/v1/videos/omni-video`, keeping any path prefix of a proxy origin.
fn endpoint_url(base: &Url) -> Url {
    path_on(base, OMNI_VIDEO_PATH)
}

/// `{origin}/{path}` without query or fragment, keeping any path prefix of a proxy origin.
pub(super) fn path_on(origin: &Url, path: &str) -> Url {
    let mut url = origin.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

fn transport_error(error: reqwest::Error, url: &Url, timeout: Duration) -> Error {
    if error.is_timeout() {
        return Error::Timeout {
            url: url.to_string(),
            after: timeout,
        };
    }
    // reqwest's Display names the request's URL, which may carry a key (the balance query);
    // the error names `url` instead.
    let error = error.without_url();
    Error::Network {
        url: url.to_string(),
        detail: error_chain(&error),
        before_send: error.is_connect(),
    }
}

/// An error and its causes on one line, outermost first.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
