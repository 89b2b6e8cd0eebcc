//! Accepting HTTP connections so that slow or idle clients cannot hold the server: a deadline
//! for request headers and one for bodies ([`TimedBody`]), an idle timeout, and a cap on open
//! connections (fitted to the open-file limit, with a reserve that answers `/healthz`).
//!
//! The cap is what keeps `/healthz` and real clients answering during a slowloris attack. A
//! connection that has a request in flight (a tool call, an SSE stream) is never touched; a
//! connection that is *waiting for a request* (new, or kept alive between requests) costs an
//! attacker nothing to hold. So when the cap is reached, a new connection replaces the one
//! that has waited longest without sending a complete request (headers *and* body: a body
//! dripping in does not make a connection busy). A real client sends its headers
//! in microseconds and is served; attackers only displace each other. Only when every open
//! connection is busy with a request does a new one go to the small reserve that answers only
//! `/healthz` ([`super::overflow`]). Refusing new connections at
//! the cap instead would let a few hundred slow sockets lock everyone out until their header
//! deadline, and then take the freed slots again.

use std::convert::Infallible;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body::TimedBody;
use super::fdlimit::fit_connections;
use super::overflow::{RESERVED, healthz_only};
use super::slots::{RequestGuard, Slot, Table};

/// Limits on HTTP connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this long: on a new connection, and between
    /// requests on a kept-alive one.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is closed, unless it
    /// waits for the server's own answer.
    pub idle_timeout: Duration,
    /// A request's body must arrive within this long after its headers (plus one second per
    /// 64 KiB).
    pub body_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            max_connections: 4096,
        }
    }
}

/// Accepts connections on every listener and serves `app` on each until `stopping` is
/// cancelled; then stops accepting, lets each connection finish its current request, and
/// returns once all closed. One connection table for all listeners: one cap.
pub(super) async fn serve_connections(
    listeners: Vec<TcpListener>,
    app: Router,
    limits: ConnectionLimits,
    stopping: CancellationToken,
) {
    let max_connections = fit_connections(limits.max_connections, RESERVED);
    let table = Arc::new(Table::new(max_connections));
    let reserve = Arc::new(Table::new(RESERVED));
    let overflow_app = healthz_only(app.clone());
    let counted = table.clone();
    crate::metrics::register_gauge(
        "kling_http_connections_open",
        "HTTP connections open now (busy or waiting for a request)",
        move || i64::try_from(counted.open()).unwrap_or(i64::MAX),
    );
    let tasks = TaskTracker::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut overflow_builder = builder.clone();
    overflow_builder.keep_alive(false);
    loop {
        let accepted = tokio::select! {
            accepted = accept_any(&listeners) => accepted,
            () = stopping.cancelled() => break,
        };
        let tcp = match accepted {
            Ok(tcp) => tcp,
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%err, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    () = stopping.cancelled() => break,
                }
            }
        };
        let (slot, app, builder) = match table.admit() {
            Some(slot) => (slot, app.clone(), builder.clone()),
            None => match reserve.admit() {
                Some(slot) => (slot, overflow_app.clone(), overflow_builder.clone()),
                None => {
                    tracing::debug!(
                        limit = max_connections,
                        "connection closed at once: every open connection is busy"
                    );
                    continue;
                }
            },
        };
        // Small SSE frames must not wait for Nagle's algorithm (a 40 ms delayed-ACK stall).
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
        tasks.spawn(serve_one(tcp, slot, app, builder, limits, stopping.clone()));
    }
    tasks.close();
    tasks.wait().await;
    crate::metrics::unregister_gauge("kling_http_connections_open");
}

/// The next connection on any of `listeners` (never completes when there are none).
async fn accept_any(listeners: &[TcpListener]) -> std::io::Result<TcpStream> {
    std::future::poll_fn(|cx| {
        for listener in listeners {
            if let Poll::Ready(accepted) = listener.poll_accept(cx) {
                return Poll::Ready(accepted.map(|(tcp, _)| tcp));
            }
        }
        Poll::Pending
    })
    .await
}

/// Serves one connection until it ends, goes idle, is displaced, or the server stops.
async fn serve_one(
    tcp: TcpStream,
    slot: Slot,
    app: Router,
    builder: http1::Builder,
    limits: ConnectionLimits,
    stopping: CancellationToken,
) {
    let activity = Arc::new(Activity::default());
    let started = Instant::now();
    let io = TokioIo::new(Watched {
        inner: tcp,
        activity: activity.clone(),
        started,
    });
    let slot = Arc::new(slot);
    let service_slot = slot.clone();
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        // In flight (not displaceable, not idle) once its body has arrived, or the app
        // answered without reading it: a body still dripping in leaves the connection waiting.
        let in_flight = Arc::new(Mutex::new(None));
        let start = {
            let (slot, activity, in_flight) = (
                service_slot.clone(),
                service_activity.clone(),
                in_flight.clone(),
            );
            move || InFlight::start(&slot, &activity, &in_flight)
        };
        let on_end = start.clone();
        let request = request
            .map(|body| Body::new(TimedBody::new(body, limits.body_timeout, Box::new(on_end))));
        let call = TowerToHyperService::new(app.clone()).call(request);
        async move {
            let response: Response = call.await?;
            start();
            let guard = crate::lock(&in_flight).take();
            Ok::<_, Infallible>(response.map(|inner| GuardedBody {
                inner,
                _guard: guard,
            }))
        }
    });
    let mut connection = pin!(builder.serve_connection(io, service));
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended");
                }
                break;
            }
            () = slot.displaced.cancelled() => {
                tracing::debug!("connection closed: the connection limit was reached and it had waited longest without a request");
                break;
            }
            () = idle(&activity, started, limits.idle_timeout) => {
                tracing::debug!("connection closed: idle");
                break;
            }
            () = stopping.cancelled(), if !shutting_down => {
                connection.as_mut().graceful_shutdown();
                shutting_down = true;
            }
        }
    }
}

/// What the idle timeout watches on one connection.
#[derive(Default)]
struct Activity {
    /// When a byte last moved, in milliseconds since the connection opened.
    last_ms: AtomicU64,
    /// Requests whose answer is being worked on or sent.
    in_flight: AtomicUsize,
    /// The last write found the socket full: the client is not reading.
    write_blocked: AtomicBool,
}

/// Completes once nothing was read or written for `timeout`, except while a request is in
/// flight and the server is not blocked on the client: a 2026-07-28 `tools/call` that waits
/// for a task sends nothing, not even headers, until its result (the request has no stream to
/// keep alive), and the client is doing nothing wrong. A client that stops reading an answer
/// blocks the writes, and is idle again.
async fn idle(activity: &Activity, started: Instant, timeout: Duration) {
    loop {
        let last = started + Duration::from_millis(activity.last_ms.load(Ordering::Relaxed));
        let deadline = last + timeout;
        let now = Instant::now();
        if now < deadline {
            tokio::time::sleep_until(deadline).await;
            continue;
        }
        let waiting_on_server = activity.in_flight.load(Ordering::Relaxed) > 0
            && !activity.write_blocked.load(Ordering::Relaxed);
        if !waiting_on_server {
            return;
        }
        tokio::time::sleep_until(now + timeout).await;
    }
}

/// A request in flight: holds the connection's slot busy and exempts it from the idle
/// timeout; both end on drop.
struct InFlight {
    _guard: RequestGuard,
    activity: Arc<Activity>,
}

impl InFlight {
    /// Marks the request in flight, once (its body's end and its answer both call this).
    fn start(slot: &Arc<Slot>, activity: &Arc<Activity>, into: &Mutex<Option<InFlight>>) {
        let mut held = crate::lock(into);
        if held.is_none() {
            activity.in_flight.fetch_add(1, Ordering::Relaxed);
            *held = Some(Self {
                _guard: slot.request_started(),
                activity: activity.clone(),
            });
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket that records when a byte last moved (milliseconds since `started`) and whether
/// its last write was blocked.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
    started: Instant,
}

impl Watched {
    fn touch(&self) {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.last_ms.store(elapsed, Ordering::Relaxed);
    }

    /// Records a write's outcome: `Pending` means the client's receive window is full.
    fn wrote(&self, result: &Poll<std::io::Result<usize>>) {
        let blocked = result.is_pending();
        self.activity
            .write_blocked
            .store(blocked, Ordering::Relaxed);
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0) {
            self.touch();
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that marks its request finished when hyper is done with it.
struct GuardedBody {
    inner: Body,
    _guard: Option<InFlight>,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
