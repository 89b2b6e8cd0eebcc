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
use crate::metrics::Route;

/// CometAPI's production origin. Kling routes hang off the root, not `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.cometapi.com";

/// The endpoint path, relative to the origin.
const OMNI_VIDEO_PATH: &str = "kling/v1/videos/omni-video";

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

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
