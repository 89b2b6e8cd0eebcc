//! The clap grammar of the command line (flags, their environment variables, `--help`) and its
//! one conversion, flags and environment → the checked [`Config`].

use clap::Parser;
use secrecy::SecretString;
use std::path::PathBuf;

use crate::comet::{ApiKey, DEFAULT_BASE_URL};
use crate::config::{
    CREATE_TIMEOUT, Config, ConfigError, ListenAddr, MAX_WAIT, POLL_MAX, POLL_MIN, QUERY_TIMEOUT,
    RETRY_BASE_MS, base_url, call_deadline, default_root, output_dir, quota_url, store_settings,
};
use crate::jobs::{JobsConfig, PollSchedule, RetryPolicy};
use crate::local_images::AllowedRoots;

/// Environment variables, listed in `--help`.
const ENV_HELP: &str = "Environment:
  COMETAPI_KEY        CometAPI key, sent as `Authorization: Bearer ...`. The server starts
                      without it; tool calls then say how to set it. Never printed or logged.
  COMETAPI_BASE_URL   API origin [default: https://api.cometapi.com]
  COMETAPI_QUOTA_URL  origin of the balance query [default: https://query.cometapi.com]
  COMETAPI_QUERY_KEY  a query-only key for the balance (CometAPI recommends one) [default:
                      COMETAPI_KEY]. Never printed or logged.
  RUST_LOG            log filter for stderr [default: info]
  KLING_MCP_ALLOWED_DIRS
                      directories local images may be read from, separated like PATH
                      [default: the current directory, or the home directory when that is /]
    KLING_MCP_OUTPUT_DIR, KLING_MCP_STORE, KLING_MCP_MAX_WAIT, KLING_MCP_CALL_DEADLINE,
    KLING_MCP_POLL_MIN, KLING_MCP_POLL_MAX,
    KLING_MCP_CREATE_TIMEOUT, KLING_MCP_QUERY_TIMEOUT, KLING_MCP_RETRY_BASE_MS, KLING_MCP_MAX_CALLS,
  KLING_MCP_ALLOWED_HOSTS, KLING_MCP_ALLOWED_ORIGINS, KLING_MCP_MAX_SESSIONS, KLING_MCP_SESSION_IDLE,
    KLING_MCP_MAX_BODY_BYTES, KLING_MCP_SHUTDOWN_GRACE, KLING_MCP_ALLOW_CLIENT_KEYS,
    KLING_MCP_HEADER_TIMEOUT, KLING_MCP_IDLE_TIMEOUT, KLING_MCP_BODY_TIMEOUT,
    KLING_MCP_MAX_CONNECTIONS, KLING_MCP_BODY_BUDGET_BYTES,
    KLING_MCP_ALLOW_PRIVATE_DOWNLOADS, KLING_MCP_MAX_VIDEOS_PER_TASK, KLING_MCP_MAX_DOWNLOAD_BYTES,
    KLING_MCP_NO_PLAYER, KLING_MCP_PLAYER_ORIGINS, KLING_MCP_MAX_VIDEOS_PER_DAY,
    KLING_MCP_MAX_SECONDS_PER_DAY, KLING_MCP_LOG_FORMAT
                      the same as the flags of those names
  KLING_MCP_HTTP_TOKEN
                      bearer token HTTP clients must send (never logged)
  KLING_MCP_TASK_SECRET
                      seals MCP task ids; give every instance behind a load balancer the same
                      one (32+ bytes) [default: generated once into the per-user data directory]

Try it without a key:  kling-omni-mcp --simulate";

/// MCP server for CometAPI's Kling O1 Omni Video API. With no arguments it serves MCP on
/// stdio, which is what MCP clients launch.
#[derive(Debug, Parser)]
#[command(name = "kling-omni-mcp", version, about, after_help = format!("{ENV_HELP}\n\n{}", super::usage::EXIT_CODES))]
pub struct Cli {
    /// A subcommand for people; without one, the MCP server runs.
    #[command(subcommand)]
    pub command: Option<super::Command>,

    /// Use a built-in simulated CometAPI: no key needed, nothing is charged; its tasks (ids
    /// `sim-…`) all give the same 2-second sample clip.
    #[arg(global = true, long)]
    pub simulate: bool,

    /// CometAPI origin (Kling routes hang off it, so no /v1).
    #[arg(global = true, long, env = "COMETAPI_BASE_URL", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub base_url: String,

    /// Allow reading local images from DIR (repeatable; adds to `KLING_MCP_ALLOWED_DIRS`).
    #[arg(global = true, long = "allow-dir", value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,

    // Also `KLING_MCP_OUTPUT_DIR`, read in `into_config`, where an empty or unexpanded `${…}`
    // value (an unfilled bundle setting) means the default.
    /// Where downloaded videos go (or `KLING_MCP_OUTPUT_DIR`)
    /// [default: your Videos folder, in kling-omni-mcp/].
    #[arg(global = true, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// How stderr log lines are written: `text` (one readable line per event) or `json` (one
    /// JSON object per line, for log collectors).
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

    /// Which addresses downloads may reach, and the caps per task.
    #[command(flatten)]
    pub downloads: DownloadFlags,

    /// Daily spend limits per caller key.
    #[command(flatten)]
    pub spend: SpendFlags,

    /// The MCP Apps player view.
    #[command(flatten)]
    pub player: PlayerFlags,

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

    /// Most calls (tool calls and resource reads) one caller may run at once: the stdio client,
    /// or over HTTP everyone on the server's key, or one `X-CometAPI-Key`, across all sessions.
    #[arg(
        long = "max-calls",
        env = "KLING_MCP_MAX_CALLS",
        default_value_t = 16,
        value_name = "N"
    )]
    pub max_calls_per_session: usize,

    // The HTTP flags are not global: they mean nothing to a subcommand, so its help leaves
    // them out.
    /// Serve MCP over streamable HTTP at ADDR (endpoint /mcp) instead of stdio, e.g.
    /// 127.0.0.1:8787 or localhost:8787. A non-loopback address needs a token.
    #[arg(long, value_name = "ADDR", help_heading = "HTTP transport")]
    pub http: Option<ListenAddr>,

    /// Read the bearer token HTTP clients must send from FILE (or set `KLING_MCP_HTTP_TOKEN`).
    #[arg(long, value_name = "FILE", help_heading = "HTTP transport")]
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

    /// Most HTTP sessions (2025-11-25 `initialize`s) open at once. When full, a new one closes
    /// the least recently used idle session of the caller holding the most; a caller keeps at
    /// most half the table against others. Stateless 2026-07-28 requests take no session.
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
    #[arg(long, env = "KLING_MCP_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024, value_name = "BYTES", help_heading = "HTTP transport")]
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

impl Cli {
    /// Checks the flags and reads `COMETAPI_KEY` and the other variables through `env`.
    pub fn into_config(self, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // Before any field of `self` moves out: the HTTP settings read several of them.
        let http = match self.http {
            None => None,
            Some(addr) => Some(http::http_config(&self, addr, &env)?),
        };
        let base_url = base_url(&self.base_url)?;
        // Told by `main` (a log line for a server, a `warning:` line for a person).
        let v1_note = base_url
            .path()
            .trim_end_matches('/')
            .ends_with("/v1")
            .then(|| {
                format!(
                    "COMETAPI_BASE_URL {} ends in /v1, but Kling routes hang off the origin",
                    crate::comet::display_url(&base_url)
                )
            });
        let mut dirs = self.allow_dirs;
        if let Some(list) = env("KLING_MCP_ALLOWED_DIRS") {
            dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
        }
        if dirs.is_empty() {
            dirs.extend(default_root());
        }
        // Precision lost above 2^53 ms is far outside the range anyway.
        let retry_base = RETRY_BASE_MS.parse(self.retry_base_ms as f64)?;
        let max_wait = MAX_WAIT.parse(self.max_wait)?;
        let poll_min = POLL_MIN.parse(self.poll_min)?;
        let create_timeout = CREATE_TIMEOUT.parse(self.create_timeout)?;
        let jobs = JobsConfig {
            max_wait,
            schedule: PollSchedule {
                min: poll_min,
                max: POLL_MAX.parse(self.poll_max)?.max(poll_min),
            },
            retry: RetryPolicy {
                base: retry_base,
                ..RetryPolicy::default()
            },
            output_dir: output_dir(self.output_dir, env("KLING_MCP_OUTPUT_DIR")),
            downloads: self.downloads.limits(),
            create_timeout,
            call_deadline: call_deadline(self.call_deadline, max_wait)?,
            spend: self.spend.limits(),
        };
        let (store, legacy_journal, mut deprecations) = store_settings(self.store, self.journal)?;
        deprecations.extend(v1_note);
        Ok(Config {
            api_key: env("COMETAPI_KEY").as_deref().and_then(ApiKey::new),
            base_url,
            quota_url: quota_url(env("COMETAPI_QUOTA_URL").as_deref())?,
            query_key: env("COMETAPI_QUERY_KEY").as_deref().and_then(ApiKey::new),
            simulate: self.simulate,
            allowed_roots: AllowedRoots::new(dirs),
            jobs,
            download: self.downloads.options(self.simulate),
            store,
            legacy_journal,
            deprecations,
            create_timeout,
            query_timeout: QUERY_TIMEOUT.parse(self.query_timeout)?,
            max_calls_per_session: self.max_calls_per_session.max(1),
            http,
            task_secret: env("KLING_MCP_TASK_SECRET").map(SecretString::from),
            data_dir: crate::config::data_dir(),
            player_origins: self.player.origins()?,
        })
    }

    /// Checks the flags against the real process environment.
    pub fn into_config_from_env(self) -> Result<Config, ConfigError> {
        self.into_config(|name| std::env::var(name).ok())
    }
}

mod http;

pub use http::ConnectionFlags;

/// The format of stderr log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`), `target`.
    Json,
}

mod download;

pub use download::DownloadFlags;

mod player;

pub use player::PlayerFlags;

mod spend;

pub use spend::SpendFlags;

// Named for what it checks, so `cargo test config` runs it.
#[cfg(test)]
mod config_tests;
