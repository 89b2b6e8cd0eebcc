//! stdio framing through the real binary (issue 24, finding 16): every line rmcp would drop
//! without a word (invalid UTF-8 inside a string, nesting past `serde_json`'s limit, a line over
//! 16 MiB) gets a `-32700` parse error with `id: null`, and the server goes on serving. Run
//! with `cargo test --test it stdio_framing::`.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::support::{BIN, TEST_KEY};

/// The server on stdio after `initialize`, with its pipes.
struct Stdio {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    next_id: u64,
    _sim: kling_omni_mcp::simulator::Simulator,
}

impl Stdio {
    async fn start() -> Self {
        let sim = kling_omni_mcp::simulator::Simulator::start(Default::default())
            .await
            .unwrap();
        let mut child = tokio::process::Command::new(BIN)
            .env("COMETAPI_KEY", TEST_KEY)
            .env("COMETAPI_BASE_URL", sim.url().as_str())
            .env("KLING_MCP_STORE", "off")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdio = Self {
            child,
            stdin,
            lines,
            next_id: 1,
            _sim: sim,
        };
        let init = stdio
            .request(
                "initialize",
                json!({"protocolVersion": "2025-11-25",
                "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}),
            )
            .await;
        assert!(init["result"]["serverInfo"].is_object(), "{init}");
        stdio
            .send(
                format!(
                    "{}\n",
                    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
                )
                .as_bytes(),
            )
            .await;
        stdio
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("a reply")
            .unwrap()
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }

    /// Sends a request and returns its answer.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send(format!("{line}\n").as_bytes()).await;
        let reply = self.next().await;
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }

    /// Sends one bad line; it must be answered with -32700, and a good request after it too.
    async fn parse_error_then_served(&mut self, line: &[u8]) {
        self.send(line).await;
        let reply = self.next().await;
        assert_eq!(reply["id"], Value::Null, "{reply}");
        assert_eq!(reply["error"]["code"], -32700, "{reply}");
        let list = self.request("tools/list", json!({})).await;
        assert!(list["result"]["tools"].as_array().is_some(), "{list}");
    }

    async fn stop(mut self) {
        drop(self.stdin);
        assert!(self.child.wait().await.unwrap().success());
    }
}

/// A `ping` request whose params carry `x` as given: valid in shape, so only syntax can fail.
fn ping_with(x: &[u8]) -> Vec<u8> {
    let mut line = br#"{"jsonrpc":"2.0","id":99,"method":"ping","params":{"x":"#.to_vec();
    line.extend_from_slice(x);
    line.extend_from_slice(b"}}\n");
    line
}

#[tokio::test]
async fn invalid_utf8_inside_a_string_gets_a_parse_error() {
    let mut s = Stdio::start().await;
    s.parse_error_then_served(&ping_with(b"\"bad \xff\xfe bytes\""))
        .await;
    s.parse_error_then_served(&ping_with(b"\"cut \xe2\x82\""))
        .await;
    s.parse_error_then_served(&ping_with(br#""\ud800 lone surrogate""#))
        .await;
    s.stop().await;
}

#[tokio::test]
async fn nesting_deeper_than_the_parser_allows_gets_a_parse_error() {
    let mut s = Stdio::start().await;
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    s.parse_error_then_served(&ping_with(deep(200).as_bytes()))
        .await;
    s.parse_error_then_served(&ping_with(deep(100_000).as_bytes()))
        .await;
    // Nesting the parser takes is still served as before.
    s.send(&ping_with(deep(100).as_bytes())).await;
    let pong = s.next().await;
    assert_eq!(pong["id"], 99, "{pong}");
    assert!(pong["result"].is_object(), "{pong}");
    s.stop().await;
}

#[tokio::test]
async fn a_line_over_16_mib_gets_a_parse_error_and_is_never_held_whole() {
    let mut s = Stdio::start().await;
    // 64 MiB in one line, written in pieces as a client streaming it would.
    let mut line = br#"{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":""#.to_vec();
    let chunk = vec![b'a'; 1024 * 1024];
    s.send(&line).await;
    for _ in 0..64 {
        s.send(&chunk).await;
    }
    line.clear();
    line.extend_from_slice(b"\"}}\n");
    s.parse_error_then_served(&line).await;
    // Bounded memory: the reader holds at most one 16 MiB line, never the 64 MiB one.
    let pid = s.child.id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    assert!(
        peak_kib < 56 * 1024,
        "peak RSS {peak_kib} KiB after a 64 MiB line"
    );
    // Exactly at the limit is still a message: a 16 MiB line (newline included) is served.
    let head = br#"{"jsonrpc":"2.0","id":8,"method":"ping","params":{"x":""#;
    let tail = b"\"}}\n";
    let pad = 16 * 1024 * 1024 - head.len() - tail.len();
    let mut exact = head.to_vec();
    exact.resize(head.len() + pad, b'b');
    exact.extend_from_slice(tail);
    s.send(&exact).await;
    let pong = s.next().await;
    assert_eq!(pong["id"], 8, "{pong}");
    s.stop().await;
}
