//! One-time import of the JSON Lines journal of earlier versions. The journal may be torn or
//! damaged (a crash mid-append, another process's rewrite): every line that reads is kept,
//! invalid UTF-8 is decoded lossily, garbage lines are skipped and counted, and when a task
//! appears twice the last line wins. Imported records never overwrite stored ones.
//!
//! A journal may be large (200,000 records, tens of MB): it is read twice as a stream (once
//! to find each task's last line, once to add those lines) and added in one transaction, so
//! memory grows with the number of tasks' ids, not with the file, and the store commits once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ops::import_params;
use super::{Backend, Owner, Store, StoreError, StoredStatus, TaskRecord, sql};
use crate::comet::TaskId;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Distinct tasks read from the journal.
    pub read: usize,
    /// Of those, newly added to the store (the rest were there already).
    pub added: usize,
    /// Lines that did not read as a task.
    pub skipped_lines: usize,
    /// Where the journal was moved (`tasks.jsonl.imported`), if the move succeeded.
    pub renamed_to: Option<PathBuf>,
}

/// Longest journal line read; a longer one (no journal line is near it) is skipped without
/// being held in memory.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Imports the journal at `path` into `store`, then renames it `<name>.imported`. Safe to run
/// from several processes at once, and again after a failure halfway.
pub async fn import_journal(store: &Store, path: &Path) -> Result<ImportReport, StoreError> {
    let cannot_read = |err: std::io::Error| StoreError::Unavailable {
        location: path.display().to_string(),
        reason: format!("cannot read the journal: {err}"),
    };
    let scanned = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || open_journal(&path).map(|r| r.map(scan)))
            .await
            .map_err(|err| cannot_read(std::io::Error::other(err)))?
    };
    let scan = match scanned {
        Ok(Some(Ok(scan))) => scan,
        Ok(None) => return Ok(ImportReport::default()),
        Ok(Some(Err(err))) | Err(err) => return Err(cannot_read(err)),
    };
    let mut report = ImportReport {
        read: scan.last_line.len(),
        skipped_lines: scan.skipped,
        ..ImportReport::default()
    };
    // Opened again for the second pass, on the blocking pool like every read of it.
    let reader = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || open_journal(&path))
            .await
            .map_err(|err| cannot_read(std::io::Error::other(err)))?
            .map_err(cannot_read)?
    };
    let Some(reader) = reader else {
        // Another process finished the same import meanwhile.
        return Ok(report);
    };
    let rows = winners(reader, scan).map(|record| record.map(|r| import_params(&r)));
    let added = store
        .run_each(sql::IMPORT_RECORD, rows)
        .await?
        .map_err(cannot_read)?;
    report.added = usize::try_from(added).unwrap_or(usize::MAX);
    let mut imported = path.as_os_str().to_owned();
    imported.push(".imported");
    let imported = PathBuf::from(imported);
    match tokio::fs::rename(path, &imported).await {
        Ok(()) => report.renamed_to = Some(imported),
        // Another process finished the same import first.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            tracing::warn!(path = %path.display(), %err, "imported the journal but cannot rename it; it will be read again (harmlessly) next start");
        }
    }
    Ok(report)
}

impl Store {
    /// Runs `statement` for every parameter row of `rows` in one transaction (see the drivers).
    pub(super) async fn run_each<I>(
        &self,
        statement: &'static str,
        rows: I,
    ) -> Result<Result<u64, std::io::Error>, StoreError>
    where
        I: Iterator<Item = std::io::Result<Vec<super::Value>>> + Send + 'static,
    {
        match &self.backend {
            Backend::Sqlite(s) => s.run_each(statement, rows).await,
            Backend::Postgres(p) => p.run_each(statement, rows).await,
        }
    }
}

/// The journal, buffered; `None` when there is none. Never a FIFO or device (it would block).
fn open_journal(path: &Path) -> std::io::Result<Option<BufReader<std::fs::File>>> {
    match crate::private_fs::open_regular_for_read(path) {
        Ok(file) => Ok(Some(BufReader::with_capacity(64 * 1024, file))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// What the first pass learned: the number of each task's last line that reads, and how
/// many lines did not.
#[derive(Debug, Default)]
struct Scan {
    last_line: HashMap<String, u64>,
    skipped: usize,
}

/// The first pass: which line of each task wins.
fn scan(reader: impl BufRead) -> std::io::Result<Scan> {
    let mut scan = Scan::default();
    for (number, line) in (0u64..).zip(Lines::new(reader)) {
        match line? {
            Line::Blank => {}
            Line::Unreadable => scan.skipped += 1,
            Line::Text(text) => match parse_line(&text) {
                Some(record) => {
                    scan.last_line.insert(record.external_task_id, number);
                }
                None => scan.skipped += 1,
            },
        }
    }
    Ok(scan)
}

/// The second pass: each task's winning line, as a record, in the order they appear.
fn winners(
    reader: impl BufRead + Send,
    scan: Scan,
) -> impl Iterator<Item = std::io::Result<TaskRecord>> + Send {
    (0u64..)
        .zip(Lines::new(reader))
        .filter_map(move |(number, line)| match line {
            Err(err) => Some(Err(err)),
            Ok(Line::Text(text)) => parse_line(&text)
                .filter(|r| scan.last_line.get(&r.external_task_id) == Some(&number))
                .map(Ok),
            Ok(_) => None,
        })
}

/// One line of the journal.
enum Line {
    /// Empty or only whitespace: not counted.
    Blank,
    /// Past [`MAX_LINE_BYTES`].
    Unreadable,
    /// Its text, decoded lossily and trimmed.
    Text(String),
}

/// The lines of a journal, each read into one reused buffer of at most [`MAX_LINE_BYTES`].
struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Skips the rest of an overlong line.
    fn skip_rest(&mut self) -> std::io::Result<()> {
        loop {
            self.buf.clear();
            let cap = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
            let n = (&mut self.reader)
                .take(cap)
                .read_until(b'\n', &mut self.buf)?;
            if n == 0 || self.buf.last() == Some(&b'\n') {
                return Ok(());
            }
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.buf.clear();
        let cap = u64::try_from(MAX_LINE_BYTES + 1).unwrap_or(u64::MAX);
        let read = (&mut self.reader)
            .take(cap)
            .read_until(b'\n', &mut self.buf);
        let n = match read {
            Ok(n) => n,
            Err(err) => {
                self.done = true;
                return Some(Err(err));
            }
        };
        if n == 0 {
            self.done = true;
            return None;
        }
        if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
            return Some(self.skip_rest().map(|()| Line::Unreadable));
        }
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.trim();
        Some(Ok(match text.is_empty() {
            true => Line::Blank,
            false => Line::Text(text.to_owned()),
        }))
    }
}

/// A journal line as a record, if it reads as one.
fn parse_line(text: &str) -> Option<TaskRecord> {
    serde_json::from_str::<JournalLine>(text)
        .ok()
        .and_then(into_record)
}

/// A journal line as earlier versions wrote it.
#[derive(Debug, Deserialize)]
struct JournalLine {
    external_task_id: String,
    #[serde(default)]
    task_id: Option<String>,
    status: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    prompt_head: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    duration: Option<u8>,
    #[serde(default)]
    aspect_ratio: Option<String>,
    #[serde(default)]
    video_urls: Vec<String>,
    #[serde(default)]
    local_files: Vec<String>,
    #[serde(default)]
    created_at_ms: i64,
    #[serde(default)]
    updated_at_ms: i64,
    #[serde(default)]
    owner: Option<String>,
}

/// Whether `id` is one of the ids earlier simulators gave (`880000000000000001`, … in every
/// process), as migration 2 decides for stored records.
fn old_simulator_id(id: &str) -> bool {
    id.len() == 18 && id.starts_with("880000000000") && id.bytes().all(|b| b.is_ascii_digit())
}

fn into_record(line: JournalLine) -> Option<TaskRecord> {
    let status = StoredStatus::parse(line.status.trim())?;
    let external_task_id = line.external_task_id.trim().to_owned();
    if external_task_id.is_empty() {
        return None;
    }
    // Read like any input: an id that is not one is dropped (the record stays, by its
    // external id).
    let task_id = line.task_id.and_then(|id| TaskId::parse(&id).ok());
    Some(TaskRecord {
        external_task_id,
        simulated: task_id
            .as_ref()
            .is_some_and(|id| old_simulator_id(id.as_str())),
        task_id,
        status,
        message: line.message,
        mode: line.mode,
        prompt_head: line.prompt_head,
        model: line.model,
        duration: line.duration,
        aspect_ratio: line.aspect_ratio,
        video_urls: line.video_urls,
        local_files: line.local_files,
        created_at_ms: line.created_at_ms,
        updated_at_ms: line.updated_at_ms.max(line.created_at_ms),
        // Earlier versions did not keep them.
        units: None,
        // Earlier versions fingerprinted per-caller keys with an unstable hash; the key's
        // first call under this version adopts them (see `Store::adopt_owner`).
        owner: line
            .owner
            .map(|legacy| Owner::legacy(&legacy))
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both passes over `bytes`: the winning records, in their lines' order, and how many
    /// lines were skipped.
    fn parse_journal(bytes: &[u8]) -> (Vec<TaskRecord>, usize) {
        let scan = scan(bytes).unwrap();
        let skipped = scan.skipped;
        let records = winners(bytes, scan).map(Result::unwrap).collect();
        (records, skipped)
    }

    fn line(id: &str, status: &str, prompt: &str) -> String {
        serde_json::json!({
            "external_task_id": id, "status": status, "mode": "text_to_video",
            "prompt_head": prompt, "model": "kling-video-o1", "created_at_ms": 1, "updated_at_ms": 2
        })
        .to_string()
    }

    #[test]
    fn a_torn_multibyte_last_line_loses_only_itself() {
        let mut bytes = format!("{}\n", line("a", "succeed", "一只猫")).into_bytes();
        let torn = line("b", "submitting", "一只狗");
        let cut = torn.find('狗').unwrap() + 1; // inside the 3-byte character
        bytes.extend_from_slice(&torn.as_bytes()[..cut]);
        let (records, skipped) = parse_journal(&bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].prompt_head, "一只猫");
        assert_eq!(skipped, 1);
    }

    #[test]
    fn garbage_invalid_utf8_and_duplicates() {
        let mut bytes = Vec::new();
        bytes.extend(format!("{}\n", line("a", "submitting", "first")).bytes());
        bytes.extend(b"\x00\xff garbage {{{\n");
        bytes.extend(format!("{}\n", line("b", "processing", "b")).bytes());
        // Invalid UTF-8 inside a string value: decoded lossily, the record survives.
        let bad = line("c", "failed", "XX").replace("XX", "bad\u{1}");
        bytes.extend(bad.replace('\u{1}', "").bytes().chain([0xC3]).chain(*b"\n"));
        bytes.extend(format!("{}\n", line("a", "succeed", "last wins")).bytes());
        bytes.extend(b"{\"external_task_id\":\"d\",\"status\":\"weird\"}\n");
        let (records, skipped) = parse_journal(&bytes);
        let ids: Vec<_> = records
            .iter()
            .map(|r| r.external_task_id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["b", "a"],
            "c's line is not valid JSON after the lossy decode; a's last line wins"
        );
        assert_eq!(records[1].status, StoredStatus::Succeed);
        assert_eq!(records[1].prompt_head, "last wins");
        assert_eq!(skipped, 3);
    }

    #[test]
    fn lossy_text_inside_a_valid_line_is_kept() {
        let mut bytes =
            br#"{"external_task_id":"e","status":"failed","mode":"m","prompt_head":"caf"#.to_vec();
        bytes.extend([0xE9]); // Latin-1 é: invalid UTF-8
        bytes.extend(br#"","model":"k","created_at_ms":5,"updated_at_ms":5,"owner":"0123abcd"}"#);
        let (records, skipped) = parse_journal(&bytes);
        assert_eq!(skipped, 0);
        assert_eq!(records[0].prompt_head, "caf\u{FFFD}");
        assert_eq!(records[0].owner, Owner::legacy("0123abcd"));
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_next_one_read() {
        let mut bytes = vec![b'x'; MAX_LINE_BYTES * 2 + 10];
        bytes.push(b'\n');
        bytes.extend(format!("{}\n", line("a", "succeed", "after")).bytes());
        let (records, skipped) = parse_journal(&bytes);
        assert_eq!(skipped, 1);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].prompt_head, "after");
    }
}
