//! How the simulator's request log keeps bodies: whole, except huge strings (image payloads),
//! which are kept by length and hash so tests that send many images stay small.

use serde_json::Value;

/// Strings longer than this are recorded by length and hash (see [`elide_huge_strings`]).
const RECORDED_STRING_BYTES: usize = 1024 * 1024;

/// A copy of `value` for the request log, with each string over [`RECORDED_STRING_BYTES`]
/// (image payloads) replaced by `<N bytes, hash HEX>`: tests that send many large images
/// would otherwise keep every payload in memory.
pub(super) fn elide_huge_strings(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() > RECORDED_STRING_BYTES => {
            Value::String(elided(text.as_bytes()))
        }
        Value::Array(items) => Value::Array(items.iter().map(elide_huge_strings).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), elide_huge_strings(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// How the request log shows a string over 1 MiB: its length and a hash
/// (std's `SipHash`, fixed keys: fast even in a debug build, and enough to tell payloads apart).
pub fn elided(data: &[u8]) -> String {
    use std::hash::Hasher;
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(data);
    format!("<{} bytes, hash {:016x}>", data.len(), hasher.finish())
}
