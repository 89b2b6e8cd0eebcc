//! The task journal: every submitted task, recorded before its create request is sent and
//! updated as it progresses, so ids survive restarts and lost contexts.
//!
//! Format: append-only JSON Lines, one full record per line; the last line for a task wins.
//! Chosen over SQLite because it needs no C build, and appends are crash-safe in practice: a
//! crash can only tear the last line, which loading skips. The file is compacted (rewritten to
//! a temporary file, then renamed over the old one) when superseded lines pile up. Any I/O
//! problem degrades to a warning and an in-memory journal; it never stops the server.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// Records kept after compaction; older ones are dropped first.
const MAX_RECORDS: usize = 5000;

/// What the journal knows about one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskRecord {
    /// The id sent with the create request; known before the task exists.
    pub external_task_id: String,
    /// Upstream task id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// `submitting`, `submit_uncertain`, `submit_failed`, or the task status.
    pub status: String,
    /// Upstream status text or the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Generation mode.
    pub mode: String,
    /// The first 120 characters of the prompt.
    pub prompt_head: String,
    /// Model name.
    pub model: String,
    /// Duration in seconds, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u8>,
    /// Aspect ratio, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// Result video URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_urls: Vec<String>,
    /// Downloaded files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_files: Vec<String>,
    /// First recorded, Unix ms.
    pub created_at_ms: i64,
    /// Last changed, Unix ms.
    pub updated_at_ms: i64,
    /// Fingerprint of the caller's own CometAPI key, when the task was submitted with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// The journal. All methods are infallible; problems are logged.
#[derive(Debug)]
pub struct Journal {
    path: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Records by external id, and their order of creation.
    records: HashMap<String, TaskRecord>,
    order: Vec<String>,
    /// Lines in the file, to know when compaction pays.
    lines: usize,
}

impl Journal {
    /// A journal kept in memory only.
    pub fn in_memory() -> Self {
        Self {
            path: None,
            state: Mutex::default(),
        }
    }

    /// Opens (or creates) the journal at `path`; falls back to memory with a warning.
    pub fn open(path: &Path) -> Self {
        let mut state = State::default();
        if let Some(dir) = path.parent()
            && let Err(err) = fs::create_dir_all(dir)
        {
            tracing::warn!(path = %path.display(), %err, "cannot create the journal directory; tasks are kept in memory only");
            return Self::in_memory();
        }
        match fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines() {
                    state.lines += 1;
                    match serde_json::from_str::<TaskRecord>(line) {
                        Ok(record) => state.put(record),
                        Err(_) if line.trim().is_empty() => {}
                        Err(err) => tracing::warn!(%err, "skipping a damaged journal line"),
                    }
                }
                // A crash mid-append leaves a line without its newline; end it, so the next
                // record starts on a line of its own.
                if !text.is_empty() && !text.ends_with('\n') {
                    let repaired = OpenOptions::new()
                        .append(true)
                        .open(path)
                        .and_then(|mut file| file.write_all(b"\n"));
                    if let Err(err) = repaired {
                        tracing::warn!(%err, "cannot repair the journal's last line");
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "cannot read the journal; starting empty");
            }
        }
        let journal = Self {
            path: Some(path.to_owned()),
            state: Mutex::new(state),
        };
        journal.compact_if_worth_it(&mut journal.lock());
        journal
    }

    /// Where the journal lives, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Inserts or replaces a record, keyed by its external id. `durable` forces it to disk
    /// before returning (used before a create is sent).
    pub fn upsert(&self, record: TaskRecord, durable: bool) {
        let mut state = self.lock();
        if let Some(path) = &self.path {
            if let Err(err) = append(path, &record, durable) {
                tracing::warn!(path = %path.display(), %err, "cannot write the journal");
            } else {
                state.lines += 1;
            }
        }
        state.put(record);
        self.compact_if_worth_it(&mut state);
    }

    /// Changes the record for `external_task_id` (if any) and saves it.
    pub fn update(&self, external_task_id: &str, change: impl FnOnce(&mut TaskRecord)) {
        let current = self.lock().records.get(external_task_id).cloned();
        if let Some(mut record) = current {
            change(&mut record);
            record.updated_at_ms = now_ms();
            self.upsert(record, false);
        }
    }

    /// The record whose upstream id is `task_id`.
    pub fn find_by_task_id(&self, task_id: &str) -> Option<TaskRecord> {
        self.lock()
            .records
            .values()
            .find(|r| r.task_id.as_deref() == Some(task_id))
            .cloned()
    }

    /// The newest records first, optionally only those with `status`.
    pub fn list(&self, status: Option<&str>, limit: usize) -> Vec<TaskRecord> {
        self.list_for(None, status, limit)
    }

    /// Like [`Journal::list`], but only the records of `owner` (`None`: the server's own key).
    pub fn list_for(
        &self,
        owner: Option<&str>,
        status: Option<&str>,
        limit: usize,
    ) -> Vec<TaskRecord> {
        let state = self.lock();
        state
            .order
            .iter()
            .rev()
            .filter_map(|id| state.records.get(id))
            .filter(|r| r.owner.as_deref() == owner)
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn compact_if_worth_it(&self, state: &mut State) {
        let Some(path) = &self.path else { return };
        if state.lines <= 2 * state.records.len() + 100 && state.records.len() <= MAX_RECORDS {
            return;
        }
        while state.order.len() > MAX_RECORDS {
            let oldest = state.order.remove(0);
            state.records.remove(&oldest);
        }
        let records: Vec<&TaskRecord> = state
            .order
            .iter()
            .filter_map(|id| state.records.get(id))
            .collect();
        match rewrite(path, &records) {
            Ok(()) => state.lines = records.len(),
            Err(err) => tracing::warn!(path = %path.display(), %err, "journal compaction failed"),
        }
    }
}

impl State {
    fn put(&mut self, record: TaskRecord) {
        if !self.records.contains_key(&record.external_task_id) {
            self.order.push(record.external_task_id.clone());
        }
        self.records.insert(record.external_task_id.clone(), record);
    }
}

fn append(path: &Path, record: &TaskRecord, durable: bool) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    // One write per line, so a crash tears at most this line.
    file.write_all(&line)?;
    if durable {
        file.sync_data()?;
    }
    Ok(())
}

/// Writes all records to a temporary file beside the journal, then renames it over the old one.
fn rewrite(path: &Path, records: &[&TaskRecord]) -> std::io::Result<()> {
    let temp = path.with_extension(format!("compact-{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&temp)?;
        for record in records {
            let mut line = serde_json::to_vec(record)?;
            line.push(b'\n');
            file.write_all(&line)?;
        }
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
