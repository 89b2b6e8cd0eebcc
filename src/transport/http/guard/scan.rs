//! A cheap pass over a JSON body before anything builds a tree of it. rmcp parses a body into
//! `serde_json::Value`s and copies that tree twice more before a tool sees it; a value costs
//! 32 bytes and more, against two bytes of JSON for `0,`, so 16 MiB of `[0,0,…]` became
//! 1.5 GB. Counting the values first, without allocating, and refusing bodies with more than
//! any MCP message needs keeps the trees a small multiple of the body.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Most JSON values (objects, arrays, strings, numbers, …) a request body may hold. A
/// `generate_video` call with every field and list full holds under 200; `initialize` under
/// 100. Images travel as strings (base64 or paths), one value each, so this never limits them.
pub(crate) const MAX_JSON_VALUES: usize = 10_000;

/// What the scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// One JSON value, with at most [`MAX_JSON_VALUES`] values in it.
    Fits,
    /// Not JSON (or nested deeper than the parser allows).
    NotJson,
    /// JSON with more than [`MAX_JSON_VALUES`] values.
    TooManyValues,
}

/// Checks that `bytes` is one JSON value of at most [`MAX_JSON_VALUES`] values.
pub(super) fn scan(bytes: &[u8]) -> Scan {
    let count = Cell::new(0);
    let mut parser = serde_json::Deserializer::from_slice(bytes);
    let parsed = Counted(&count)
        .deserialize(&mut parser)
        .and_then(|()| parser.end());
    match parsed {
        Ok(()) => Scan::Fits,
        Err(_) if count.get() > MAX_JSON_VALUES => Scan::TooManyValues,
        Err(_) => Scan::NotJson,
    }
}

/// Visits one value and everything in it, counting, without keeping anything.
#[derive(Clone, Copy)]
struct Counted<'a>(&'a Cell<usize>);

impl Counted<'_> {
    /// Counts one value; an error (which stops the parse) once past the limit.
    fn bump<E: de::Error>(self) -> Result<(), E> {
        let next = self.0.get() + 1;
        self.0.set(next);
        if next > MAX_JSON_VALUES {
            return Err(E::custom("too many JSON values"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.bump()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.bump()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.bump()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.bump()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.bump()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.bump()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.bump()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.bump()?;
        // A key is a string the tree keeps too: counted with its value.
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_counted_by_their_values_not_their_bytes() {
        assert_eq!(
            scan(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#),
            Scan::Fits
        );
        assert_eq!(scan(b" [1, \"two\", null, true, 2.5, {}] "), Scan::Fits);
        assert_eq!(scan(b"{\"jsonrpc\": "), Scan::NotJson);
        assert_eq!(scan(b"{} {}"), Scan::NotJson);
        // One long string is one value: base64 images pass.
        let image = format!("{{\"image_url\":\"{}\"}}", "A".repeat(1_000_000));
        assert_eq!(scan(image.as_bytes()), Scan::Fits);
        let array = |n: usize| format!("[{}0]", "0,".repeat(n - 1));
        // The array is a value too.
        assert_eq!(scan(array(MAX_JSON_VALUES - 1).as_bytes()), Scan::Fits);
        assert_eq!(scan(array(MAX_JSON_VALUES).as_bytes()), Scan::TooManyValues);
        let object: String = (0..MAX_JSON_VALUES)
            .map(|i| format!("\"k{i}\":0,"))
            .collect();
        let object = format!("{{{object}\"end\":0}}");
        assert_eq!(scan(object.as_bytes()), Scan::TooManyValues);
    }
}
