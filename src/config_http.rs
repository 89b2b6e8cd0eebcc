//! Flags of the HTTP transport's connection handling, and the token file; kept apart from
//! `config.rs` so each stays small.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ConfigError;
use crate::server::ConnectionLimits;

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

    /// Close a connection on which nothing moves either way for this long (a stalled upload,
    /// or a client that stopped reading). SSE streams send a keep-alive every 15 s.
    #[arg(
        long,
        env = "KLING_MCP_IDLE_TIMEOUT",
        default_value_t = 60.0,
        value_name = "SECS",
        help_heading = "HTTP transport"
    )]
    pub idle_timeout: f64,

    /// Most connections open at once. When full, a new connection replaces the one that has
    /// waited longest without sending a request; with none such, it is closed at once.
    #[arg(
        long,
        env = "KLING_MCP_MAX_CONNECTIONS",
        default_value_t = 4096,
        value_name = "N",
        help_heading = "HTTP transport"
    )]
    pub max_connections: usize,
}

impl ConnectionFlags {
    /// The checked limits.
    pub(super) fn limits(&self) -> Result<ConnectionLimits, ConfigError> {
        let seconds = |name: &'static str, value: f64| {
            Duration::try_from_secs_f64(value)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or(ConfigError::BadSeconds(name, value))
        };
        Ok(ConnectionLimits {
            header_timeout: seconds("header-timeout", self.header_timeout)?,
            idle_timeout: seconds("idle-timeout", self.idle_timeout)?,
            max_connections: self.max_connections.max(1),
        })
    }
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
