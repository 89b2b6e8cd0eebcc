//! Flags of the MCP Apps player view.

use clap::Args;

use crate::config::ConfigError;

/// Whether the player view is offered, and where its videos may come from.
#[derive(Debug, Clone, Args)]
pub struct PlayerFlags {
    /// Do not offer the MCP Apps player view (hosts then show only the text results).
    #[arg(global = true, long, env = "KLING_MCP_NO_PLAYER")]
    pub no_player: bool,

    /// Origins the player view may load videos from, comma-separated (its CSP
    /// `resourceDomains`) [default: the Kling and CometAPI video hosts; under --simulate, the
    /// simulator].
    #[arg(
        global = true,
        long,
        env = "KLING_MCP_PLAYER_ORIGINS",
        value_name = "ORIGINS",
        value_delimiter = ','
    )]
    pub player_origins: Vec<String>,
}

impl PlayerFlags {
    /// `None` when the player is off; else the origins given (empty: the default list).
    pub fn origins(&self) -> Result<Option<Vec<String>>, ConfigError> {
        if self.no_player {
            return Ok(None);
        }
        let mut origins = Vec::new();
        for origin in self.player_origins.iter().map(|o| o.trim()) {
            if origin.is_empty() {
                continue;
            }
            if !is_origin(origin) {
                return Err(ConfigError::BadPlayerOrigin(origin.to_owned()));
            }
            origins.push(origin.to_owned());
        }
        Ok(Some(origins))
    }
}

/// An http(s) origin, optionally with a `*.` wildcard host, and nothing else: hosts paste these
/// into a Content-Security-Policy, where a space or `;` would add sources or directives.
fn is_origin(value: &str) -> bool {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.strip_prefix("*.").unwrap_or(rest);
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_so_a_csp_cannot_be_widened() {
        for good in [
            "https://cdn.example.com",
            "https://*.klingai.com",
            "http://127.0.0.1:8080",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "cdn.example.com",
            "https://",
            "https://a.example.com/videos",
            "https://a.example.com; script-src *",
            "https://a.example.com *",
            "javascript:alert(1)",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
