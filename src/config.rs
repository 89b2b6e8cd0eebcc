//! Command-line flags and environment, parsed and checked once at start-up, then passed down
//! as plain values.

use std::path::{Path, PathBuf};

use clap::Parser;
use reqwest::Url;

use crate::comet::{ApiKey, DEFAULT_BASE_URL};
use crate::local_images::AllowedRoots;

/// Environment variables, listed in `--help`.
const ENV_HELP: &str = "Environment:
  COMETAPI_KEY        CometAPI key, sent as `Authorization: Bearer ...`. The server starts
                      without it; tool calls then say how to set it. Never printed or logged.
  COMETAPI_BASE_URL   API origin [default: https://api.cometapi.com]
  RUST_LOG            log filter for stderr [default: info]
  KLING_MCP_ALLOWED_DIRS
                      directories local images may be read from, separated like PATH
                      [default: the current directory, or the home directory when that is /]

Try it without a key:  kling-omni-mcp --simulate";

/// MCP server for CometAPI's Kling O1 Omni Video API. With no arguments it serves MCP on
/// stdio, which is what MCP clients launch.
#[derive(Debug, Parser)]
#[command(name = "kling-omni-mcp", version, about, after_help = ENV_HELP)]
pub struct Cli {
    /// Use a built-in simulated CometAPI: no key needed, nothing is charged, no real video.
    #[arg(long)]
    pub simulate: bool,

    /// CometAPI origin (Kling routes hang off it, so no /v1).
    #[arg(long, env = "COMETAPI_BASE_URL", default_value = DEFAULT_BASE_URL, value_name = "URL")]
    pub base_url: String,

    /// Allow reading local images from DIR (repeatable; adds to `KLING_MCP_ALLOWED_DIRS`).
    #[arg(long = "allow-dir", value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,
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
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s).
    #[error("COMETAPI_BASE_URL must be an http(s) URL such as https://api.cometapi.com, got {0:?}")]
    BadBaseUrl(String),
}

impl Config {
    /// Checks the flags and reads `COMETAPI_KEY` through `env`.
    pub fn new(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw = cli.base_url.trim();
        let base_url = Url::parse(raw)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .ok_or_else(|| ConfigError::BadBaseUrl(raw.to_owned()))?;
        if base_url.path().trim_end_matches('/').ends_with("/v1") {
            tracing::warn!(%base_url, "COMETAPI_BASE_URL ends in /v1, but Kling routes hang off the origin");
        }
        let mut dirs = cli.allow_dirs;
        if let Some(list) = env("KLING_MCP_ALLOWED_DIRS") {
            dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
        }
        if dirs.is_empty() {
            dirs.extend(default_root());
        }
        Ok(Self {
            api_key: env("COMETAPI_KEY").as_deref().and_then(ApiKey::new),
            base_url,
            simulate: cli.simulate,
            allowed_roots: AllowedRoots::new(dirs),
        })
    }

    /// Reads the real process environment.
    pub fn from_env(cli: Cli) -> Result<Self, ConfigError> {
        Self::new(cli, |name| std::env::var(name).ok())
    }
}

/// The current directory; but when a client starts the server in `/` (Claude Desktop does),
/// allowing the whole filesystem would be too much, so the home directory instead.
fn default_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    if cwd == Path::new("/") {
        std::env::home_dir()
    } else {
        Some(cwd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("kling-omni-mcp").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_point_at_cometapi_without_a_key() {
        let config = Config::new(cli(&[]), |_| None).unwrap();
        assert_eq!(config.base_url.as_str(), "https://api.cometapi.com/");
        assert!(config.api_key.is_none());
        assert!(!config.simulate);
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        assert_eq!(config.allowed_roots.dirs(), [cwd]);
    }

    #[test]
    fn key_comes_from_the_environment_and_is_redacted() {
        let config = Config::new(cli(&["--simulate"]), |name| {
            (name == "COMETAPI_KEY").then(|| "sk-secret-value-123".to_owned())
        })
        .unwrap();
        assert!(config.api_key.is_some());
        assert!(config.simulate);
        assert!(!format!("{config:?}").contains("sk-secret"));
    }

    #[test]
    fn bad_base_urls_are_refused_with_an_example() {
        for bad in ["api.cometapi.com", "ftp://x", "", "http://"] {
            let err = Config::new(cli(&["--base-url", bad]), |_| None).unwrap_err();
            assert!(
                err.to_string().contains("https://api.cometapi.com"),
                "{bad}"
            );
        }
    }

    #[test]
    fn allowed_dirs_come_from_flags_and_the_environment() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let list = std::env::join_paths([b.path()])
            .unwrap()
            .into_string()
            .unwrap();
        let config = Config::new(cli(&["--allow-dir", a.path().to_str().unwrap()]), |name| {
            (name == "KLING_MCP_ALLOWED_DIRS").then(|| list.clone())
        })
        .unwrap();
        let expected = [
            a.path().canonicalize().unwrap(),
            b.path().canonicalize().unwrap(),
        ];
        assert_eq!(config.allowed_roots.dirs(), expected);
    }
}
