//! The SQL both backends run, written once in the dialect SQLite and PostgreSQL share.
//! Parameters are `$1`, `$2`, … in order of first appearance: PostgreSQL numbers them so, and
//! SQLite numbers `$NAME` parameters by first appearance, so positional binding agrees (a unit
//! test checks every statement).

/// The migrations, in order; version N is `MIGRATIONS[N - 1]`. Never edit a released one:
/// add the next.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_tasks.sql"),
    include_str!("migrations/0002_simulated.sql"),
    include_str!("migrations/0003_mcp_tasks.sql"),
    include_str!("migrations/0004_units.sql"),
];

/// The newest schema version this build knows.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates the version table (idempotent).
pub(super) const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS kling_schema (version BIGINT PRIMARY KEY, applied_at_ms BIGINT NOT NULL)";
/// The applied version (0 for an empty store).
pub(super) const SCHEMA_VERSION_NOW: &str = "SELECT COALESCE(MAX(version), 0) FROM kling_schema";
/// Notes a migration as applied.
pub(super) const NOTE_MIGRATION: &str =
    "INSERT INTO kling_schema (version, applied_at_ms) VALUES ($1, $2)";

/// The columns of a task record, in [`super::TaskRecord`] order.
macro_rules! record_columns {
    () => {
        "external_task_id, task_id, owner, status, message, mode, prompt_head, model, duration, aspect_ratio, video_urls, local_files, created_at_ms, updated_at_ms, simulated, units"
    };
}

/// Records a task about to be submitted. An existing record with the same external id is
/// replaced only when its submit failed (nothing was bought) in the same world (simulated or
/// real); otherwise nothing changes and the caller learns that the id is taken.
pub(super) const INSERT_SUBMITTING: &str = "INSERT INTO tasks (external_task_id, owner, status, status_rank, mode, prompt_head, model, duration, aspect_ratio, video_urls, local_files, created_at_ms, updated_at_ms, simulated) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '[]', '[]', $10, $10, $11) \
ON CONFLICT (external_task_id) DO UPDATE SET owner = excluded.owner, task_id = NULL, status = excluded.status, status_rank = excluded.status_rank, message = NULL, mode = excluded.mode, prompt_head = excluded.prompt_head, model = excluded.model, duration = excluded.duration, aspect_ratio = excluded.aspect_ratio, video_urls = '[]', local_files = '[]', created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms \
WHERE tasks.status = 'submit_failed' AND tasks.simulated = excluded.simulated";

/// One owner's purchases in one world since a moment, oldest first: what the spend limits
/// count (every record but `submit_failed`, which bought nothing).
pub(super) const SPENT_SINCE: &str = "SELECT created_at_ms, mode, duration FROM tasks \
WHERE owner = $1 AND simulated = $2 AND created_at_ms > $3 AND status <> 'submit_failed' ORDER BY created_at_ms";

/// Serialises one owner's spend checks across PostgreSQL instances until the transaction
/// ends (PostgreSQL only; SQLite's `BEGIN IMMEDIATE` does it there).
pub(super) const LOCK_SPEND: &str = "SELECT pg_advisory_xact_lock($1)";

/// Adds an imported record unless its external or task id is already stored.
pub(super) const IMPORT_RECORD: &str = "INSERT INTO tasks (external_task_id, task_id, owner, status, status_rank, message, mode, prompt_head, model, duration, aspect_ratio, video_urls, local_files, created_at_ms, updated_at_ms, simulated) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING";

// Every change below names its world (`simulated`): a simulated process never changes a real
// record, nor a real process a simulated one.

/// Binds the upstream task id to a record (after a create or a lookup), forward only.
pub(super) const SET_CREATED: &str = "UPDATE tasks SET task_id = $1, status = $2, status_rank = $3, message = NULL, updated_at_ms = $4 \
WHERE external_task_id = $5 AND status_rank < $3 AND simulated = $6";

/// Ends a submit without a task (`submit_failed` or `submit_uncertain`); only from `submitting`.
pub(super) const SET_SUBMIT_OUTCOME: &str = "UPDATE tasks SET status = $1, status_rank = $2, message = $3, updated_at_ms = $4 \
WHERE external_task_id = $5 AND status = 'submitting' AND simulated = $6";

/// What a status query learned, forward only, and only when something changed. Units, once
/// known, stay unless a later reply gives others.
pub(super) const RECORD_STATUS: &str = "UPDATE tasks SET status = $1, status_rank = $2, message = $3, video_urls = $4, units = COALESCE(CAST($5 AS TEXT), units), updated_at_ms = $6 \
WHERE task_id = $7 AND simulated = $8 AND (status_rank < $2 OR (status_rank = $2 AND status = $1)) \
AND (status <> $1 OR message IS DISTINCT FROM $3 OR video_urls <> $4 OR (CAST($5 AS TEXT) IS NOT NULL AND units IS DISTINCT FROM CAST($5 AS TEXT)))";

/// The files a download saved.
pub(super) const SET_LOCAL_FILES: &str =
    "UPDATE tasks SET local_files = $1, updated_at_ms = $2 WHERE task_id = $3 AND simulated = $4";

/// One record by upstream id.
pub(super) const GET_BY_TASK_ID: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM tasks WHERE task_id = $1"
);

/// One owner's record named by its task id, or by its external id.
pub(super) const FIND: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM tasks WHERE owner = $1 AND (task_id = $2 OR external_task_id = $2) ORDER BY task_id IS NULL LIMIT 1"
);

/// One owner's records, newest first.
pub(super) const LIST: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM tasks WHERE owner = $1 ORDER BY created_at_ms DESC, external_task_id DESC LIMIT $2"
);

/// One owner's records with one status, newest first.
pub(super) const LIST_WITH_STATUS: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM tasks WHERE owner = $1 AND status = $2 ORDER BY created_at_ms DESC, external_task_id DESC LIMIT $3"
);

/// One owner's records of one world still `submitting` since before a moment (their process
/// died).
pub(super) const STALE_SUBMITTING: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM tasks WHERE owner = $1 AND status = 'submitting' AND updated_at_ms < $2 AND simulated = $3 ORDER BY created_at_ms LIMIT 50"
);

/// Takes a stale record for recovery: only one process wins (compare-and-set on its time).
pub(super) const CLAIM_RECOVERY: &str = "UPDATE tasks SET updated_at_ms = $1 WHERE external_task_id = $2 AND status = 'submitting' AND updated_at_ms = $3 AND simulated = $4";

/// Moves the tasks of a legacy owner fingerprint to its stable successor.
pub(super) const ADOPT_OWNER: &str = "UPDATE tasks SET owner = $1 WHERE owner = $2";

/// The number of stored tasks.
pub(super) const COUNT_TASKS: &str = "SELECT COUNT(*) FROM tasks";

/// How many tasks are in each status, for the metrics: one grouped scan, at most one row per
/// status (a closed set).
pub(super) const COUNT_BY_STATUS: &str = "SELECT status, COUNT(*) FROM tasks GROUP BY status";

/// The shared poll state of a task.
pub(super) const READ_POLL: &str = "SELECT next_poll_at_ms, poll_count, snapshot, snapshot_at_ms FROM polls WHERE task_id = $1 AND owner = $2";

/// Takes the first poll of a task nobody polled yet.
pub(super) const FIRST_POLL: &str = "INSERT INTO polls (task_id, owner, next_poll_at_ms, poll_count, snapshot, snapshot_at_ms) VALUES ($1, $2, $3, 1, NULL, 0) \
ON CONFLICT (task_id, owner) DO NOTHING";

/// Takes the next poll: compare-and-set on the poll count, so one waiter wins per interval.
pub(super) const NEXT_POLL: &str = "UPDATE polls SET next_poll_at_ms = $1, poll_count = $2 WHERE task_id = $3 AND owner = $4 AND poll_count = $5 AND next_poll_at_ms <= $6";

/// Shares what a poll learned, unless a newer answer is already there.
pub(super) const PUT_SNAPSHOT: &str = "UPDATE polls SET snapshot = $1, snapshot_at_ms = $2 WHERE task_id = $3 AND owner = $4 AND snapshot_at_ms <= $2";

/// Forgets the poll state of a task no poll ever had an answer for (a made-up id).
pub(super) const FORGET_UNANSWERED_POLL: &str =
    "DELETE FROM polls WHERE task_id = $1 AND owner = $2 AND snapshot IS NULL";

/// Forgets poll state nobody used for a while.
pub(super) const PRUNE_POLLS: &str = "DELETE FROM polls WHERE next_poll_at_ms < $1";

/// What is known of one MCP task.
pub(super) const READ_MCP_TASK: &str = "SELECT outcome, detail, ended_at_ms, download_holder, download_until_ms FROM mcp_tasks WHERE owner = $1 AND task_id = $2";

/// Ends an MCP task, unless it already ended: the first end holds for good.
pub(super) const END_MCP_TASK: &str = "INSERT INTO mcp_tasks (owner, task_id, simulated, outcome, detail, ended_at_ms, download_holder, download_until_ms, updated_at_ms) \
VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, $6) \
ON CONFLICT (owner, task_id) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, ended_at_ms = excluded.ended_at_ms, updated_at_ms = excluded.updated_at_ms \
WHERE mcp_tasks.outcome IS NULL AND mcp_tasks.simulated = excluded.simulated";

/// Takes (or, by its holder, renews) the claim to save an open MCP task's videos: only when
/// nobody holds it or the last claim lapsed, so one of several racing processes wins.
pub(super) const CLAIM_MCP_DOWNLOAD: &str = "INSERT INTO mcp_tasks (owner, task_id, simulated, outcome, detail, ended_at_ms, download_holder, download_until_ms, updated_at_ms) \
VALUES ($1, $2, $3, NULL, NULL, NULL, $4, $5, $6) \
ON CONFLICT (owner, task_id) DO UPDATE SET download_holder = excluded.download_holder, download_until_ms = excluded.download_until_ms, updated_at_ms = excluded.updated_at_ms \
WHERE mcp_tasks.outcome IS NULL AND mcp_tasks.simulated = excluded.simulated \
AND (mcp_tasks.download_holder = excluded.download_holder OR mcp_tasks.download_until_ms <= excluded.updated_at_ms)";

/// Gives a download claim up (its download stopped), so another process may take it at once.
pub(super) const RELEASE_MCP_DOWNLOAD: &str = "UPDATE mcp_tasks SET download_holder = NULL, download_until_ms = 0 WHERE owner = $1 AND task_id = $2 AND download_holder = $3";

/// Forgets MCP tasks untouched for a while (their ids expire).
pub(super) const PRUNE_MCP_TASKS: &str = "DELETE FROM mcp_tasks WHERE updated_at_ms < $1";

/// The name of a statement above, for the store-latency metric (a closed set of labels);
/// `other` for SQL not listed (a test checks every statement has its name).
pub(super) fn operation(statement: &str) -> &'static str {
    NAMED
        .iter()
        .find(|(sql, _)| std::ptr::eq(*sql, statement) || *sql == statement)
        .map_or("other", |(_, name)| name)
}

/// Every statement the stores run by name, with that name.
const NAMED: &[(&str, &str)] = &[
    (NOTE_MIGRATION, "note_migration"),
    (INSERT_SUBMITTING, "insert_submitting"),
    (SPENT_SINCE, "spent_since"),
    (IMPORT_RECORD, "import_record"),
    (SET_CREATED, "set_created"),
    (SET_SUBMIT_OUTCOME, "set_submit_outcome"),
    (RECORD_STATUS, "record_status"),
    (SET_LOCAL_FILES, "set_local_files"),
    (GET_BY_TASK_ID, "get_by_task_id"),
    (FIND, "find"),
    (LIST, "list"),
    (LIST_WITH_STATUS, "list_with_status"),
    (STALE_SUBMITTING, "stale_submitting"),
    (CLAIM_RECOVERY, "claim_recovery"),
    (ADOPT_OWNER, "adopt_owner"),
    (COUNT_TASKS, "count_tasks"),
    (COUNT_BY_STATUS, "count_by_status"),
    (READ_POLL, "read_poll"),
    (FIRST_POLL, "first_poll"),
    (NEXT_POLL, "next_poll"),
    (PUT_SNAPSHOT, "put_snapshot"),
    (PRUNE_POLLS, "prune_polls"),
    (READ_MCP_TASK, "read_mcp_task"),
    (END_MCP_TASK, "end_mcp_task"),
    (CLAIM_MCP_DOWNLOAD, "claim_mcp_download"),
    (RELEASE_MCP_DOWNLOAD, "release_mcp_download"),
    (PRUNE_MCP_TASKS, "prune_mcp_tasks"),
    (SCHEMA_VERSION_NOW, "schema_version_now"),
];

/// Whether this session is encrypted, as the server sees it (tests of PostgreSQL over TLS).
#[cfg(test)]
pub(super) const SESSION_USES_SSL: &str =
    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

#[cfg(test)]
pub(super) const ALL_STATEMENTS: &[&str] = &[
    NOTE_MIGRATION,
    INSERT_SUBMITTING,
    SPENT_SINCE,
    IMPORT_RECORD,
    SET_CREATED,
    SET_SUBMIT_OUTCOME,
    RECORD_STATUS,
    SET_LOCAL_FILES,
    GET_BY_TASK_ID,
    FIND,
    LIST,
    LIST_WITH_STATUS,
    STALE_SUBMITTING,
    CLAIM_RECOVERY,
    ADOPT_OWNER,
    COUNT_TASKS,
    COUNT_BY_STATUS,
    READ_POLL,
    FIRST_POLL,
    NEXT_POLL,
    PUT_SNAPSHOT,
    PRUNE_POLLS,
    READ_MCP_TASK,
    END_MCP_TASK,
    CLAIM_MCP_DOWNLOAD,
    RELEASE_MCP_DOWNLOAD,
    PRUNE_MCP_TASKS,
];
