//! Command-line flags and environment, parsed and checked once at start-up, then passed down
//! as plain values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use reqwest::Url;

use crate::comet::{ApiKey, ClientOptions, DEFAULT_BASE_URL, DownloadOptions};
use crate::jobs::{JobsConfig, PollSchedule, RetryPolicy};
use crate::local_images::AllowedRoots;
use crate::server::HttpOptions;
use crate::store::{BadLocation, StoreLocation};

/// Environment variables, listed in `--help`.
const ENV_HELP: &str = "Environment:
  COMETAPI_KEY        CometAPI key, sent as `Authorization: Bearer ...`. The server starts
                      without it; tool calls then say how to set it. Never printed or logged.
  COMETAPI_BASE_URL   API origin [default: https://api.cometapi.com]
  RUST_LOG            log filter for stderr [default: info]
  KLING_MCP_ALLOWED_DIRS
                      directories local images may be read from, separated like PATH
                      [default: the current directory, or the home directory when that is /]
    KLING_MCP_OUTPUT_DIR, KLING_MCP_STORE, KLING_MCP_MAX_WAIT, KLING_MCP_CALL_DEADLINE,
    KLING_MCP_POLL_MIN, KLING_MCP_POLL_MAX,
    KLING_MCP_CREATE_TIMEOUT, KLING_MCP_QUERY_TIMEOUT, KLING_MCP_RETRY_BASE_MS, KLING_MCP_MAX_CALLS,
  KLING_MCP_ALLOWED_HOSTS, KLING_MCP_ALLOWED_ORIGINS, KLING_MCP_MAX_SESSIONS, KLING_MCP_SESSION_IDLE,
    KLING_MCP_MAX_BODY_BYTES, KLING_MCP_SHUTDOWN_GRACE, KLING_MCP_ALLOW_CLIENT_KEYS,
    KLING_MCP_HEADER_TIMEOUT, KLING_MCP_IDLE_TIMEOUT, KLING_MCP_MAX_CONNECTIONS,
    KLING_MCP_ALLOW_PRIVATE_DOWNLOADS, KLING_MCP_MAX_VIDEOS_PER_TASK, KLING_MCP_MAX_DOWNLOAD_BYTES
                      the same as the flags of those names
  KLING_MCP_HTTP_TOKEN
                      bearer token HTTP clients must send (never logged)

Try it without a key:  kling-omni-mcp --simulate";

/// MCP server for CometAPI's Kling O1 Omni Video API. With no arguments it serves MCP on
/// stdio, which is what MCP clients launch.
#[derive(Debug, Parser)]
#[command(name = "kling-omni-mcp", version, about, after_help = ENV_HELP)]
pub struct Cli {
    /// A subcommand for people; without one, the MCP server runs.
    #[command(subcommand)]
    pub command: Option<crate::cli::Command>,

    /// Use a built-in simulated CometAPI: no key needed, nothing is charged, no real video.
    #[arg(global = true, long)]
    pub simulate: bool,

    /// CometAPI origin (Kling routes hang off it, so no /v1).
    #[arg(global = true, long, env = "COMETAPI_BASE_URL", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub base_url: String,

    /// Allow reading local images from DIR (repeatable; adds to `KLING_MCP_ALLOWED_DIRS`).
    #[arg(global = true, long = "allow-dir", value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,

    /// Where downloaded videos go [default: your Videos folder, in kling-omni-mcp/].
    #[arg(global = true, long, env = "KLING_MCP_OUTPUT_DIR", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Which addresses downloads may reach, and the caps per task.
    #[command(flatten)]
    pub downloads: DownloadFlags,

    /// The task store: a file path or sqlite:PATH (SQLite), postgres://… or postgresql://…
    /// (PostgreSQL, for several instances), or `off` (memory only) [default: tasks.sqlite3 in
    /// the per-user data directory].
    #[arg(global = true, long, env = "KLING_MCP_STORE", value_name = "STORE")]
    pub store: Option<String>,

    /// Deprecated: the JSON Lines journal of earlier versions. It is imported into the store
    /// once (then renamed *.imported); `off` means `--store off`.
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_JOURNAL",
        value_name = "FILE",
        hide = true
    )]
    pub journal: Option<String>,

    /// Longest a tool call may wait for a task (`wait_seconds` is capped to this).
    #[arg(
        long,
        env = "KLING_MCP_MAX_WAIT",
        default_value_t = 50.0,
        value_name = "SECS"
    )]
    pub max_wait: f64,

    /// The most one tool call may take, retries and `Retry-After` pauses included; then it
    /// answers with what it knows. Under 60 s (when MCP clients give up) [default: --max-wait
    /// plus 5 s, at most 55 s].
    #[arg(long, env = "KLING_MCP_CALL_DEADLINE", value_name = "SECS")]
    pub call_deadline: Option<f64>,

    /// Shortest time between two polls of a task; the interval then grows 1.5x per poll.
    #[arg(
        long,
        env = "KLING_MCP_POLL_MIN",
        default_value_t = 3.0,
        value_name = "SECS"
    )]
    pub poll_min: f64,

    /// Longest time between two polls of a task.
    #[arg(
        long,
        env = "KLING_MCP_POLL_MAX",
        default_value_t = 15.0,
        value_name = "SECS"
    )]
    pub poll_max: f64,

    /// Timeout of a create request.
    #[arg(
        long,
        env = "KLING_MCP_CREATE_TIMEOUT",
        default_value_t = 60.0,
        value_name = "SECS"
    )]
    pub create_timeout: f64,

    /// Timeout of a status query.
    #[arg(
        long,
        env = "KLING_MCP_QUERY_TIMEOUT",
        default_value_t = 30.0,
        value_name = "SECS"
    )]
    pub query_timeout: f64,

    /// First retry backoff step; later steps double, up to 30 s.
    #[arg(
        long,
        env = "KLING_MCP_RETRY_BASE_MS",
        default_value_t = 1000,
        value_name = "MS"
    )]
    pub retry_base_ms: u64,

    /// Most tool calls one client session may run at once.
    #[arg(
        long = "max-calls",
        env = "KLING_MCP_MAX_CALLS",
        default_value_t = 16,
        value_name = "N"
    )]
    pub max_calls_per_session: usize,

    /// Serve MCP over streamable HTTP at ADDR (endpoint /mcp) instead of stdio, e.g.
    /// 127.0.0.1:8787. A non-loopback address needs a token.
    #[arg(
        global = true,
        long,
        value_name = "ADDR",
        help_heading = "HTTP transport"
    )]
    pub http: Option<SocketAddr>,

    /// Read the bearer token HTTP clients must send from FILE (or set `KLING_MCP_HTTP_TOKEN`).
    #[arg(
        global = true,
        long,
        value_name = "FILE",
        help_heading = "HTTP transport"
    )]
    pub http_token_file: Option<PathBuf>,

    /// Also accept this Host header (repeatable or comma-separated; loopback names always are).
    #[arg(
        long = "allow-host",
        env = "KLING_MCP_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST",
        help_heading = "HTTP transport"
    )]
    pub allow_hosts: Vec<String>,

    /// Accept browser requests from this Origin, e.g. <https://app.example.com:443> (repeatable).
    #[arg(
        long = "allow-origin",
        env = "KLING_MCP_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN",
        help_heading = "HTTP transport"
    )]
    pub allow_origins: Vec<String>,

    /// Most HTTP sessions open at once.
    #[arg(
        long,
        env = "KLING_MCP_MAX_SESSIONS",
        default_value_t = 1000,
        value_name = "N",
        help_heading = "HTTP transport"
    )]
    pub max_sessions: usize,

    /// Close HTTP sessions idle this long.
    #[arg(
        long,
        env = "KLING_MCP_SESSION_IDLE",
        default_value_t = 600.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub session_idle: f64,

    /// Largest HTTP request body.
    #[arg(global = true, long, env = "KLING_MCP_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_name = "BYTES", help_heading = "HTTP transport")]
    pub max_body_bytes: usize,

    /// Let each HTTP caller use its own CometAPI key, sent in the `X-CometAPI-Key` header, for
    /// its own calls (tasks are then billed to that key). Off by default.
    #[arg(
        long,
        env = "KLING_MCP_ALLOW_CLIENT_KEYS",
        help_heading = "HTTP transport"
    )]
    pub allow_client_keys: bool,

    /// On SIGINT/SIGTERM, how long running calls may take to finish.
    #[arg(
        long,
        env = "KLING_MCP_SHUTDOWN_GRACE",
        default_value_t = 10.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub shutdown_grace: f64,

    /// Header deadline, idle timeout and connection cap of the HTTP transport.
    #[command(flatten)]
    pub connections: ConnectionFlags,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CometAPI key, if set.
    pub api_key: Option<ApiKey>,
    /// The CometAPI origin.
    pub base_url: Url,
    /// Run against the built-in simulator.
    pub simulate: bool,
    /// Directories local images may be read from.
    pub allowed_roots: AllowedRoots,
    /// Job settings: waits, polling, retries, downloads.
    pub jobs: JobsConfig,
    /// How result videos are fetched.
    pub download: DownloadOptions,
    /// Where the task store lives.
    pub store: StoreLocation,
    /// A journal of earlier versions to import into the store, if it exists.
    pub legacy_journal: Option<PathBuf>,
    /// What to tell the user about deprecated settings in use.
    pub deprecations: Vec<String>,
    /// Timeout of a create request.
    pub create_timeout: Duration,
    /// Timeout of a status query.
    pub query_timeout: Duration,
    /// Most tool calls one session may run at once.
    pub max_calls_per_session: usize,
    /// Serve over HTTP with these settings; `None` serves stdio.
    pub http: Option<HttpOptions>,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("COMETAPI_BASE_URL must be an http(s) URL such as https://api.cometapi.com, got {0:?}")]
    BadBaseUrl(String),
    /// A duration flag is not a positive number of seconds.
    #[error("--{0} must be a positive number of seconds, got {1}")]
    BadSeconds(&'static str, f64),
    /// The store setting cannot be used.
    #[error(transparent)]
    BadStore(#[from] BadLocation),
    /// `--call-deadline` is not under the 60 s after which MCP clients give up.
    #[error(
        "--call-deadline must be a positive number of seconds under 60 (MCP clients give up on a call after about 60 s), got {0}"
    )]
    BadCallDeadline(f64),
    /// The token file cannot be read.
    #[error("cannot read --http-token-file {0}: {1}")]
    TokenFile(PathBuf, std::io::Error),
}

impl Config {
    /// Checks the flags and reads `COMETAPI_KEY` through `env`.
    pub fn new(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        // Before any field of `cli` moves out: the HTTP settings read several of them.
        let http = match cli.http {
            None => None,
            Some(addr) => Some(http_flags::http_options(&cli, addr, &env)?),
        };
        let raw = cli.base_url.trim();
        let base_url = Url::parse(raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| ConfigError::BadBaseUrl(raw.to_owned()))?;
        if base_url.path().trim_end_matches('/').ends_with("/v1") {
            tracing::warn!(base_url = %crate::comet::display_url(&base_url), "COMETAPI_BASE_URL ends in /v1, but Kling routes hang off the origin");
        }
        let mut dirs = cli.allow_dirs;
        if let Some(list) = env("KLING_MCP_ALLOWED_DIRS") {
            dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
        }
        if dirs.is_empty() {
            dirs.extend(default_root());
        }
        let retry_base = Duration::from_millis(cli.retry_base_ms.max(1));
        let jobs = JobsConfig {
            max_wait: seconds("max-wait", cli.max_wait)?,
            schedule: PollSchedule {
                min: seconds("poll-min", cli.poll_min)?,
                max: seconds("poll-max", cli.poll_max)?.max(seconds("poll-min", cli.poll_min)?),
            },
            retry: RetryPolicy {
                base: retry_base,
                ..RetryPolicy::default()
            },
            output_dir: cli.output_dir.unwrap_or_else(default_output_dir),
            downloads: cli.downloads.limits(),
            create_timeout: seconds("create-timeout", cli.create_timeout)?,
            call_deadline: call_deadline(cli.call_deadline, seconds("max-wait", cli.max_wait)?)?,
        };
        let (store, legacy_journal, deprecations) = store_settings(cli.store, cli.journal)?;
        Ok(Self {
            api_key: env("COMETAPI_KEY").as_deref().and_then(ApiKey::new),
            base_url,
            simulate: cli.simulate,
            allowed_roots: AllowedRoots::new(dirs),
            jobs,
            download: cli.downloads.options(cli.simulate),
            store,
            legacy_journal,
            deprecations,
            create_timeout: seconds("create-timeout", cli.create_timeout)?,
            query_timeout: seconds("query-timeout", cli.query_timeout)?,
            max_calls_per_session: cli.max_calls_per_session.max(1),
            http,
        })
    }

    /// Reads the real process environment.
    pub fn from_env(cli: Cli) -> Result<Self, ConfigError> {
        Self::new(cli, |name| std::env::var(name).ok())
    }
}

impl Config {
    /// Client options for `base_url` and `api_key` with the configured timeouts.
    pub fn client_options(&self, base_url: Url, api_key: Option<ApiKey>) -> ClientOptions {
        ClientOptions {
            create_timeout: self.create_timeout,
            query_timeout: self.query_timeout,
            other_secrets: self.http.iter().filter_map(|h| h.token.clone()).collect(),
            ..ClientOptions::new(base_url, api_key)
        }
    }
}

/// `--call-deadline`, or `max_wait` + 5 s (at most 55 s). An explicit value of 60 s or more
/// is refused rather than clamped: the user asked for something clients cannot wait for.
fn call_deadline(value: Option<f64>, max_wait: Duration) -> Result<Duration, ConfigError> {
    let Some(secs) = value else {
        return Ok((max_wait + Duration::from_secs(5)).min(Duration::from_secs(55)));
    };
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero() && *d < Duration::from_secs(60))
        .ok_or(ConfigError::BadCallDeadline(secs))
}

/// A positive number of seconds from flag `name`.
fn seconds(name: &'static str, value: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or(ConfigError::BadSeconds(name, value))
}

#[path = "config_paths.rs"]
mod paths;
use paths::{default_output_dir, default_root, store_settings};

#[path = "config_http.rs"]
mod http_flags;

pub use http_flags::ConnectionFlags;

#[path = "config_download.rs"]
mod download_flags;

pub use download_flags::DownloadFlags;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
