//! Request bodies must arrive within a deadline and at a minimum rate. Without one, a client
//! that sent its headers and then dripped a byte every few seconds held its connection (and
//! its place under the connection cap) for as long as it liked: the idle timeout only sees
//! that *something* moves.
//!
//! The deadline counts from the request's headers: `--body-timeout`, plus one second per
//! [`MIN_BODY_RATE`] bytes received, so a large honest upload on a slow link gets the time
//! its size needs while a trickle gets no more than the base.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// The slowest upload accepted, in bytes per second, beyond the `--body-timeout` base.
pub(super) const MIN_BODY_RATE: u64 = 64 * 1024;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// The body did not arrive within its deadline.
    #[error(
        "the request body did not arrive in time ({received} bytes in {waited:?}; a body must arrive within --body-timeout plus one second per 64 KiB)"
    )]
    TooSlow {
        /// Bytes received before the deadline.
        received: u64,
        /// How long the server waited.
        waited: Duration,
    },
    /// The connection failed while reading it.
    #[error("cannot read the request body: {0}")]
    Read(#[from] hyper::Error),
}

/// What to call once a request's body has arrived in full.
pub(super) type OnEnd = Box<dyn FnOnce() + Send + Sync>;

/// A request body held to its deadline; tells `on_end` when the last byte has arrived.
pub(super) struct TimedBody {
    inner: Incoming,
    started: Instant,
    base: Duration,
    received: u64,
    deadline: Pin<Box<Sleep>>,
    on_end: Option<OnEnd>,
}

impl TimedBody {
    /// Starts the clock of `inner`, a body whose headers arrived just now.
    pub(super) fn new(inner: Incoming, base: Duration, on_end: OnEnd) -> Self {
        let started = Instant::now();
        let mut body = Self {
            inner,
            started,
            base,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + base)),
            on_end: Some(on_end),
        };
        if body.inner.is_end_stream() {
            body.ended();
        }
        body
    }

    fn ended(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end();
        }
    }

    /// The deadline once `received` bytes have arrived.
    fn deadline(&self) -> Instant {
        let allowance = Duration::from_secs_f64(self.received as f64 / MIN_BODY_RATE as f64);
        self.started + self.base + allowance
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received = this.received.saturating_add(data.len() as u64);
                    let deadline = this.deadline();
                    this.deadline.as_mut().reset(deadline);
                }
                if this.inner.is_end_stream() {
                    this.ended();
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => {
                this.ended();
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        ready!(this.deadline.as_mut().poll(cx));
        Poll::Ready(Some(Err(BodyError::TooSlow {
            received: this.received,
            waited: this.started.elapsed(),
        })))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether `err` (as axum hands it to a handler) is a body that came too slowly.
pub(super) fn is_too_slow(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if matches!(
            current.downcast_ref::<BodyError>(),
            Some(BodyError::TooSlow { .. })
        ) {
            return true;
        }
        source = current.source();
    }
    false
}
