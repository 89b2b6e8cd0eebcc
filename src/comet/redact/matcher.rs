//! Finding secrets in text however they are disguised: in any letter case, split by whitespace,
//! line breaks or invisible characters (zero-width spaces, soft hyphens, every format
//! character), percent-, `\x`-, `\u`- or HTML-escaped, fullwidth, hex-encoded, or base64-encoded
//! (standard or URL-safe, padded or not, at any of the three byte offsets inside a longer blob).
//!
//! Text is normalised into byte streams (case folded, separators dropped; then escapes decoded)
//! where every secret is searched in each of its forms at once; a match is traced back to the
//! span of the original text it came from, which is what gets masked.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

use super::normalize::{decode_escapes, fold_text};

/// Secrets shorter than this are matched verbatim only: folded and stripped of separators, a
/// short one (a proxy user name) would match ordinary words.
const FUZZY_MIN_BYTES: usize = 6;

/// Encoded forms shorter than this are not searched: they would match by chance.
const ENCODED_MIN_BYTES: usize = 6;

/// The secrets' search patterns, built once per set of secrets.
#[derive(Clone, Default)]
pub(super) struct Matcher {
    /// Short secrets, searched in the original text as they are.
    verbatim: Option<AhoCorasick>,
    /// Every form of the longer secrets, searched in the normalised text.
    fuzzy: Option<AhoCorasick>,
}

impl Matcher {
    /// Patterns for `secrets` (already trimmed and non-empty).
    pub(super) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut verbatim: Vec<&str> = Vec::new();
        let mut fuzzy: Vec<Vec<u8>> = Vec::new();
        for secret in secrets {
            if secret.len() < FUZZY_MIN_BYTES {
                verbatim.push(secret);
            } else {
                forms(secret, &mut fuzzy);
            }
        }
        fuzzy.sort();
        fuzzy.dedup();
        Self {
            verbatim: automaton(&verbatim),
            fuzzy: automaton(&fuzzy),
        }
    }

    /// The byte ranges of `text` that hold a secret in any form: sorted, not overlapping, on
    /// character boundaries.
    pub(super) fn find(&self, text: &str) -> Vec<Range<usize>> {
        let mut found = Vec::new();
        if let Some(verbatim) = &self.verbatim {
            found.extend(
                verbatim
                    .find_overlapping_iter(text)
                    .map(|m| m.start()..m.end()),
            );
        }
        if let Some(fuzzy) = &self.fuzzy {
            search(fuzzy, text, &mut found);
        }
        merge(found)
    }
}

/// Every form of `secret` as it appears in a normalised stream.
fn forms(secret: &str, out: &mut Vec<Vec<u8>>) {
    let mut folded = Vec::with_capacity(secret.len());
    fold_text(secret, &mut folded, |_, _| {});
    let mut decoded = Vec::with_capacity(folded.len());
    decode_escapes(&folded, &mut decoded, |_, _| {});
    out.extend(
        [folded, decoded]
            .into_iter()
            .filter(|form| !form.is_empty()),
    );
    let bytes = secret.as_bytes();
    let hex: Vec<u8> = bytes
        .iter()
        .flat_map(|b| [hex_digit(b >> 4), hex_digit(b & 0xf)])
        .collect();
    out.push(hex);
    // In a longer base64 blob the secret starts 0, 1 or 2 bytes into a 3-byte group; only the
    // characters whose 6 bits all come from the secret are the same whatever surrounds it.
    for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut input = vec![0u8; offset];
            input.extend_from_slice(bytes);
            let encoded = engine.encode(&input);
            let first = (8 * offset).div_ceil(6);
            let end = (8 * (offset + bytes.len())) / 6;
            if let Some(core) = encoded.get(first..end)
                && core.len() >= ENCODED_MIN_BYTES
            {
                out.push(core.to_ascii_lowercase().into_bytes());
            }
        }
    }
}

fn hex_digit(nibble: u8) -> u8 {
    match nibble {
        0..=9 => b'0' + nibble,
        _ => b'a' + nibble - 10,
    }
}

fn automaton<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    // Overlapping search needs the standard match kind; an automaton over a few hundred
    // bytes of patterns always builds.
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .ok()
}

/// Adds the original ranges of every match of `patterns` in `text`'s two normalised streams:
/// case folded without separators, and that with escape sequences decoded. Both are searched:
/// decoding can swallow a secret's first characters (`\u00` before `ab…` reads as one).
fn search(patterns: &AhoCorasick, text: &str, found: &mut Vec<Range<usize>>) {
    let mut folded = Vec::with_capacity(text.len());
    fold_text(text, &mut folded, |_, _| {});
    let mut hits = Vec::new();
    for m in patterns.find_overlapping_iter(folded.as_slice()) {
        hits.push(m.start()..m.end());
    }
    let mut decoded_hits = Vec::new();
    if folded.iter().any(|b| matches!(b, b'%' | b'\\' | b'&')) {
        let mut decoded = Vec::with_capacity(folded.len());
        decode_escapes(&folded, &mut decoded, |_, _| {});
        for m in patterns.find_overlapping_iter(decoded.as_slice()) {
            decoded_hits.push(m.start()..m.end());
        }
    }
    if hits.is_empty() && decoded_hits.is_empty() {
        // Most text holds no secret: nothing is mapped back.
        return;
    }
    // Decoded positions to folded ones, then folded positions to the original text: each by
    // one more pass that notes only the positions asked for.
    if !decoded_hits.is_empty() {
        let mut locator = Locator::new(&decoded_hits);
        decode_escapes(
            &folded,
            &mut Vec::with_capacity(folded.len()),
            |out, src| {
                locator.unit(out, src);
            },
        );
        hits.extend(decoded_hits.iter().filter_map(|hit| locator.span(hit)));
    }
    let mut locator = Locator::new(&hits);
    let mut scratch = Vec::with_capacity(folded.len());
    fold_text(text, &mut scratch, |out, src| {
        locator.unit(out, src);
    });
    found.extend(hits.iter().filter_map(|hit| locator.span(hit)));
}

/// Notes, during one normalising pass, where the units holding given output positions came
/// from.
struct Locator {
    /// The first and last byte of each hit, sorted, without repeats.
    wanted: Vec<usize>,
    /// For each of `wanted`, the source range of its unit.
    sources: Vec<Range<usize>>,
    next: usize,
}

impl Locator {
    fn new(hits: &[Range<usize>]) -> Self {
        let mut wanted: Vec<usize> = hits
            .iter()
            .flat_map(|hit| [hit.start, hit.end.saturating_sub(1)])
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let sources = vec![0..0; wanted.len()];
        Self {
            wanted,
            sources,
            next: 0,
        }
    }

    /// One unit of the pass: output bytes `out` came from source bytes `src`.
    fn unit(&mut self, out: Range<usize>, src: Range<usize>) {
        while let Some(&position) = self.wanted.get(self.next) {
            if position >= out.end {
                return;
            }
            if let Some(source) = self.sources.get_mut(self.next) {
                *source = src.clone();
            }
            self.next += 1;
        }
    }

    /// The source range from the unit of the hit's first byte to that of its last.
    fn span(&self, hit: &Range<usize>) -> Option<Range<usize>> {
        let source = |position: usize| {
            let index = self.wanted.binary_search(&position).ok()?;
            self.sources.get(index).cloned()
        };
        let first = source(hit.start)?;
        let last = source(hit.end.checked_sub(1)?)?;
        Some(first.start..last.end)
    }
}

/// Sorts ranges and joins those that overlap or touch.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}
