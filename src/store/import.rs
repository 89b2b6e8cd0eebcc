//! One-time import of the JSON Lines journal of earlier versions. The journal may be torn or
//! damaged (a crash mid-append, another process's rewrite): every line that reads is kept,
//! invalid UTF-8 is decoded lossily, garbage lines are skipped and counted, and when a task
//! appears twice the last line wins. Imported records never overwrite stored ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Owner, Store, StoreError, StoredStatus, TaskRecord};
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

/// Imports the journal at `path` into `store`, then renames it `<name>.imported`. Safe to run
/// from several processes at once, and again after a failure halfway.
pub async fn import_journal(store: &Store, path: &Path) -> Result<ImportReport, StoreError> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ImportReport::default());
        }
        Err(err) => {
            return Err(StoreError::Unavailable {
                location: path.display().to_string(),
                reason: format!("cannot read the journal: {err}"),
            });
        }
    };
    let (records, skipped_lines) = parse_journal(&bytes);
    let mut report = ImportReport {
        read: records.len(),
        skipped_lines,
        ..ImportReport::default()
    };
    for record in &records {
        if store.import_record(record).await? {
            report.added += 1;
        }
    }
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

/// The distinct records of a journal, in first-seen order (last line wins), and how many
/// lines were skipped.
fn parse_journal(bytes: &[u8]) -> (Vec<TaskRecord>, usize) {
    let text = String::from_utf8_lossy(bytes);
    let mut order: Vec<String> = Vec::new();
    let mut records: HashMap<String, TaskRecord> = HashMap::new();
    let mut skipped = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some(record) = serde_json::from_str::<JournalLine>(line)
            .ok()
            .and_then(into_record)
        else {
            skipped += 1;
            continue;
        };
        if !records.contains_key(&record.external_task_id) {
            order.push(record.external_task_id.clone());
        }
        records.insert(record.external_task_id.clone(), record);
    }
    let records = order
        .into_iter()
        .filter_map(|id| records.remove(&id))
        .collect();
    (records, skipped)
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
            ["a", "b"],
            "c's line is not valid JSON after the lossy decode"
        );
        assert_eq!(records[0].status, StoredStatus::Succeed);
        assert_eq!(records[0].prompt_head, "last wins");
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
}
