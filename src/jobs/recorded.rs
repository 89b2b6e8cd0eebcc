//! What this process last recorded for each task, so a repeated status query with the same
//! answer (an agent polling) costs no store call: the store only ever moves a record forward,
//! so skipping an identical write can never lose a change.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use crate::comet::{Task, TaskId};

/// Most tasks remembered; past it the memory starts over (a skipped write is only an
/// optimisation, so forgetting is always safe).
const MAX_TASKS: usize = 10_000;

/// Per task id, a hash of the status, message and video URLs last written to the store.
#[derive(Debug, Default)]
pub(super) struct RecordedStatuses(Mutex<HashMap<TaskId, u64>>);

impl RecordedStatuses {
    /// Whether `task` carries exactly what was last recorded for it.
    pub(super) fn unchanged(&self, task: &Task) -> bool {
        self.lock().get(&task.task_id) == Some(&fingerprint(task))
    }

    /// Notes that `task` was recorded.
    pub(super) fn remember(&self, task: &Task) {
        let mut seen = self.lock();
        if seen.len() >= MAX_TASKS && !seen.contains_key(&task.task_id) {
            seen.clear();
        }
        seen.insert(task.task_id.clone(), fingerprint(task));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, u64>> {
        crate::lock(&self.0)
    }
}

/// The fields the store keeps from a query, hashed (in-process only, so any hasher will do).
fn fingerprint(task: &Task) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    task.status.hash(&mut hasher);
    task.status_message.hash(&mut hasher);
    for video in &task.videos {
        video.url.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comet::{ReplyShape, TaskStatus};

    fn task(status: TaskStatus, message: Option<&str>) -> Task {
        Task {
            task_id: TaskId::parse("t1").unwrap(),
            status,
            status_message: message.map(str::to_owned),
            external_task_id: None,
            created_at_ms: None,
            updated_at_ms: None,
            progress_percent: None,
            videos: Vec::new(),
            request_id: None,
            shape: ReplyShape::Native,
            units: None,
        }
    }

    #[test]
    fn only_an_identical_answer_is_skipped() {
        let recorded = RecordedStatuses::default();
        let processing = task(TaskStatus::Processing, None);
        assert!(!recorded.unchanged(&processing));
        recorded.remember(&processing);
        assert!(recorded.unchanged(&processing));
        assert!(!recorded.unchanged(&task(TaskStatus::Processing, Some("50%"))));
        assert!(!recorded.unchanged(&task(TaskStatus::Succeed, None)));
    }
}
