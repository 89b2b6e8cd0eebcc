//! The syntax check a line passes before rmcp sees it: exactly the checks rmcp's own parse
//! makes, so that every line rmcp would drop silently is answered instead.

/// Whether rmcp's parse of `content` can fail only on the message's shape, not on its syntax.
///
/// `serde_json`'s `IgnoredAny` skips strings without checking their UTF-8 or escapes and counts
/// no nesting, so it lets through lines that rmcp's parse (through `deserialize_any`, as its
/// untagged message enum buffers) rejects as syntax errors and then drops silently. Walking
/// the text with `deserialize_any` applies the same checks and the same depth limit (128)
/// while keeping nothing: no tree is built, borrowed strings are not copied.
pub(super) fn check_json(content: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<Checked>(content).map(|_| ())
}

/// A JSON value that was walked and thrown away.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}
