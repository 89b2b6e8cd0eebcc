//! Daily spend limits per owner: what counts, and the admission of a new task under them.
//! The check and the pre-create record are one transaction serialised per owner (SQLite's
//! single writer under `BEGIN IMMEDIATE`; a PostgreSQL advisory lock keyed by the owner), so
//! racers at a limit never both pass, however many processes or instances share the store.

use super::value::{Columns, Row};
use super::{NewTask, Store, StoreError, sql};

/// The rolling window the limits count over: 24 hours, in ms.
pub const SPEND_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// The seconds a purchase counts when it names no duration (Kling's default).
const DEFAULT_SECONDS: u32 = 5;
/// The seconds a base video edit counts (its longest input).
const EDIT_SECONDS: u32 = 10;

/// One owner's daily limits; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpendLimits {
    /// Most videos per rolling 24 hours.
    pub videos: Option<u32>,
    /// Most requested seconds per rolling 24 hours.
    pub seconds: Option<u32>,
}

impl SpendLimits {
    /// Whether neither limit is set.
    pub fn is_off(&self) -> bool {
        self.videos.is_none() && self.seconds.is_none()
    }
}

/// What an owner bought in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Usage {
    /// Videos (every record but `submit_failed`).
    pub videos: u32,
    /// Their requested seconds.
    pub seconds: u32,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Videos per day.
    Videos,
    /// Seconds per day.
    Seconds,
}

/// Why a task was not recorded: a limit would be passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The limit that refused (videos first when both do).
    pub kind: LimitKind,
    /// Its value.
    pub limit: u32,
    /// Used in the window.
    pub used: Usage,
    /// The seconds the refused task asked for.
    pub asked_seconds: u32,
    /// When enough leaves the window for this task to fit, Unix ms; `None` when it never
    /// will (a limit of 0, or one task longer than the seconds limit).
    pub retry_at_ms: Option<i64>,
}

/// Whether a task was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Recorded as `submitting`: it may be sent.
    Recorded,
    /// Refused; nothing was recorded.
    Refused(Refusal),
}

/// The seconds a purchase counts: its requested duration; a base video edit counts 10.
pub fn billed_seconds(mode: &str, duration: Option<u8>) -> u32 {
    match (mode, duration) {
        ("video_edit", _) => EDIT_SECONDS,
        (_, Some(seconds)) => u32::from(seconds),
        (_, None) => DEFAULT_SECONDS,
    }
}

/// One purchase in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spent {
    /// When it was recorded, Unix ms.
    pub at_ms: i64,
    /// Its seconds.
    pub seconds: u32,
}

/// Whether a task of `asked` seconds fits under `limits` given the window's purchases
/// (oldest first).
pub(super) fn judge(spent: &[Spent], asked: u32, limits: SpendLimits) -> Result<(), Refusal> {
    let used = Usage {
        videos: u32::try_from(spent.len()).unwrap_or(u32::MAX),
        seconds: spent.iter().map(|s| s.seconds).sum(),
    };
    // When the i-th oldest purchase leaves the window.
    let leaves = |index: usize| spent.get(index).map(|s| s.at_ms + SPEND_WINDOW_MS);
    let videos = limits.videos.filter(|&max| used.videos >= max).map(|max| {
        let wait = match max {
            0 => None,
            _ => leaves((used.videos - max) as usize),
        };
        (LimitKind::Videos, max, wait)
    });
    let seconds = limits
        .seconds
        .filter(|&max| used.seconds.saturating_add(asked) > max)
        .map(|max| {
            let wait = match asked > max {
                true => None,
                false => {
                    let free = used.seconds + asked - max;
                    let mut freed = 0;
                    spent
                        .iter()
                        .position(|s| {
                            freed += s.seconds;
                            freed >= free
                        })
                        .and_then(leaves)
                }
            };
            (LimitKind::Seconds, max, wait)
        });
    let refusals: Vec<_> = videos.into_iter().chain(seconds).collect();
    let Some(&(kind, limit, _)) = refusals.first() else {
        return Ok(());
    };
    // Both limits must clear: the later time, or never if either never does.
    let retry_at_ms = refusals
        .iter()
        .map(|r| r.2)
        .collect::<Option<Vec<i64>>>()
        .and_then(|times| times.into_iter().max());
    Err(Refusal {
        kind,
        limit,
        used,
        asked_seconds: asked,
        retry_at_ms,
    })
}

/// Reads the window's purchases from `rows` (`created_at_ms, mode, duration`).
pub(super) fn spent_from_rows(rows: &[Row]) -> Vec<Spent> {
    rows.iter()
        .filter_map(|row| {
            let at_ms = row.int(0).ok()?;
            let mode = row.text(1).ok()?;
            let duration = row
                .opt_int(2)
                .ok()
                .flatten()
                .and_then(|d| u8::try_from(d).ok());
            Some(Spent {
                at_ms,
                seconds: billed_seconds(&mode, duration),
            })
        })
        .collect()
}

impl Store {
    /// Records a task about to be submitted, like [`Store::insert_submitting`], only if it fits
    /// under `limits` for its owner in this handle's world; the check and the record are one
    /// step, serialised per owner across processes and instances. With no limits this is
    /// exactly [`Store::insert_submitting`] (no extra round trip).
    pub async fn insert_submitting_within(
        &self,
        task: &NewTask,
        limits: SpendLimits,
        now_ms: i64,
    ) -> Result<Admission, StoreError> {
        if limits.is_off() {
            self.insert_submitting(task, now_ms).await?;
            return Ok(Admission::Recorded);
        }
        let asked = billed_seconds(&task.mode, task.duration);
        let check = vec![
            (&task.owner).into(),
            self.world(),
            (now_ms - SPEND_WINDOW_MS).into(),
        ];
        let insert = self.insert_params(task, now_ms);
        let lock_key = owner_lock_key(task.owner.as_str(), self.is_simulated());
        let admit = move |rows: &[Row]| judge(&spent_from_rows(rows), asked, limits);
        let started = std::time::Instant::now();
        let outcome = match &self.backend {
            super::Backend::Sqlite(s) => {
                s.check_then_run(
                    sql::SPENT_SINCE,
                    check,
                    sql::INSERT_SUBMITTING,
                    insert,
                    admit,
                )
                .await?
            }
            super::Backend::Postgres(p) => {
                p.check_then_run(
                    lock_key,
                    sql::SPENT_SINCE,
                    check,
                    sql::INSERT_SUBMITTING,
                    insert,
                    admit,
                )
                .await?
            }
        };
        crate::metrics::store_op("insert_submitting_within_limits", started.elapsed());
        match outcome {
            Err(refusal) => Ok(Admission::Refused(refusal)),
            Ok(0) => Err(StoreError::ExternalIdTaken {
                external_task_id: task.external_task_id.clone(),
            }),
            Ok(_) => Ok(Admission::Recorded),
        }
    }

    /// What `owner` bought in this handle's world in the 24 hours before `now_ms`.
    pub async fn usage(&self, owner: &super::Owner, now_ms: i64) -> Result<Usage, StoreError> {
        let params = vec![
            owner.into(),
            self.world(),
            (now_ms - SPEND_WINDOW_MS).into(),
        ];
        let spent = spent_from_rows(&self.query(sql::SPENT_SINCE, params).await?);
        Ok(Usage {
            videos: u32::try_from(spent.len()).unwrap_or(u32::MAX),
            seconds: spent.iter().map(|s| s.seconds).sum(),
        })
    }
}

/// The PostgreSQL advisory lock key of one owner's spend checks in one world: a stable hash
/// (FNV-1a), so every instance takes the same lock.
fn owner_lock_key(owner: &str, simulated: bool) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in owner.bytes().chain([u8::from(simulated), 0x5e]) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}
