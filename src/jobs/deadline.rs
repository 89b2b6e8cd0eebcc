//! The one time limit of a tool call. MCP clients give up on a call after about 60 s, so every
//! step of a call — each request's timeout, each retry's pause (including a server's
//! `Retry-After`), each wait — fits inside one [`Deadline`] instead of adding up its own.

use std::time::Duration;

use tokio::time::Instant;

/// The least time a request is given: a timeout of zero would fail without saying anything
/// useful, so a request sent at the deadline may overrun it by this much.
const MIN_REQUEST_TIME: Duration = Duration::from_millis(100);

/// The least time worth starting another attempt with; a retry that would leave less is not
/// made, and the call answers with what it knows instead.
pub(super) const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(500);

/// When a call must have answered, or no limit (the CLI, following a task for a person).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No limit: requests keep their own timeouts and retries their own budget.
    pub fn none() -> Self {
        Self(None)
    }

    /// A limit `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(Instant::now().checked_add(after))
    }

    /// A limit at `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    /// The instant, when there is a limit.
    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    /// Completes when the deadline passes; never without one (for `select!`).
    pub async fn reached(self) {
        match self.0 {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// Time left (zero once passed), or `None` without a limit.
    pub fn left(self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The earlier of the two limits.
    pub fn min(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Self(Some(a.min(b))),
            (a, b) => Self(a.or(b)),
        }
    }

    /// A limit `reserve` earlier, keeping time for a step that must come after (a lookup
    /// after a create, a last query after a wait).
    pub fn less(self, reserve: Duration) -> Self {
        Self(self.0.map(|at| at.checked_sub(reserve).unwrap_or(at)))
    }

    /// The longest the next request may take: the time left (never below a small floor), or
    /// `None` to keep the request's own timeout.
    pub fn limit(self) -> Option<Duration> {
        self.left().map(|left| left.max(MIN_REQUEST_TIME))
    }

    /// Whether pausing `pause` still leaves time for another attempt.
    pub fn allows(self, pause: Duration) -> bool {
        self.left()
            .is_none_or(|left| left >= pause.saturating_add(MIN_ATTEMPT_TIME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_shorten_timeouts_and_refuse_pauses_that_do_not_fit() {
        let none = Deadline::none();
        assert_eq!(none.limit(), None);
        assert!(none.allows(Duration::from_secs(3600)));

        // Generous bounds: this test may be descheduled for a while on a loaded machine.
        let soon = Deadline::after(Duration::from_secs(30));
        let limit = soon.limit().unwrap();
        assert!(limit <= Duration::from_secs(30) && limit > Duration::from_secs(20));
        assert!(soon.allows(Duration::from_secs(2)));
        assert!(!soon.allows(Duration::from_secs(60)), "Retry-After: 60");
        assert!(soon.less(Duration::from_secs(10)).left() <= Some(Duration::from_secs(20)));
        assert_eq!(soon.min(none), soon);
        assert_eq!(none.min(soon), soon);
        assert_eq!(soon.min(Deadline::after(Duration::from_secs(90))), soon);

        let passed = Deadline::after(Duration::ZERO);
        assert_eq!(passed.left(), Some(Duration::ZERO));
        assert_eq!(passed.limit(), Some(MIN_REQUEST_TIME));
        assert!(!passed.allows(Duration::ZERO));
    }
}
