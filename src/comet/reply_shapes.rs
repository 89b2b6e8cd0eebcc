//! The two documented task reply shapes (spec §4.3) as one [`Task`]: Kling's native envelope,
//! and the gateway wrapper around it (outer status wins, nested fields fill in).

use super::ids::TaskId;
use super::status::TaskStatus;
use super::task::{ReplyShape, Task, Video, parse_units};
use super::wire::{KlingEnvelope, KlingTask, KlingVideo, WrapperEnvelope};

pub(super) fn from_native(envelope: KlingEnvelope) -> Option<Task> {
    let data = envelope.data?;
    let raw_status = data.task_status.clone().unwrap_or_default();
    let status = TaskStatus::from_native(&raw_status).unwrap_or_else(|| {
        // Upstream text: shown only when it looks like a status word (no secrets, no forged lines).
        let shown = if raw_status.len() <= 24
            && raw_status
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '_')
        {
            raw_status.as_str()
        } else {
            "(not shown)"
        };
        tracing::warn!(
            status = shown,
            "unknown task_status; treating it as processing"
        );
        TaskStatus::Processing
    });
    Some(Task {
        task_id: data.task_id.clone().and_then(TaskId::from_reply)?,
        status,
        status_message: data
            .task_status_msg
            .clone()
            .filter(|m| !m.trim().is_empty()),
        external_task_id: data.task_info.clone().and_then(|i| i.external_task_id),
        created_at_ms: data.created_at.filter(|t| *t > 0),
        updated_at_ms: data.updated_at.filter(|t| *t > 0),
        progress_percent: None,
        videos: videos_of(&data),
        request_id: envelope.request_id,
        shape: ReplyShape::Native,
        units: units_of(&data),
    })
}

pub(super) fn from_wrapper(envelope: WrapperEnvelope) -> Option<Task> {
    let outer = envelope.data?;
    let nested_reply = outer.data.clone().unwrap_or_default();
    let nested = nested_reply.data.clone().unwrap_or_default();
    // The outer status wins (a gateway may hold IN_PROGRESS while it re-hosts the file);
    // fall back to the nested Kling status only when the outer one is missing or unknown.
    let status = outer
        .status
        .as_deref()
        .and_then(TaskStatus::from_wrapper)
        .or_else(|| {
            nested
                .task_status
                .as_deref()
                .and_then(TaskStatus::from_native)
        })
        .unwrap_or(TaskStatus::Processing);
    let mut videos = videos_of(&nested);
    if videos.is_empty() && status == TaskStatus::Succeed {
        let fallback = [outer.result_url.clone(), outer.fail_reason.clone()]
            .into_iter()
            .flatten()
            .find(|url| url.trim_start().starts_with("http"));
        videos.extend(fallback.map(|url| Video {
            id: None,
            url: url.trim().to_owned(),
            duration: None,
        }));
    }
    let status_message = match status {
        // On success `fail_reason` may hold a URL; never show it as an error.
        TaskStatus::Succeed => None,
        _ => outer.fail_reason.clone().or(nested.task_status_msg.clone()),
    }
    .filter(|m| !m.trim().is_empty());
    let secs_to_ms = |t: Option<i64>| t.filter(|t| *t > 0).map(|t| t * 1000);
    Some(Task {
        task_id: outer
            .task_id
            .clone()
            .or(nested.task_id.clone())
            .and_then(TaskId::from_reply)?,
        status,
        status_message,
        external_task_id: nested.task_info.clone().and_then(|i| i.external_task_id),
        created_at_ms: nested
            .created_at
            .filter(|t| *t > 0)
            .or(secs_to_ms(outer.submit_time)),
        updated_at_ms: nested
            .updated_at
            .filter(|t| *t > 0)
            .or(secs_to_ms(outer.finish_time))
            .or(secs_to_ms(outer.start_time)),
        progress_percent: outer.progress.as_deref().and_then(parse_percent),
        videos,
        request_id: nested_reply.request_id,
        shape: ReplyShape::Wrapper,
        units: units_of(&nested),
    })
}

fn units_of(task: &KlingTask) -> Option<f64> {
    task.final_unit_deduction.as_deref().and_then(parse_units)
}

fn videos_of(task: &KlingTask) -> Vec<Video> {
    let listed: &[KlingVideo] = task
        .task_result
        .as_ref()
        .and_then(|r| r.videos.as_deref())
        .unwrap_or_default();
    listed
        .iter()
        .filter_map(|v| {
            let url = v.url.as_deref()?.trim();
            (!url.is_empty()).then(|| Video {
                id: v.id.clone(),
                url: url.to_owned(),
                duration: v.duration.clone(),
            })
        })
        .collect()
}

fn parse_percent(text: &str) -> Option<u8> {
    let number: f64 = text.trim().trim_end_matches('%').trim().parse().ok()?;
    (0.0..=100.0)
        .contains(&number)
        .then(|| number.round() as u8)
}
