//! MCP over stdin/stdout, through rmcp's line transport with one addition: a line that rmcp
//! could not parse (not JSON, invalid UTF-8 inside a string, nested deeper than `serde_json`
//! allows, or longer than 16 MiB) gets JSON-RPC 2.0's answer, `-32700 Parse error` with
//! `id: null`, instead of silence; rmcp drops such lines without a word.
//!
//! Two plain threads own the pipes (tokio's own stdin and stdout also hand each read and
//! write to a blocking thread, so this costs no extra hop). The reader checks each line and
//! forwards valid ones to rmcp; the writer is the only one that writes stdout, and writes a
//! parse error only between rmcp's lines, never inside one.

use std::io::{BufRead, Write};
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, oneshot};

use crate::server::KlingServer;

mod check;

use check::check_json;

/// The longest line read (as rmcp's own stdio transport): longer ones are dropped.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Why serving on stdio stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StdioError {
    /// The client did not complete `initialize`.
    #[error("MCP initialize: {0}")]
    Initialize(Box<rmcp::service::ServerInitializeError>),
    /// The session task failed.
    #[error("MCP session: {0}")]
    Session(#[from] tokio::task::JoinError),
    /// A thread for stdin or stdout could not be started.
    #[error("cannot start the stdio threads: {0}")]
    Threads(#[from] std::io::Error),
}

/// Serves MCP on stdin/stdout until the client closes stdin or the session ends, then
/// flushes every reply before returning.
pub async fn serve_stdio(server: KlingServer) -> Result<(), StdioError> {
    let (lines_tx, lines_rx) = mpsc::channel::<Vec<u8>>(32);
    let (out_tx, out_rx) = std_mpsc::channel::<Out>();
    let (written_tx, written_rx) = oneshot::channel();
    let errors = out_tx.clone();
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || read_stdin(&lines_tx, &errors))?;
    std::thread::Builder::new()
        .name("stdout".into())
        .spawn(move || {
            write_stdout(&out_rx);
            let _ = written_tx.send(());
        })?;
    let reader = LineReader {
        lines: lines_rx,
        current: Vec::new(),
        offset: 0,
    };
    let service = server
        .serve((reader, LineWriter(out_tx)))
        .await
        .map_err(|e| StdioError::Initialize(Box::new(e)))?;
    service.waiting().await?;
    // The transport (and with it the writer's sender) is gone; let the last replies out.
    let _ = tokio::time::timeout(Duration::from_secs(5), written_rx).await;
    Ok(())
}

/// What the stdout thread is given.
enum Out {
    /// Bytes rmcp wrote (whole lines, in practice).
    Rmcp(Vec<u8>),
    /// A complete parse-error line from the reader.
    ParseError(Vec<u8>),
    /// rmcp's writer is gone: flush and stop.
    Close,
}

/// Reads stdin line by line: JSON goes to rmcp, anything else is answered with -32700.
fn read_stdin(lines: &mpsc::Sender<Vec<u8>>, out: &std_mpsc::Sender<Out>) {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        let mut line = Vec::new();
        match read_line(&mut input, &mut line) {
            Ok(Line::Complete) => {}
            Ok(Line::TooLong) => {
                tracing::error!(
                    max = MAX_LINE_BYTES,
                    "an incoming line is too long; dropped"
                );
                let reason = format!("the line is longer than {MAX_LINE_BYTES} bytes; dropped");
                if out.send(Out::ParseError(parse_error(&reason))).is_err() {
                    return;
                }
                continue;
            }
            Ok(Line::Eof) => return,
            Err(err) => {
                tracing::error!(%err, "reading stdin failed");
                return;
            }
        }
        let content = line.trim_ascii();
        // rmcp skips a UTF-8 byte order mark, so it is no parse error here either.
        let content = content.strip_prefix(UTF8_BOM).unwrap_or(content);
        if content.is_empty() {
            continue;
        }
        match check_json(content) {
            Ok(()) => {
                if lines.blocking_send(line).is_err() {
                    return;
                }
            }
            Err(err) => {
                tracing::debug!(%err, "answering an unparseable line with -32700");
                if out
                    .send(Out::ParseError(parse_error(&err.to_string())))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A JSON-RPC `-32700` line with `id: null`, ready to write.
fn parse_error(reason: &str) -> Vec<u8> {
    let reply = serde_json::json!({"jsonrpc": "2.0", "id": null,
        "error": {"code": -32700, "message": format!("Parse error: {reason}")}});
    let mut bytes = reply.to_string().into_bytes();
    bytes.push(b'\n');
    bytes
}

/// How reading one line ended.
enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line into `line`, never holding more than [`MAX_LINE_BYTES`].
/// A last line without its newline is dropped at end of input, as rmcp does.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let newline = available.iter().position(|b| *b == b'\n');
        let take = newline.map_or(available.len(), |at| at + 1);
        if too_long || line.len() + take > MAX_LINE_BYTES {
            too_long = true;
            line.clear();
        } else {
            line.extend_from_slice(available.get(..take).unwrap_or_default());
        }
        input.consume(take);
        if newline.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

/// Writes everything to stdout in order, holding parse errors while an rmcp line is
/// unfinished; flushes whenever nothing more is queued.
fn write_stdout(out: &std_mpsc::Receiver<Out>) {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut mid_line = false;
    let mut held: Vec<Vec<u8>> = Vec::new();
    while let Ok(first) = out.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            let written = match message {
                Out::Rmcp(bytes) => {
                    if let Some(last) = bytes.last() {
                        mid_line = *last != b'\n';
                    }
                    let mut result = stdout.write_all(&bytes);
                    if !mid_line {
                        for line in held.drain(..) {
                            result = result.and_then(|()| stdout.write_all(&line));
                        }
                    }
                    result
                }
                Out::ParseError(line) if mid_line => {
                    held.push(line);
                    Ok(())
                }
                Out::ParseError(line) => stdout.write_all(&line),
                Out::Close => {
                    let _ = stdout.flush();
                    return;
                }
            };
            if written.is_err() {
                return;
            }
            next = out.try_recv().ok();
        }
        if stdout.flush().is_err() {
            return;
        }
    }
}

/// rmcp's input: the lines the reader thread let through.
struct LineReader {
    lines: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    offset: usize,
}

impl AsyncRead for LineReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.offset >= this.current.len() {
            match this.lines.poll_recv(cx) {
                Poll::Ready(Some(line)) => {
                    this.current = line;
                    this.offset = 0;
                }
                // End of input.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let rest = this.current.get(this.offset..).unwrap_or_default();
        let n = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..n).unwrap_or_default());
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

/// rmcp's output: handed to the stdout thread.
struct LineWriter(std_mpsc::Sender<Out>);

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(match self.0.send(Out::Rmcp(buf.to_vec())) {
            Ok(()) => Ok(buf.len()),
            Err(_) => Err(std::io::ErrorKind::BrokenPipe.into()),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let _ = self.0.send(Out::Close);
    }
}

#[cfg(test)]
mod tests;
