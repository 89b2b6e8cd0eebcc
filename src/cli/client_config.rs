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

/// Prints the block on stdout (so it can be redirected) and where it goes on stderr; `args`
/// are the server's arguments (see [`launch_args`]).
pub(super) fn print(client: McpClient, args: &[String]) -> Exit {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| "kling-omni-mcp".into());
    let (hint, block) = render(client, &binary, args);
    eprintln!("{hint}");
    println!("{block}");
    Exit::Ok
}

/// The server arguments that carry what `config` was given (`--simulate`, `--store`,
/// `--output-dir`, `--allow-dir`, from the flags or their variables) into the block, so the
/// client launches the server the way it was tried. Paths are made absolute: a client starts
/// the server in a working directory of its own.
pub(super) fn launch_args(cli: &super::Cli) -> Vec<String> {
    let mut args = Vec::new();
    if cli.simulate {
        args.push("--simulate".to_owned());
    }
    if let Some(store) = &cli.store {
        args.extend(["--store".to_owned(), absolute_store(store)]);
    }
    let env_dir = std::env::var("KLING_MCP_OUTPUT_DIR").ok();
    if let Some(dir) = crate::config::chosen_output_dir(cli.output_dir.clone(), env_dir) {
        args.extend(["--output-dir".to_owned(), absolute(&dir)]);
    }
    for dir in &cli.allow_dirs {
        args.extend(["--allow-dir".to_owned(), absolute(dir)]);
    }
    args
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// A store path made absolute; `off` and URLs as given.
fn absolute_store(store: &str) -> String {
    let trimmed = store.trim();
    if trimmed.eq_ignore_ascii_case("off") || trimmed.contains("://") {
        return trimmed.to_owned();
    }
    match trimmed.strip_prefix("sqlite:") {
        Some(path) => format!("sqlite:{}", absolute(Path::new(path))),
        None => absolute(Path::new(trimmed)),
    }
}

/// The hint (where the block goes) and the block itself.
pub(crate) fn render(client: McpClient, binary: &Path, args: &[String]) -> (&'static str, String) {
    let command = binary.display().to_string();
    // Cursor's and VS Code's blocks name `args` only when there are some (as their docs do).
    let with_args = |mut server: serde_json::Value| {
        if let (false, Some(object)) = (args.is_empty(), server.as_object_mut()) {
            object.insert("args".to_owned(), json!(args));
        }
        server
    };
    let pretty =
        |value: serde_json::Value| serde_json::to_string_pretty(&value).unwrap_or_default();
    match client {
        McpClient::ClaudeDesktop => (
            "Add to claude_desktop_config.json (macOS: ~/Library/Application Support/Claude/, Windows: %APPDATA%\\Claude\\), put your key in place of the placeholder, then restart Claude Desktop:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": {
                "command": command,
                "args": args,
                "env": {"COMETAPI_KEY": "<your CometAPI key>"}
            }}})),
        ),
        McpClient::ClaudeCode => (
            "Run this in a shell where COMETAPI_KEY is set:",
            format!(
                "claude mcp add kling-omni-mcp --env COMETAPI_KEY=\"$COMETAPI_KEY\" -- {}",
                std::iter::once(&command)
                    .chain(args)
                    .map(|word| shell_quote(word))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ),
        McpClient::Cursor => (
            "Add to ~/.cursor/mcp.json (or .cursor/mcp.json in a project); Cursor reads COMETAPI_KEY from your environment:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": with_args(json!({
                "command": command,
                "env": {"COMETAPI_KEY": "${env:COMETAPI_KEY}"}
            }))}})),
        ),
        McpClient::Vscode => (
            "Save as .vscode/mcp.json; VS Code asks for the key once and stores it:",
            pretty(json!({
                "inputs": [{"type": "promptString", "id": "cometapi-key", "description": "CometAPI key", "password": true}],
                "servers": {"kling-omni-mcp": with_args(json!({
                    "type": "stdio",
                    "command": command,
                    "env": {"COMETAPI_KEY": "${input:cometapi-key}"}
                }))}
            })),
        ),
        McpClient::McpJson => (
            "A generic mcp.json; clients that expand ${VAR} take COMETAPI_KEY from the environment:",
            pretty(json!({"mcpServers": {"kling-omni-mcp": {
                "type": "stdio",
                "command": command,
                "args": args,
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
            let (_, block) = render(client, binary, &[]);
            assert!(
                block.contains("/opt/kling/bin/kling-omni-mcp"),
                "{client:?}"
            );
            assert!(block.contains("COMETAPI_KEY"), "{client:?}");
            assert!(!block.contains("sk-"), "{client:?}");
        }
        assert_eq!(shell_quote("/a b/c"), "'/a b/c'");
    }

    #[test]
    fn flags_given_to_config_reach_every_block() {
        let cli = <super::super::Cli as clap::Parser>::try_parse_from([
            "kling-omni-mcp",
            "config",
            "cursor",
            "--simulate",
            "--store",
            "sqlite:/data/t.db",
            "--output-dir",
            "/videos",
            "--allow-dir",
            "/pictures",
        ])
        .unwrap();
        let args = launch_args(&cli);
        assert_eq!(
            args,
            [
                "--simulate",
                "--store",
                "sqlite:/data/t.db",
                "--output-dir",
                "/videos",
                "--allow-dir",
                "/pictures"
            ]
        );
        let binary = Path::new("/bin/kling-omni-mcp");
        for client in [
            McpClient::ClaudeDesktop,
            McpClient::Cursor,
            McpClient::Vscode,
            McpClient::McpJson,
        ] {
            let (_, block) = render(client, binary, &args);
            let json: serde_json::Value = serde_json::from_str(&block).unwrap();
            let servers = json.get("mcpServers").or(json.get("servers")).unwrap();
            assert_eq!(servers["kling-omni-mcp"]["args"], json!(args), "{client:?}");
        }
        let (_, code) = render(McpClient::ClaudeCode, binary, &args);
        assert!(
            code.ends_with("-- /bin/kling-omni-mcp --simulate --store sqlite:/data/t.db --output-dir /videos --allow-dir /pictures"),
            "{code}"
        );
        assert!(absolute_store("t.db").starts_with('/'));
        assert_eq!(absolute_store("off"), "off");
    }
}
