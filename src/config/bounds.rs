//! The range of every duration flag. A duration becomes a deadline (`Instant + Duration`), and
//! one past what the clock can add (`--idle-timeout 1e19`) aborted the process on the first
//! connection; so each flag has a range, and a value outside it is refused at start with the
//! flag, the range and the value.

use std::time::Duration;

use super::ConfigError;

/// A duration flag and the values it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DurationFlag {
    /// The flag's name, without the dashes.
    pub flag: &'static str,
    /// Smallest value (in the flag's unit).
    pub min: f64,
    /// Largest value (in the flag's unit).
    pub max: f64,
    /// The unit the flag is given in.
    pub unit: Unit,
}

/// The unit of a duration flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds (`SECS`, fractions allowed).
    Seconds,
    /// Milliseconds (`MS`, whole numbers).
    Millis,
}

/// One hour: more than any wait, timeout or grace period this server needs.
const HOUR: f64 = 3600.0;
/// The shortest duration a flag takes (1 ms): tests run with tiny timeouts, zero means none.
const SHORTEST: f64 = 0.001;

const fn secs(flag: &'static str, max: f64) -> DurationFlag {
    DurationFlag {
        flag,
        min: SHORTEST,
        max,
        unit: Unit::Seconds,
    }
}

/// `--max-wait`.
pub(crate) const MAX_WAIT: DurationFlag = secs("max-wait", HOUR);
/// `--call-deadline`: under the 60 s after which MCP clients give up (checked apart).
pub(crate) const CALL_DEADLINE: DurationFlag = secs("call-deadline", 59.999);
/// `--poll-min`.
pub(crate) const POLL_MIN: DurationFlag = secs("poll-min", HOUR);
/// `--poll-max`.
pub(crate) const POLL_MAX: DurationFlag = secs("poll-max", HOUR);
/// `--create-timeout`.
pub(crate) const CREATE_TIMEOUT: DurationFlag = secs("create-timeout", HOUR);
/// `--query-timeout`.
pub(crate) const QUERY_TIMEOUT: DurationFlag = secs("query-timeout", HOUR);
/// `--retry-base-ms`: later steps double up to 30 s, so a first step past that means nothing.
pub(crate) const RETRY_BASE_MS: DurationFlag = DurationFlag {
    flag: "retry-base-ms",
    min: 1.0,
    max: 30_000.0,
    unit: Unit::Millis,
};
/// `--session-idle`: up to a week.
pub(crate) const SESSION_IDLE: DurationFlag = secs("session-idle", 7.0 * 24.0 * HOUR);
/// `--shutdown-grace`.
pub(crate) const SHUTDOWN_GRACE: DurationFlag = secs("shutdown-grace", HOUR);
/// `--header-timeout`.
pub(crate) const HEADER_TIMEOUT: DurationFlag = secs("header-timeout", HOUR);
/// `--idle-timeout`: up to a day.
pub(crate) const IDLE_TIMEOUT: DurationFlag = secs("idle-timeout", 24.0 * HOUR);
/// `--body-timeout`.
pub(crate) const BODY_TIMEOUT: DurationFlag = secs("body-timeout", HOUR);

/// Every duration flag; a test checks that each `SECS`/`MS` flag of the CLI is here.
pub const DURATION_FLAGS: &[DurationFlag] = &[
    MAX_WAIT,
    CALL_DEADLINE,
    POLL_MIN,
    POLL_MAX,
    CREATE_TIMEOUT,
    QUERY_TIMEOUT,
    RETRY_BASE_MS,
    SESSION_IDLE,
    SHUTDOWN_GRACE,
    HEADER_TIMEOUT,
    IDLE_TIMEOUT,
    BODY_TIMEOUT,
];

impl DurationFlag {
    /// `value` (in the flag's unit) as a duration, or the error naming the flag and its range.
    pub fn parse(&self, value: f64) -> Result<Duration, ConfigError> {
        let secs = match self.unit {
            Unit::Seconds => value,
            Unit::Millis => value / 1000.0,
        };
        // NaN compares false, so it is outside every range.
        let inside = value >= self.min && value <= self.max;
        match Duration::try_from_secs_f64(secs) {
            Ok(duration) if inside => Ok(duration),
            _ => Err(ConfigError::OutOfRange {
                flag: self.flag,
                range: self.range(),
                value,
            }),
        }
    }

    /// "between 0.001 and 3600 seconds", for the error.
    fn range(&self) -> String {
        let unit = match self.unit {
            Unit::Seconds => "seconds",
            Unit::Millis => "milliseconds",
        };
        format!("between {} and {} {unit}", self.min, self.max)
    }
}
