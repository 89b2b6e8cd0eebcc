//! Unit tests of the MCP tasks door: timestamps, progress text and tokens.

use super::*;
use crate::comet::ReplyShape;

#[test]
fn timestamps_are_rfc3339_utc_with_milliseconds() {
    assert_eq!(timestamp(Some(0)), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        timestamp(Some(1_796_261_974_107)),
        "2026-12-03T01:39:34.107Z"
    );
}

#[test]
fn working_tasks_say_how_long_and_how_far() {
    let task = Task {
        task_id: TaskId::parse("1").unwrap(),
        status: TaskStatus::Processing,
        status_message: None,
        external_task_id: None,
        created_at_ms: Some(now_ms() - 40_500),
        updated_at_ms: None,
        progress_percent: Some(35),
        videos: Vec::new(),
        request_id: None,
        shape: ReplyShape::Native,
        units: None,
    };
    assert_eq!(progress_message(&task), "processing, 40 s (35%)");
}

#[test]
fn tokens_carry_the_download_choice_and_open_only_for_their_owner() {
    let dir = tempfile::tempdir().unwrap();
    let secret = TaskSecret::load(Some(&"s".repeat(40)), dir.path()).unwrap();
    let tasks = McpTasks::new(Arc::new(secret));
    let token = tasks.seal("8800", true, "owner-a").unwrap();
    let opened = tasks.open(&token, "owner-a").unwrap();
    assert_eq!((opened.task_id.as_str(), opened.download), ("8800", true));
    let plain = tasks.seal("8800", false, "").unwrap();
    assert!(!tasks.open(&plain, "").unwrap().download);
    let err = tasks.open(&token, "owner-b").err().unwrap();
    assert_eq!(err.code, rmcp::model::ErrorCode::INVALID_PARAMS);
}
