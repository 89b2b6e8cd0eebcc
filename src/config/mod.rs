//! The checked settings: plain values built once at start-up from the flags and environment
//! (by `cli::Cli`), then handed to the layers that need them. Made of the lower layers' own
//! option types (`jobs::JobsConfig`, `comet::ClientOptions`, `store::StoreLocation`, …); read
//! only by `main`, `cli` and `transport`, so nothing below the front doors depends on it. It
//! knows neither clap nor the MCP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use crate::comet::{ApiKey, ClientOptions, DownloadOptions};
use crate::jobs::JobsConfig;
use crate::local_images::AllowedRoots;
use crate::store::{BadLocation, StoreLocation};

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The CometAPI key, if set.
    pub api_key: Option<ApiKey>,
    /// The CometAPI origin.
    pub base_url: Url,
    /// The balance service's origin (`COMETAPI_QUOTA_URL`); `None` is CometAPI's own.
    pub quota_url: Option<Url>,
    /// A separate query-only key for the balance (`COMETAPI_QUERY_KEY`), if set.
    pub query_key: Option<ApiKey>,
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
    /// What to tell the user about the settings: deprecated ones in use, a base URL ending in
    /// /v1.
    pub deprecations: Vec<String>,
    /// Timeout of a create request.
    pub create_timeout: Duration,
    /// Timeout of a status query.
    pub query_timeout: Duration,
    /// Most calls (tool calls and resource reads) one caller may run at once.
    pub max_calls_per_session: usize,
    /// Serve over HTTP with these settings; `None` serves stdio.
    pub http: Option<HttpConfig>,
    /// `KLING_MCP_TASK_SECRET`: the secret that seals MCP task ids (shared by every instance).
    pub task_secret: Option<SecretString>,
    /// The per-user data directory (where a generated task secret is kept), when known.
    pub data_dir: Option<PathBuf>,
    /// The MCP Apps player: `None` when turned off, else the origins its videos may come from
    /// (empty: the default list).
    pub player_origins: Option<Vec<String>>,
}

/// Checked settings of the HTTP transport; the server builds its options from them (adding
/// the loopback names and origins it always accepts).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address to listen on (127.0.0.1 for `localhost`).
    pub addr: SocketAddr,
    /// The address was given as `localhost`: listen on `[::1]` at the same port too.
    pub localhost: bool,
    /// Bearer token clients must send (trimmed, never empty).
    pub token: Option<SecretString>,
    /// `Host` values accepted besides the loopback names.
    pub extra_hosts: Vec<String>,
    /// `Origin` values accepted besides the loopback origins.
    pub extra_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Most sessions open at once.
    pub max_sessions: usize,
    /// Sessions idle this long are closed.
    pub session_idle: Duration,
    /// How long in-flight calls may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Let callers use their own CometAPI key (`X-CometAPI-Key`).
    pub client_keys: bool,
    /// A request's headers must arrive within this long.
    pub header_timeout: Duration,
    /// A connection on which nothing moves for this long is closed.
    pub idle_timeout: Duration,
    /// A request's body must arrive within this long (plus time for its size).
    pub body_timeout: Duration,
    /// Most request-body bytes read and parsed at once, over all requests.
    pub body_budget_bytes: usize,
    /// Most connections open at once.
    pub max_connections: usize,
}

/// Where `--http` listens: `IP:PORT`, or `localhost:PORT` (127.0.0.1, and `[::1]` when the
/// machine has it, since clients resolve the name to either).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    /// The address to bind (127.0.0.1 for `localhost`).
    pub addr: SocketAddr,
    /// Given as `localhost`.
    pub localhost: bool,
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if let Ok(addr) = value.parse::<SocketAddr>() {
            return Ok(Self {
                addr,
                localhost: false,
            });
        }
        let port = value
            .rsplit_once(':')
            .filter(|(host, _)| host.eq_ignore_ascii_case("localhost"))
            .and_then(|(_, port)| port.parse::<u16>().ok());
        match port {
            Some(port) => Ok(Self {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                localhost: true,
            }),
            None => Err(format!(
                "expected IP:PORT or localhost:PORT, e.g. 127.0.0.1:8787 (this machine only) or 0.0.0.0:8787 (all interfaces, needs a token); got {value:?}"
            )),
        }
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("COMETAPI_BASE_URL must be an http(s) URL such as https://api.cometapi.com, got {0:?}")]
    BadBaseUrl(String),
    /// The balance service URL does not parse or is not http(s). Its value is not shown: a
    /// pasted query URL carries a key.
    #[error(
        "COMETAPI_QUOTA_URL must be an http(s) origin such as https://query.cometapi.com (the value is not shown: it may hold a key)"
    )]
    BadQuotaUrl,
    /// A `--player-origins` entry that is not an origin.
    #[error(
        "--player-origins takes origins such as https://cdn.example.com or https://*.example.com (no path), got {0:?}"
    )]
    BadPlayerOrigin(String),
    /// A duration flag outside its range.
    #[error("--{flag} must be {range}, got {value}")]
    OutOfRange {
        /// The flag, without the dashes.
        flag: &'static str,
        /// The values it takes, e.g. "between 0.001 and 3600 seconds".
        range: String,
        /// What was given.
        value: f64,
    },
    /// The store setting cannot be used.
    #[error(transparent)]
    BadStore(#[from] BadLocation),
    /// `--call-deadline` is not under the 60 s after which MCP clients give up.
    #[error(
        "--call-deadline must be a positive number of seconds under 60 (MCP clients give up on a call after about 60 s), got {0}"
    )]
    BadCallDeadline(f64),
    /// The token variable is set but empty or blank: serving without auth by mistake would let
    /// anyone in.
    #[error(
        "{0} is set but empty; put the token in it (e.g. `{0}=$(openssl rand -hex 32)`), or unset it"
    )]
    EmptyToken(&'static str),
    /// The token file cannot be read.
    #[error("cannot read --http-token-file {0}: {1}")]
    TokenFile(PathBuf, std::io::Error),
}

impl Config {
    /// Client options for `base_url` and `api_key` with the configured timeouts and the
    /// balance settings.
    pub fn client_options(&self, base_url: Url, api_key: Option<ApiKey>) -> ClientOptions {
        ClientOptions {
            create_timeout: self.create_timeout,
            query_timeout: self.query_timeout,
            other_secrets: self.http.iter().filter_map(|h| h.token.clone()).collect(),
            quota_url: self.quota_url.clone(),
            query_key: self.query_key.clone(),
            ..ClientOptions::new(base_url, api_key)
        }
    }
}

/// The CometAPI origin in `raw`: an http(s) URL with a host.
pub(crate) fn base_url(raw: &str) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    Url::parse(raw)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| ConfigError::BadBaseUrl(raw.to_owned()))
}

/// The balance service origin in `raw` (`COMETAPI_QUOTA_URL`): an http(s) URL with a host;
/// empty means CometAPI's own.
pub(crate) fn quota_url(raw: Option<&str>) -> Result<Option<Url>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    Url::parse(raw)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .map(Some)
        .ok_or(ConfigError::BadQuotaUrl)
}

/// `--call-deadline`, or `max_wait` + 5 s (at most 55 s). An explicit value of 60 s or more
/// is refused rather than clamped: the user asked for something clients cannot wait for.
pub(crate) fn call_deadline(
    value: Option<f64>,
    max_wait: Duration,
) -> Result<Duration, ConfigError> {
    let Some(secs) = value else {
        return Ok((max_wait + Duration::from_secs(5)).min(Duration::from_secs(55)));
    };
    bounds::CALL_DEADLINE
        .parse(secs)
        .map_err(|_| ConfigError::BadCallDeadline(secs))
}

mod bounds;
pub(crate) use bounds::{
    BODY_TIMEOUT, CREATE_TIMEOUT, HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_WAIT, POLL_MAX, POLL_MIN,
    QUERY_TIMEOUT, RETRY_BASE_MS, SESSION_IDLE, SHUTDOWN_GRACE,
};
pub use bounds::{DURATION_FLAGS, DurationFlag, Unit};

mod paths;
pub use paths::DEFAULT_OUTPUT_DIR_TEXT;
pub(crate) use paths::{chosen_output_dir, data_dir, default_root, output_dir, store_settings};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_are_ip_and_port_or_localhost_and_port() {
        let parse = |v: &str| v.parse::<ListenAddr>();
        let local = parse("localhost:8787").unwrap();
        assert_eq!(local.addr, SocketAddr::from(([127, 0, 0, 1], 8787)));
        assert!(local.localhost);
        assert!(parse("LOCALHOST:0").unwrap().localhost);
        let v6 = parse("[::1]:8787").unwrap();
        assert!(v6.addr.ip().is_loopback() && !v6.localhost);
        assert!(!parse("0.0.0.0:8787").unwrap().localhost);
        for bad in [
            "localhost",
            "example.com:8787",
            "localhost:99999",
            ":8787",
            "",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("127.0.0.1:8787"), "{bad}: {err}");
        }
    }
}
