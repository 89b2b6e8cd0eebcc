//! Task ids and external task ids: the one character set both use, their checked types
//! ([`TaskId`], [`ExternalTaskId`]), and the `sim-` prefix that marks simulated tasks. Both
//! end up as a URL path segment (a query by id, or the lookup by external id after an
//! ambiguous create), so the external ids a caller may choose must be ids the client can look
//! up.

use super::violation::Violation;

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

/// Whether an upstream reply's task id can be queried: a reply naming an id that is not one
/// URL path segment (empty, `..`, a slash) is malformed, so no such id travels further.
pub(super) fn is_task_id(id: &str) -> bool {
    id_problem(id, MAX_TASK_ID_LEN).is_none()
}

/// An upstream task id, checked once where it enters (a tool argument, a CLI argument, an
/// upstream reply): trimmed, and usable as one URL path segment. Task ids are opaque strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(String);

impl TaskId {
    /// The id in `text` (surrounding whitespace dropped), or what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        let trimmed = text.trim();
        match id_problem(trimmed, MAX_TASK_ID_LEN) {
            Some(problem) => Err(Violation::new(
                "task_id",
                format!("{problem}; it is not a task id"),
                "pass the task id the submit returned",
            )),
            None => Ok(Self(trimmed.to_owned())),
        }
    }

    /// The id as sent in a URL path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the built-in simulator made this task (`sim-…`); CometAPI's ids are digits.
    pub fn is_simulated(&self) -> bool {
        is_simulated_id(&self.0)
    }
}

/// The prefix of every task id the built-in simulator makes under `--simulate`.
pub const SIMULATED_ID_PREFIX: &str = "sim-";

impl TaskId {
    /// The id an upstream reply names, if it can be queried (see [`is_task_id`]); replies are
    /// taken as they are, not trimmed.
    pub(super) fn from_reply(id: String) -> Option<Self> {
        is_task_id(&id).then_some(Self(id))
    }
}

impl TaskId {
    /// An id whose text had secrets cut out (`[redacted]`): what is left, with the characters
    /// an id may not hold replaced, so the secret is gone and the result is still one path
    /// segment.
    pub(super) fn redacted(cleaned: &str) -> Self {
        let mut id: String = cleaned
            .chars()
            .map(|c| if is_id_char(c) { c } else { '_' })
            .take(MAX_TASK_ID_LEN)
            .collect();
        if id.chars().all(|c| c == '.') {
            id = "redacted".to_owned();
        }
        Self(id)
    }
}

impl PartialEq<str> for TaskId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TaskId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Read back (a poll answer shared through the store) under the same check as any input.
impl<'de> serde::Deserialize<'de> for TaskId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|violation| serde::de::Error::custom(violation.problem))
    }
}

impl schemars::JsonSchema for TaskId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

/// Whether `id` is a simulated task id (see [`SIMULATED_ID_PREFIX`]).
pub fn is_simulated_id(id: &str) -> bool {
    id.starts_with(SIMULATED_ID_PREFIX)
}

/// An external task id: the caller's own id (or a generated one) sent with a create, by which
/// a task can be looked up when the create's answer was lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalTaskId(String);

impl ExternalTaskId {
    /// The id in `text`, or what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, Violation> {
        match id_problem(text, MAX_EXTERNAL_ID_LEN) {
            Some(problem) => Err(Violation::new(
                "external_task_id",
                problem,
                "use 1-64 letters, digits, '-', '_', '.' or ':' (or leave it out to get a generated one)",
            )),
            None => Ok(Self(text.to_owned())),
        }
    }

    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ExternalTaskId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for ExternalTaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_that_cannot_be_a_path_segment_are_refused() {
        assert_eq!(
            TaskId::parse(" 881245093716582431 ").unwrap().as_str(),
            "881245093716582431"
        );
        // External ids may contain ':', so the lookup by external id must take it.
        assert_eq!(TaskId::parse("order:42").unwrap().as_str(), "order:42");
        for bad in ["", "  ", ".", "..", " .. ", "../x", "a/b", "a b", "a?b"] {
            let err = TaskId::parse(bad).unwrap_err();
            assert_eq!(err.field, "task_id", "{bad}: {err}");
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
