//! The HTTP client for result videos, separate from the API client: it sends no key, follows a
//! few redirects (CDNs use them; with no key aboard that is safe), reaches only public addresses
//! unless told otherwise (see [`super::public_addr`]), and streams with a byte cap.

use std::time::Duration;

use reqwest::Url;

use super::exchange::error_chain;
use super::lazy_http::LazyHttp;
use super::public_addr::{PublicOnly, Refusal, check_url, redirect_policy};
use crate::metrics::{self, Route, UpstreamOutcome};

/// Most redirects followed for one video.
const MAX_REDIRECTS: usize = 5;

/// Settings for [`Downloader`].
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// Also reach loopback, private and link-local addresses, and follow redirects to http
    /// (for the simulator and local test servers).
    pub allow_private: bool,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Total time allowed for one video.
    pub timeout: Duration,
}

impl Default for DownloadOptions {
    /// Public addresses only, 10 s to connect, 10 minutes per video.
    fn default() -> Self {
        Self {
            allow_private: false,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(600),
        }
    }
}

/// A failed download. Its kind, for agents, is always `download_failed`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DownloadError {
    /// The HTTP client could not be set up.
    #[error("cannot set up the download client: {0}")]
    Setup(String),
    /// The reply named something that is not an http(s) URL.
    #[error("{url:?} is not a video URL")]
    BadUrl {
        /// What the reply named.
        url: String,
    },
    /// The URL, an address it resolved to, or a redirect target is not allowed.
    #[error("refused to download {url}: {refusal}")]
    Refused {
        /// The URL the reply named.
        url: String,
        /// Why.
        refusal: Refusal,
    },
    /// The video host answered with an error status.
    #[error("the video host answered HTTP {status} for {url} (the URL may have expired)")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// No complete video within the timeout.
    #[error("{url} did not finish downloading within {}s", .after.as_secs())]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection failed or broke.
    #[error("could not download {url}: {detail}")]
    Transport {
        /// The URL.
        url: String,
        /// The transport error.
        detail: String,
    },
    /// The reply lists more videos than a task may download.
    #[error("the task lists {count} videos, more than the {max} a task may download")]
    TooManyVideos {
        /// How many the reply lists.
        count: usize,
        /// The cap (`--max-videos-per-task`).
        max: usize,
    },
    /// The task's videos are larger than allowed.
    #[error("the task's videos are larger than the {max_bytes} bytes a task may download")]
    TooLarge {
        /// The cap (`--max-download-bytes`).
        max_bytes: u64,
    },
    /// The output directory cannot be written.
    #[error("cannot write {path}: {detail}")]
    Write {
        /// The file or directory.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// The caller cancelled; nothing was kept.
    #[error("the download was cancelled; nothing was saved")]
    Cancelled,
}

impl DownloadError {
    /// The stable kind name shown to agents.
    pub fn kind(&self) -> &'static str {
        "download_failed"
    }

    /// Whether the same download may succeed later, unchanged.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            Self::Timeout { .. } | Self::Transport { .. } | Self::Cancelled => true,
            _ => false,
        }
    }
}

/// A client for result videos. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Downloader {
    http: LazyHttp,
    options: DownloadOptions,
}

impl Downloader {
    /// Builds the client. Fails only if the TLS stack cannot be set up.
    pub fn new(options: DownloadOptions) -> Result<Self, DownloadError> {
        let (connect_timeout, allow_private) = (options.connect_timeout, options.allow_private);
        // Built on first use: most sessions never download (see `LazyHttp`).
        let http = LazyHttp::new(move || {
            let builder = reqwest::Client::builder()
                .user_agent(concat!(
                    env!("CARGO_PKG_NAME"),
                    "/",
                    env!("CARGO_PKG_VERSION")
                ))
                .connect_timeout(connect_timeout)
                .redirect(redirect_policy(allow_private, MAX_REDIRECTS));
            match allow_private {
                true => builder.build(),
                false => builder.dns_resolver(PublicOnly).build(),
            }
        });
        Ok(Self { http, options })
    }

    /// Streams the video at `url` into `out` without holding it in memory; returns its size.
    /// Fails with [`DownloadError::TooLarge`] (carrying `max_bytes`) once it would exceed
    /// `max_bytes`. Sends no key: result URLs are public CDN links, and the key must not leave
    /// CometAPI.
    pub async fn fetch<W>(
        &self,
        url: &str,
        out: &mut W,
        max_bytes: u64,
    ) -> Result<u64, DownloadError>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        let started = std::time::Instant::now();
        let mut status = None;
        let result = self.fetch_into(url, out, max_bytes, &mut status).await;
        let outcome = match (&result, status) {
            // A refused address or a bad URL sent nothing: not an upstream request.
            (Err(DownloadError::Refused { .. } | DownloadError::BadUrl { .. }), None) => {
                return result;
            }
            (_, Some(status)) => UpstreamOutcome::Status(status),
            (Err(DownloadError::Timeout { .. }), None) => UpstreamOutcome::Timeout,
            _ => UpstreamOutcome::Network,
        };
        metrics::upstream(Route::Download, outcome, started.elapsed());
        result
    }

    /// [`Downloader::fetch`], noting the reply's status in `status` once there is one.
    async fn fetch_into<W>(
        &self,
        url: &str,
        out: &mut W,
        max_bytes: u64,
        status: &mut Option<u16>,
    ) -> Result<u64, DownloadError>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::AsyncWriteExt;
        let parsed = Url::parse(url).map_err(|_| DownloadError::BadUrl {
            url: url.to_owned(),
        })?;
        check_url(&parsed, self.options.allow_private, false).map_err(|refusal| {
            DownloadError::Refused {
                url: url.to_owned(),
                refusal,
            }
        })?;
        let failed = |e: reqwest::Error| self.transport_error(e, url);
        let http = self.http.get().map_err(DownloadError::Setup)?;
        let mut response = http
            .get(parsed)
            .timeout(self.options.timeout)
            .send()
            .await
            .map_err(failed)?;
        *status = Some(response.status().as_u16());
        if !response.status().is_success() {
            return Err(DownloadError::Status {
                url: url.to_owned(),
                status: response.status().as_u16(),
            });
        }
        let too_large = DownloadError::TooLarge { max_bytes };
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(too_large);
        }
        let write_error = |e: std::io::Error| DownloadError::Write {
            path: "the output file".to_owned(),
            detail: e.to_string(),
        };
        let mut written: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            written = written.saturating_add(chunk.len() as u64);
            if written > max_bytes {
                return Err(too_large);
            }
            out.write_all(&chunk).await.map_err(write_error)?;
        }
        out.flush().await.map_err(write_error)?;
        Ok(written)
    }

    fn transport_error(&self, error: reqwest::Error, url: &str) -> DownloadError {
        if let Some(refusal) = find_refusal(&error) {
            return DownloadError::Refused {
                url: url.to_owned(),
                refusal,
            };
        }
        if error.is_timeout() {
            return DownloadError::Timeout {
                url: url.to_owned(),
                after: self.options.timeout,
            };
        }
        DownloadError::Transport {
            url: url.to_owned(),
            detail: error_chain(&error),
        }
    }
}

/// The [`Refusal`] somewhere in an error's source chain (from the resolver or redirect policy).
fn find_refusal(error: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut current = Some(error);
    while let Some(err) = current {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(refusal.clone());
        }
        current = err.source();
    }
    None
}
