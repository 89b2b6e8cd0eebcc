//! `config CLIENT`: a ready config block for an MCP client, with the absolute path of this
//! binary and the key as a reference or placeholder — never its value.

use std::path::Path;

use serde_json::json;

use super::Exit;

/// The clients `config` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum McpClient {
    /// Claude Desktop (`claude_desktop_config.json`).
    ClaudeDesktop,
    /// Claude Code (a `claude mcp add` command).
    ClaudeCode,
    /// Cursor (`~/.cursor/mcp.json`).
    Cursor,
    /// VS Code (`.vscode/mcp.json`).
    Vscode,
    /// A generic `mcp.json`.
    McpJson,
}

/// Prints the block on stdout (so it can be redirected) and where it goes on stderr.
pub(super) fn print(client: McpClient) -> Exit {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| "kling-omni-mcp".into());
    let (hint, block) = render(client, &binary);
    eprintln!("{hint}");
    println!("{block}");
    Exit::Ok
}

/// The hint (where the block goes) and the block itself.
pub(crate) fn render(client: McpClient, binary: &Path) -> (&'static str, String) {
    let command = binary.display().to_string();
    let pretty =
        |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
    match client {
        McpClient::ClaudeDesktop => (
            "Add to claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), put your key in place of the placeholder, then restart Claude Desktop:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": {
                "command": command,
                "args": [],
                "env": {"COMETAPI_KEY": "<your CometAPI key>"}
            }}})),
        ),
        McpClient::ClaudeCode => (
            "Run this in a shell where COMETAPI_KEY is set:",
            format!(
                "claude mcp add kling-omni-mcp --env COMETAPI_KEY=\"$COMETAPI_KEY\" -- {}",
                shell_quote(&command)
            ),
        ),
        McpClient::Cursor => (
            "Add to ~/.cursor/mcp.json (or .cursor/mcp.json in a project); Cursor reads COMETAPI_KEY from your environment:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": {
                "command": command,
                "env": {"COMETAPI_KEY": "${env:COMETAPI_KEY}"}
            }}})),
        ),
        McpClient::Vscode => (
            "Save as .vscode/mcp.json; VS Code asks for the key once and stores it:",
            pretty(json!({
                "inputs": [{"type": "promptString", "id": "cometapi-key", "description": "CometAPI key", "password": true}],
                "servers": {"kling-omni-mcp": {
                    "type": "stdio",
                    "command": command,
                    "env": {"COMETAPI_KEY": "${input:cometapi-key}"}
                }}
            })),
        ),
        McpClient::McpJson => (
            "A generic mcp.json; clients that expand ${VAR} take COMETAPI_KEY from the environment:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": {
                "type": "stdio",
                "command": command,
                "args": [],
                "env": {"COMETAPI_KEY": "${COMETAPI_KEY}"}
            }}})),
        ),
    }
}

/// Quotes a path for a POSIX shell when it needs it.
pub(super) fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_never_hold_a_key_and_use_the_binary_path() {
        let binary = Path::new("/opt/kling/bin/kling-omni-mcp");
        for client in [
            McpClient::ClaudeDesktop,
            McpClient::ClaudeCode,
            McpClient::Cursor,
            McpClient::Vscode,
            McpClient::McpJson,
        ] {
            let (_, block) = render(client, binary);
            assert!(
                block.contains("/opt/kling/bin/kling-omni-mcp"),
                "{client:?}"
            );
            assert!(block.contains("COMETAPI_KEY"), "{client:?}");
            assert!(!block.contains("sk-"), "{client:?}");
        }
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
    }
}
