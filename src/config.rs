//! Command-line flags and environment, parsed and checked once at start-up, then passed down
//! as plain values.

use clap::Parser;
use reqwest::Url;

use crate::comet::{ApiKey, DEFAULT_BASE_URL};

/// Environment variables, listed in `--help`.
const ENV_HELP: &str = "Environment:
  COMETAPI_KEY        CometAPI key, sent as `Authorization: Bearer ...`. The server starts
                      without it; tool calls then say how to set it. Never printed or logged.
  COMETAPI_BASE_URL   API origin [default: https://api.cometapi.com]
  RUST_LOG            log filter for stderr [default: info]

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
        Ok(Self {
            api_key: env("COMETAPI_KEY").as_deref().and_then(ApiKey::new),
            base_url,
            simulate: cli.simulate,
        })
    }

    /// Reads the real process environment.
    pub fn from_env(cli: Cli) -> Result<Self, ConfigError> {
        Self::new(cli, |name| std::env::var(name).ok())
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
}
