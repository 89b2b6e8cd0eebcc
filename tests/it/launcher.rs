//! The npm launcher (`npm/kling-omni-mcp/bin/kling-omni-mcp.js`) run by Node against the built
//! binary (issue 24, finding 14): SIGUSR1 must not open Node's inspector, and SIGQUIT (like
//! every other signal that would end Node) reaches the server, so no orphan is left. Linux
//! only (it reads /proc); skipped when `node` is not installed. Run with
//! `cargo test --test it launcher::`.

#![cfg(target_os = "linux")]

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::mpsc;

use crate::support::{BIN, TEST_KEY};

const WAIT: Duration = Duration::from_secs(30);

/// The launcher under Node, its stdio, and the server it started.
struct Launched {
    node: Child,
    node_pid: u32,
    server_pid: u32,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: mpsc::UnboundedReceiver<String>,
    /// Every stderr line seen so far.
    seen: Vec<String>,
}

impl Launched {
    /// Starts the launcher and waits until the server behind it answers `initialize`; `None`
    /// when Node is not installed.
    async fn start() -> Option<Self> {
        let node_ok = tokio::process::Command::new("node")
            .arg("--version")
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        if !node_ok {
            eprintln!("launcher: node is not installed; skipped");
            return None;
        }
        let launcher =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("npm/kling-omni-mcp/bin/kling-omni-mcp.js");
        // No core files from the SIGQUIT: `exec` keeps the shell's pid, so it is Node's.
        let mut node = tokio::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -c 0; exec node \"$0\"")
            .arg(&launcher)
            .env("KLING_OMNI_MCP_BINARY", BIN)
            .env("COMETAPI_KEY", TEST_KEY)
            .env("KLING_MCP_STORE", "off")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let node_pid = node.id().unwrap();
        let stdin = node.stdin.take().unwrap();
        let stdout = BufReader::new(node.stdout.take().unwrap()).lines();
        let mut err_lines = BufReader::new(node.stderr.take().unwrap()).lines();
        let (tx, stderr) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = err_lines.next_line().await {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut launched = Self {
            node,
            node_pid,
            server_pid: 0,
            stdin,
            stdout,
            stderr,
            seen: Vec::new(),
        };
        let init = launched
            .request(
                1,
                "initialize",
                json!({"protocolVersion": "2025-11-25",
                "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}),
            )
            .await;
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        let children = children_of(node_pid);
        assert_eq!(children.len(), 1, "one server under node: {children:?}");
        launched.server_pid = children[0];
        Some(launched)
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
        let reply = tokio::time::timeout(WAIT, self.stdout.next_line())
            .await
            .expect("a reply")
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&reply).unwrap()
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.node_pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Reads stderr until a line contains one of `needles`; returns that line.
    async fn wait_for_stderr(&mut self, needles: &[&str]) -> String {
        loop {
            let line = tokio::time::timeout(WAIT, self.stderr.recv())
                .await
                .unwrap_or_else(|_| panic!("no {needles:?} on stderr: {:?}", self.seen))
                .unwrap_or_else(|| panic!("stderr closed before {needles:?}: {:?}", self.seen));
            self.seen.push(line.clone());
            if needles.iter().any(|n| line.contains(n)) {
                return line;
            }
        }
    }

    /// Waits for Node to exit; returns its status and all of stderr.
    async fn exit(mut self) -> (std::process::ExitStatus, u32, Vec<String>) {
        let status = tokio::time::timeout(WAIT, self.node.wait())
            .await
            .expect("node exits")
            .unwrap();
        while let Ok(Some(line)) = tokio::time::timeout(WAIT, self.stderr.recv()).await {
            self.seen.push(line);
        }
        (status, self.server_pid, self.seen)
    }
}

/// The pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            children.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|p| p.parse::<u32>().ok()),
            );
        }
    }
    children
}

/// Whether `pid` holds a listening TCP socket (what the inspector opens on 9229).
fn listens(pid: u32) -> bool {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|link| {
                    let link = link.to_string_lossy().into_owned();
                    link.strip_prefix("socket:[")
                        .and_then(|rest| rest.strip_suffix(']'))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    ["tcp", "tcp6"].iter().any(|table| {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        text.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(3) == Some(&"0A")
                && fields.get(9).is_some_and(|i| inodes.iter().any(|n| n == i))
        })
    })
}

#[tokio::test]
async fn sigusr1_opens_no_inspector_and_sigquit_leaves_no_orphan() {
    let Some(mut launched) = Launched::start().await else {
        return;
    };
    launched.signal("USR1");
    // The launcher's listener took the signal: Node's own handler (which would start the
    // inspector from a watchdog thread at once) is gone.
    let line = launched
        .wait_for_stderr(&["SIGUSR1 ignored", "Debugger listening"])
        .await;
    assert!(
        line.contains("SIGUSR1 ignored"),
        "SIGUSR1 opened the inspector: {line}"
    );
    assert!(!launched.node_pid_listens(), "node listens after SIGUSR1");
    // The server did not get it (it would have died of it) and still answers.
    let list = launched.request(2, "tools/list", json!({})).await;
    assert!(list["result"]["tools"].is_array(), "{list}");
    assert!(!launched.node_pid_listens(), "node listens after SIGUSR1");

    launched.signal("QUIT");
    let (status, server_pid, stderr) = launched.exit().await;
    assert_eq!(
        status.signal(),
        Some(3),
        "node ends as the server did: {status:?}"
    );
    assert!(
        !Path::new(&format!("/proc/{server_pid}")).exists(),
        "the server outlived the launcher"
    );
    assert!(
        !stderr.iter().any(|l| l.contains("Debugger listening")),
        "{stderr:?}"
    );
}

#[tokio::test]
async fn every_signal_that_ends_node_reaches_the_server() {
    for (name, number) in [
        ("HUP", 1),
        ("USR2", 12),
        ("ALRM", 14),
        ("TERM", 15),
        ("INT", 2),
    ] {
        let Some(launched) = Launched::start().await else {
            return;
        };
        launched.signal(name);
        let (status, server_pid, stderr) = launched.exit().await;
        assert!(
            !Path::new(&format!("/proc/{server_pid}")).exists(),
            "SIG{name}: the server outlived the launcher: {stderr:?}"
        );
        // The server exits cleanly on INT and TERM; otherwise both die of the signal.
        match name {
            "INT" | "TERM" => assert!(
                status.code().is_some() || status.signal() == Some(number),
                "SIG{name}: {status:?}"
            ),
            _ => assert_eq!(status.signal(), Some(number), "SIG{name}: {status:?}"),
        }
    }
}

impl Launched {
    fn node_pid_listens(&self) -> bool {
        listens(self.node_pid)
    }
}
