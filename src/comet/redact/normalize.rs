//! The normalised streams secrets are searched in: text case folded (fullwidth letters as
//! ASCII) with every separator dropped, and that stream with its escape sequences decoded.
//! Each pass reports every unit it consumed, so a match can be traced back to the original.

use std::ops::Range;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Appends `text` case-folded and without separators to `out`, calling `unit` with the range
/// of `out` and the range of `text` of each character consumed.
pub(super) fn fold_text(
    text: &str,
    out: &mut Vec<u8>,
    mut unit: impl FnMut(Range<usize>, Range<usize>),
) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let before = out.len();
        // ASCII, most text, without decoding a character.
        let width = match byte.is_ascii() {
            true => {
                fold(Unit::Byte(byte)).write(out);
                1
            }
            false => {
                let c = text
                    .get(at..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\0');
                fold(Unit::Char(c)).write(out);
                c.len_utf8()
            }
        };
        unit(before..out.len(), at..at + width);
        at += width;
    }
}

/// Appends the folded stream `input` with its escape sequences decoded (and folded) to `out`,
/// calling `unit` like [`fold_text`]. Separators are already gone, so an escape split by one
/// is decoded too.
pub(super) fn decode_escapes(
    input: &[u8],
    out: &mut Vec<u8>,
    mut unit: impl FnMut(Range<usize>, Range<usize>),
) {
    let mut at = 0;
    while let Some(&byte) = input.get(at) {
        let before = out.len();
        let escape = match byte {
            b'%' | b'\\' | b'&' => input.get(at..).and_then(escape_at),
            _ => None,
        };
        let width = match escape {
            Some((decoded, width)) => {
                fold(decoded).write(out);
                width
            }
            None => {
                out.push(byte);
                1
            }
        };
        unit(before..out.len(), at..at + width);
        at += width;
    }
}

/// One unit of text: a byte (ASCII, or from a `%XX` / `\xXX` escape) or a character.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Byte(u8),
    Char(char),
}

/// What a unit becomes in the normalised stream.
enum Folded {
    Nothing,
    Byte(u8),
    Chars(std::char::ToLowercase),
}

impl Folded {
    fn write(self, out: &mut Vec<u8>) {
        match self {
            Self::Nothing => {}
            Self::Byte(b) => out.push(b),
            Self::Chars(chars) => {
                for c in chars {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }
}

/// A unit lower-cased, fullwidth forms as their ASCII letters, separators dropped.
fn fold(unit: Unit) -> Folded {
    match unit {
        Unit::Byte(b) if b.is_ascii_whitespace() || b.is_ascii_control() => Folded::Nothing,
        Unit::Byte(b) => Folded::Byte(b.to_ascii_lowercase()),
        Unit::Char(c) if c.is_ascii() => fold(Unit::Byte(c as u8)),
        Unit::Char(c) if is_separator(c) => Folded::Nothing,
        Unit::Char(c @ '\u{ff01}'..='\u{ff5e}') => {
            // Fullwidth ASCII: the same letters, shifted by U+FEE0.
            char::from_u32(u32::from(c) - 0xfee0).map_or(Folded::Nothing, |a| fold(Unit::Char(a)))
        }
        Unit::Char(c) => Folded::Chars(c.to_lowercase()),
    }
}

/// Characters that show nothing (or only a space) between two others: whitespace, controls,
/// format characters (zero-width spaces and joiners, soft hyphen, word joiner, BOM, bidi
/// marks), combining and enclosing marks (variation selectors, the grapheme joiner), and the
/// blank fillers.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            get_general_category(c),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::NonspacingMark
                | GeneralCategory::EnclosingMark
                | GeneralCategory::SpaceSeparator
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::Unassigned
        )
        || matches!(
            c,
            '\u{115f}' | '\u{1160}' | '\u{2800}' | '\u{3164}' | '\u{ffa0}'
        )
}

/// The escape sequence at the start of `rest` (folded, so lower-case), if there is one:
/// `%XX`, `\xXX`, `\uXXXX`, `\u{X…}`, `&#NNN;` or `&#xX…;`, decoded, and its length.
fn escape_at(rest: &[u8]) -> Option<(Unit, usize)> {
    // `from_str_radix` also takes a sign: only digits make an escape.
    let number = |digits: &[u8], radix: u32| {
        let valid = !digits.is_empty()
            && digits.len() <= 8
            && digits.iter().all(|b| char::from(*b).is_digit(radix));
        valid
            .then(|| std::str::from_utf8(digits).ok())
            .flatten()
            .and_then(|d| u32::from_str_radix(d, radix).ok())
    };
    let byte = |digits: Option<&[u8]>| number(digits?, 16).and_then(|v| u8::try_from(v).ok());
    let char_until = |tail: &[u8], end: u8, radix: u32| {
        let close = tail.iter().take(10).position(|b| *b == end)?;
        let c = char::from_u32(number(tail.get(..close)?, radix)?)?;
        Some((c, close + 1))
    };
    if let Some(tail) = rest.strip_prefix(b"%") {
        return Some((Unit::Byte(byte(tail.get(..2))?), 3));
    }
    if let Some(tail) = rest.strip_prefix(b"\\x") {
        return Some((Unit::Byte(byte(tail.get(..2))?), 4));
    }
    if let Some(tail) = rest.strip_prefix(b"\\u{") {
        let (c, used) = char_until(tail, b'}', 16)?;
        return Some((Unit::Char(c), 3 + used));
    }
    if let Some(tail) = rest.strip_prefix(b"\\u") {
        let c = char::from_u32(number(tail.get(..4)?, 16)?)?;
        return Some((Unit::Char(c), 6));
    }
    if let Some(tail) = rest.strip_prefix(b"&#x") {
        let (c, used) = char_until(tail, b';', 16)?;
        return Some((Unit::Char(c), 3 + used));
    }
    if let Some(tail) = rest.strip_prefix(b"&#") {
        let (c, used) = char_until(tail, b';', 10)?;
        return Some((Unit::Char(c), 2 + used));
    }
    None
}
