//! Flags of the MCP Apps player view.

use clap::Args;

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
    pub fn origins(&self) -> Option<Vec<String>> {
        (!self.no_player).then(|| {
            self.player_origins
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect()
        })
    }
}
