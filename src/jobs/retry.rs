//! When a failed call may be repeated, and how long to wait first (spec §7). Small pure rules,
//! applied with `backon`'s exponential steps, full jitter and `Retry-After`, inside the call's
//! deadline.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::deadline::Deadline;
use crate::comet::{Error, ErrorKind};

/// Backoff settings. Retry n waits `random(0, min(cap, base * 2^n))` (full jitter), or the
/// server's `Retry-After` when it sent one; code 1303 (concurrency) uses a 5x longer base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First backoff step.
    pub base: Duration,
    /// Longest single wait.
    pub cap: Duration,
    /// Most retries after the first attempt.
    pub max_retries: usize,
    /// Most total time spent waiting between attempts (`Retry-After` pauses included).
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            max_retries: 4,
            budget: Duration::from_secs(60),
        }
    }
}

/// Whether a failed status query is retried: connection failures, timeouts, resets, rate
/// limits (429 with 1302/1303 or no code), upstream 5xx and 5000-5002, and a 2xx body that
/// did not parse. Never: auth, balance, invalid input, not found, content policy.
pub fn retry_query(err: &Error) -> bool {
    err.retryable()
}

/// Whether a failed create may be sent again: only when it provably started no task — the
/// connection was never made, or the request was refused by a rate or concurrency limit.
/// A timeout, reset or 5xx after sending is ambiguous and is never re-sent.
pub fn retry_create(err: &Error) -> bool {
    match err {
        Error::Network { before_send, .. } => *before_send,
        other => other.kind() == ErrorKind::RateLimited,
    }
}

/// How a retried call ended without success.
#[derive(Debug)]
pub(super) struct GaveUp {
    /// The last failure.
    pub(super) error: Error,
    /// Set when the call's deadline, not the policy, stopped the retries: how long until the
    /// next attempt was due (the server's `Retry-After`, else the backoff step).
    pub(super) retry_in: Option<Duration>,
}

/// Runs `attempt` until it succeeds, `should_retry` says no, the policy is used up, or the
/// next pause would leave no time before `deadline` for another attempt. The budget counts
/// the pauses really taken, `Retry-After` included, so a server asking for 60 s again and
/// again cannot stretch a call to minutes.
pub(super) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    deadline: Deadline,
    should_retry: fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    // Unjittered steps: base, 2*base, … up to the cap; `delay_for` adds the jitter.
    let mut steps = ExponentialBuilder::default()
        .with_min_delay(policy.base)
        .with_max_delay(policy.cap)
        .with_max_times(policy.max_retries)
        .build();
    let mut paused = Duration::ZERO;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let step = match steps.next() {
            Some(step) if should_retry(&error) => step,
            _ => {
                return Err(GaveUp {
                    error,
                    retry_in: None,
                });
            }
        };
        let pause = delay_for(&error, step, policy);
        if paused.saturating_add(pause) > policy.budget {
            return Err(GaveUp {
                error,
                retry_in: None,
            });
        }
        if !deadline.allows(pause) {
            let retry_in = error.retry_after().unwrap_or(step);
            tracing::info!(kind = error.kind().as_str(), %error, ?retry_in, "not retrying: the call's time is up");
            return Err(GaveUp {
                error,
                retry_in: Some(retry_in),
            });
        }
        tracing::info!(kind = error.kind().as_str(), %error, wait = ?pause, "retrying");
        tokio::time::sleep(pause).await;
        paused = paused.saturating_add(pause);
    }
}

/// The wait before a retry: the server's `Retry-After`, else full jitter over the step.
fn delay_for(err: &Error, step: Duration, policy: RetryPolicy) -> Duration {
    if let Some(asked) = err.retry_after() {
        return asked;
    }
    let step = if err.code() == Some("1303") {
        (step * 5).min(policy.cap)
    } else {
        step
    };
    step.mul_f64(fastrand::f64())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::comet::ApiError;

    fn api(kind: ErrorKind, status: u16, code: &str) -> Error {
        Error::Api(ApiError {
            kind,
            status,
            code: Some(code.into()),
            message: String::new(),
            request_id: None,
            retry_after: None,
        })
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
            max_retries: 3,
            budget: Duration::from_secs(1),
        }
    }

    #[test]
    fn creates_are_resent_only_when_no_task_can_exist() {
        let refused = Error::Network {
            url: "u".into(),
            detail: "refused".into(),
            before_send: true,
        };
        let reset = Error::Network {
            url: "u".into(),
            detail: "reset".into(),
            before_send: false,
        };
        let timeout = Error::Timeout {
            url: "u".into(),
            after: Duration::from_secs(60),
        };
        assert!(retry_create(&refused));
        assert!(retry_create(&api(ErrorKind::RateLimited, 429, "1303")));
        assert!(!retry_create(&reset));
        assert!(!retry_create(&timeout));
        assert!(!retry_create(&api(
            ErrorKind::UpstreamUnavailable,
            500,
            "5000"
        )));
        assert!(!retry_create(&api(
            ErrorKind::InsufficientBalance,
            429,
            "1102"
        )));
        // Queries may retry all of those but the balance error.
        assert!(retry_query(&reset) && retry_query(&timeout));
        assert!(retry_query(&api(
            ErrorKind::UpstreamUnavailable,
            500,
            "5000"
        )));
        assert!(!retry_query(&api(
            ErrorKind::InsufficientBalance,
            429,
            "1102"
        )));
    }

    #[test]
    fn delays_honour_retry_after_and_use_full_jitter() {
        let mut err = api(ErrorKind::RateLimited, 429, "1302");
        let policy = RetryPolicy::default();
        for _ in 0..100 {
            assert!(delay_for(&err, Duration::from_secs(4), policy) <= Duration::from_secs(4));
        }
        if let Error::Api(api) = &mut err {
            api.retry_after = Some(Duration::from_secs(7));
        }
        assert_eq!(
            delay_for(&err, Duration::from_secs(4), policy),
            Duration::from_secs(7)
        );
        let busy = api(ErrorKind::RateLimited, 429, "1303");
        let longest = (0..200)
            .map(|_| delay_for(&busy, Duration::from_secs(2), policy))
            .max()
            .unwrap();
        assert!(
            longest > Duration::from_secs(2),
            "1303 uses a longer base: {longest:?}"
        );
    }

    #[tokio::test]
    async fn retries_stop_at_the_limit_and_on_final_errors() {
        let calls = AtomicUsize::new(0);
        let result: Result<(), GaveUp> =
            with_retries(fast(), Deadline::none(), retry_query, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(api(ErrorKind::UpstreamUnavailable, 503, "5001"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "1 attempt + 3 retries");

        calls.store(0, Ordering::SeqCst);
        let _ = with_retries(fast(), Deadline::none(), retry_query, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(api(ErrorKind::Auth, 401, "1001"))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "auth errors are final");

        calls.store(0, Ordering::SeqCst);
        let value = with_retries(fast(), Deadline::none(), retry_query, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(api(ErrorKind::RateLimited, 429, "1302")),
                _ => Ok(42),
            }
        })
        .await;
        assert_eq!(value.unwrap(), 42);
    }

    fn asks_for(pause: Duration) -> Error {
        let mut err = api(ErrorKind::RateLimited, 429, "1303");
        if let Error::Api(api) = &mut err {
            api.retry_after = Some(pause);
        }
        err
    }

    #[tokio::test]
    async fn a_retry_after_past_the_deadline_is_not_waited_for() {
        let calls = AtomicUsize::new(0);
        let policy = RetryPolicy {
            budget: Duration::from_secs(3600),
            ..fast()
        };
        let deadline = Deadline::after(Duration::from_secs(30));
        let gave_up = with_retries(policy, deadline, retry_query, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(asks_for(Duration::from_secs(60)))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry after 60 s");
        assert_eq!(gave_up.retry_in, Some(Duration::from_secs(60)));
        assert_eq!(gave_up.error.kind(), ErrorKind::RateLimited);
    }

    #[tokio::test]
    async fn retry_after_pauses_count_against_the_budget() {
        let calls = AtomicUsize::new(0);
        let gave_up = with_retries(fast(), Deadline::none(), retry_query, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(asks_for(Duration::from_secs(7)))
        })
        .await
        .unwrap_err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "7 s is over the 1 s budget"
        );
        assert_eq!(
            gave_up.retry_in, None,
            "the policy stopped it, not a deadline"
        );
    }
}
