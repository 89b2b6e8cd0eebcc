//! When a failed call may be repeated, and how long to wait first (spec §7). Small pure rules,
//! applied with `backon`'s exponential backoff, full jitter and `Retry-After`.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

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
    /// Most total time spent waiting between attempts.
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

/// Runs `attempt` until it succeeds, `should_retry` says no, or the policy is used up.
pub(super) async fn with_retries<T, F, Fut>(
    policy: RetryPolicy,
    should_retry: fn(&Error) -> bool,
    attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.base)
        .with_max_delay(policy.cap)
        .with_max_times(policy.max_retries)
        .with_total_delay(Some(policy.budget));
    attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(should_retry)
        .adjust(move |err, planned| planned.map(|step| delay_for(err, step, policy)))
        .notify(|err, wait| tracing::info!(kind = err.kind().as_str(), %err, ?wait, "retrying"))
        .await
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
        let result: Result<(), Error> = with_retries(fast(), retry_query, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(ErrorKind::UpstreamUnavailable, 503, "5001"))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "1 attempt + 3 retries");

        calls.store(0, Ordering::SeqCst);
        let _ = with_retries(fast(), retry_query, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(api(ErrorKind::Auth, 401, "1001"))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "auth errors are final");

        calls.store(0, Ordering::SeqCst);
        let value = with_retries(fast(), retry_query, || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 | 1 => Err(api(ErrorKind::RateLimited, 429, "1302")),
                _ => Ok(42),
            }
        })
        .await;
        assert_eq!(value.unwrap(), 42);
    }
}
