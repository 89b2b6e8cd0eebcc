//! Flags of the HTTP transport's connection handling, the token file, and the checked
//! [`HttpConfig`] built from them; kept apart from the grammar in `flags/mod.rs` so each stays
//! small.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::config::{
    BODY_TIMEOUT, ConfigError, HEADER_TIMEOUT, HttpConfig, IDLE_TIMEOUT, SESSION_IDLE,
    SHUTDOWN_GRACE,
};

/// How long connections may take and how many may be open (flattened into [`super::Cli`]).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionFlags {
    /// A client must send a request's headers within this long: on a new connection, and
    /// between requests on a kept-alive one (slow senders are cut off).
    #[arg(
        long,
        env = "KLING_MCP_HEADER_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub header_timeout: f64,

    /// Close a connection on which nothing moves either way for this long (a client that
    /// stopped reading), unless the server is still working on its answer. SSE streams send a
    /// keep-alive every 15 s.
    #[arg(
        long,
        env = "KLING_MCP_IDLE_TIMEOUT",
        default_value_t = 60.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub idle_timeout: f64,

    /// A request's whole body must arrive within this long after its headers, plus one second
    /// per 64 KiB it carries (a minimum rate); a slower upload gets 408 and is closed.
    #[arg(
        long,
        env = "KLING_MCP_BODY_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub body_timeout: f64,

    /// Most request-body bytes being read and parsed at once, over all requests; a request
    /// past it gets 503 with Retry-After. Raised to at least --max-body-bytes.
    #[arg(
        long,
        env = "KLING_MCP_BODY_BUDGET_BYTES",
        default_value_t = 64 * 1024 * 1024,
        value_name = "BYTES",
        help_heading = "HTTP transport"
    )]
    pub body_budget_bytes: usize,

    /// Most connections open at once (lowered to fit the open-file limit). When full, a new
    /// connection replaces the one that has waited longest without sending a whole request;
    /// with none such, it goes to a small reserve that answers only /healthz.
    #[arg(
        long,
        env = "KLING_MCP_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_name = "N",
        help_heading = "HTTP transport"
    )]
    pub max_connections: usize,
}

/// The bearer token in `file`. An empty file is an error, not "no auth".
pub(super) fn read_token_file(file: &Path) -> Result<String, ConfigError> {
    let token = std::fs::read_to_string(file)
        .map_err(|e| ConfigError::TokenFile(PathBuf::from(file), e))?;
    if token.trim().is_empty() {
        // Serving without auth because of an empty file would let anyone in.
        let why = "the file is empty; put the token in it (e.g. `openssl rand -hex 32 > FILE`), or drop the flag";
        return Err(ConfigError::TokenFile(
            PathBuf::from(file),
            std::io::Error::other(why),
        ));
    }
    Ok(token)
}

/// The environment variable that holds the bearer token.
const TOKEN_ENV: &str = "KLING_MCP_HTTP_TOKEN";

/// The token from [`TOKEN_ENV`]. Set but empty (or blank) is an error, not "no auth": an
/// unset variable means no token; `KLING_MCP_HTTP_TOKEN=""` is a mistake to say out loud.
fn check_token_env(token: String) -> Result<String, ConfigError> {
    if token.trim().is_empty() {
        return Err(ConfigError::EmptyToken(TOKEN_ENV));
    }
    Ok(token)
}

/// The HTTP transport's settings, from its flags and the environment.
pub(super) fn http_config(
    cli: &super::Cli,
    addr: crate::config::ListenAddr,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<HttpConfig, ConfigError> {
    let token = match &cli.http_token_file {
        Some(file) => Some(read_token_file(file)?),
        None => env(TOKEN_ENV).map(check_token_env).transpose()?,
    };
    let trimmed = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    Ok(HttpConfig {
        addr: addr.addr,
        localhost: addr.localhost,
        token: token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .map(SecretString::from),
        extra_hosts: trimmed(&cli.allow_hosts),
        extra_origins: trimmed(&cli.allow_origins),
        max_body_bytes: cli.max_body_bytes.max(1024),
        max_sessions: cli.max_sessions.max(1),
        session_idle: SESSION_IDLE.parse(cli.session_idle)?,
        shutdown_grace: SHUTDOWN_GRACE.parse(cli.shutdown_grace)?,
        client_keys: cli.allow_client_keys,
        header_timeout: HEADER_TIMEOUT.parse(cli.connections.header_timeout)?,
        idle_timeout: IDLE_TIMEOUT.parse(cli.connections.idle_timeout)?,
        body_timeout: BODY_TIMEOUT.parse(cli.connections.body_timeout)?,
        body_budget_bytes: cli
            .connections
            .body_budget_bytes
            .max(cli.max_body_bytes.max(1024)),
        max_connections: cli.connections.max_connections.max(1),
    })
}
