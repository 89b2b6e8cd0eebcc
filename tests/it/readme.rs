//! The README's commands, run as a newcomer pastes them: its HTTP service blocks in order,
//! and what its Install section promises before the first release.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::http::initialize;
use crate::support::BIN;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The text of section `heading` (a `## ` line) up to the next `## ` heading.
fn section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let body = &readme[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
    body[..end].to_owned()
}

/// The shell code blocks (fenced as `sh`) of `text`, in order.
fn shell_blocks(text: &str) -> Vec<String> {
    text.split("```sh\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap().to_owned())
        .collect()
}

/// Kills a process group when dropped: the server the README starts runs under `bash`.
#[cfg(unix)]
struct Group(u32);

#[cfg(unix)]
impl Drop for Group {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0)])
            .status();
    }
}

/// The first block set the token only for the server, so the client block sent
/// `Authorization: Bearer ` with nothing after it.
#[cfg(unix)]
#[tokio::test]
async fn the_http_service_commands_work_when_pasted_in_order() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let blocks = shell_blocks(&section(&readme(), "Running as an HTTP service"));
    assert!(blocks.len() >= 2, "{blocks:?}");
    let (server_block, client_block) = (&blocks[0], &blocks[1]);
    assert!(server_block.contains("kling-omni-mcp --http 127.0.0.1:8787"));
    assert!(client_block.starts_with("claude mcp add --transport http"));

    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("kling-omni-mcp")).unwrap();
    // A stand-in for Claude Code's CLI: it writes down its arguments, one per line.
    let claude = bin.join("claude");
    std::fs::write(
        &claude,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$HOME/claude-args\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&claude, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Another process may hold 8787: the same commands on a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let shell = |block: &str| {
        let mut command = tokio::process::Command::new("bash");
        command
            .args(["-ec", &block.replace("8787", &port)])
            .env("HOME", home.path())
            .env("PATH", &path)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("KLING_MCP_STORE", "off")
            .env("RUST_LOG", "info")
            .env_remove("KLING_MCP_HTTP_TOKEN")
            .env_remove("KLING_MCP_OUTPUT_DIR")
            .stdin(Stdio::null());
        command
    };

    let mut server = shell(server_block)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _group = Group(server.id().unwrap());
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let mut log = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        log.push_str(&line);
        log.push('\n');
        if line.contains("MCP streamable HTTP listening") {
            break;
        }
    }
    assert!(
        log.contains("auth=true"),
        "the server listens with a token:\n{log}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let token_file = home.path().join(".config/kling-omni-mcp/http-token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o077, 0, "only the user may read the token file");

    let status = shell(client_block).status().await.unwrap();
    assert!(status.success());
    let args = std::fs::read_to_string(home.path().join("claude-args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let url = args.iter().find(|a| a.starts_with("http://")).unwrap();
    let header_at = args.iter().position(|a| *a == "--header").unwrap();
    let header = args[header_at + 1];
    let (name, value) = header.split_once(": ").unwrap();
    assert_eq!(name, "Authorization");
    assert!(value.len() > "Bearer ".len() + 32, "{header:?}");
    let response = reqwest::Client::new()
        .post(*url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header(name, value)
        .body(initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "the client's header opens a session"
    );
}

/// Nothing is published before the first release: the Install section says so and names the
/// channel that works today.
#[test]
fn the_install_section_says_what_works_before_the_first_release() {
    let install = section(&readme(), "Install");
    for needle in [
        "Before the first release",
        "cargo install --path . --locked",
        "kling-omni-mcp --simulate",
        "From the first release",
    ] {
        assert!(install.contains(needle), "Install lacks {needle:?}");
    }
    let now = install.find("Before the first release").unwrap();
    let later = install.find("From the first release").unwrap();
    assert!(now < later, "what works now comes first");
    for channel in ["npx", "binstall", ".mcpb", "MCP Registry", "releases"] {
        let at = install.find(channel).unwrap();
        assert!(
            at > later,
            "{channel} is described as from the first release"
        );
    }
}
