//! The one character set for task ids and external task ids. Both end up as a URL path
//! segment (a query by id, or the lookup by external id after an ambiguous create), so the
//! external ids a caller may choose must be ids the client can look up.

use super::error::Error;
use super::validate::Violation;

/// The characters an id may use, for messages.
pub const ID_CHARS: &str = "letters, digits, '-', '_', '.' or ':'";

/// Longest external task id the API takes.
pub const MAX_EXTERNAL_ID_LEN: usize = 64;

/// Longest task id the client will put in a URL.
pub(crate) const MAX_TASK_ID_LEN: usize = 128;

/// Whether `c` may appear in an id.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:".contains(c)
}

/// Why `id` cannot be used as an id of at most `max_len` bytes, or `None` when it can.
/// Ids made only of dots are refused: `.` and `..` are path steps, not path segments, and
/// would query the collection (or its parent) instead of a task.
pub fn id_problem(id: &str, max_len: usize) -> Option<String> {
    if id.is_empty() {
        return Some("is empty".to_owned());
    }
    if id.len() > max_len || !id.chars().all(is_id_char) {
        return Some(format!("must be 1-{max_len} characters of {ID_CHARS}"));
    }
    if id.chars().all(|c| c == '.') {
        return Some("cannot be only dots ('.' and '..' are not ids)".to_owned());
    }
    None
}

/// Task ids are opaque, but they go into a URL path: refuse what cannot be one.
pub(super) fn checked_task_id(task_id: &str) -> Result<&str, Error> {
    let trimmed = task_id.trim();
    let invalid = |problem: &str| {
        Error::Invalid(vec![Violation::new(
            "task_id",
            problem,
            "pass the task_id that generate_video returned",
        )])
    };
    match id_problem(trimmed, MAX_TASK_ID_LEN) {
        Some(problem) => Err(invalid(&format!("{problem}; it is not a task id"))),
        None => Ok(trimmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_that_cannot_be_a_path_segment_are_refused() {
        assert_eq!(
            checked_task_id(" 881245093716582431 ").unwrap(),
            "881245093716582431"
        );
        // External ids may contain ':', so the lookup by external id must take it.
        assert_eq!(checked_task_id("order:42").unwrap(), "order:42");
        for bad in ["", "  ", ".", "..", " .. ", "../x", "a/b", "a b", "a?b"] {
            let err = checked_task_id(bad).unwrap_err();
            assert!(err.to_string().contains("task_id"), "{bad}: {err}");
        }
    }

    #[test]
    fn ids_share_one_character_set_and_dots_alone_are_refused() {
        for good in [
            "881245093716582431",
            "kmcp-abc",
            "order:42_v1.2",
            "a.b",
            "..a",
        ] {
            assert_eq!(id_problem(good, 64), None, "{good}");
        }
        for bad in ["", ".", "..", "...", "a/b", "a b", "a?b", "é"] {
            assert!(id_problem(bad, 64).is_some(), "{bad:?}");
        }
        assert!(id_problem(&"a".repeat(65), 64).is_some());
    }
}
