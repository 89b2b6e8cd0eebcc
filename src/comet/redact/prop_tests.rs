//! Property tests of redaction: a random key, disguised by random transformations and
//! embedded in random text, never survives; text without a key is left as it was. The checks
//! undo each disguise on the output independently of the matcher.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use proptest::prelude::*;

use super::*;

/// How many key bytes in a row count as a leak.
const WINDOW: usize = 10;

#[derive(Debug, Clone)]
enum Disguise {
    Case(Vec<bool>),
    Percent(Vec<bool>, bool),
    Hex(bool),
    Escape(u8),
    Fullwidth(Vec<bool>),
    Base64 {
        engine: u8,
        prefix: Vec<u8>,
        suffix: Vec<u8>,
    },
}

const SEPARATORS: &[char] = &[
    '\n', '\r', ' ', '\t', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}',
    '\u{180e}', '\u{34f}', '\u{fe0f}', '\u{2028}', '\u{61c}', '\u{206a}',
];

fn disguise() -> impl Strategy<Value = Disguise> {
    prop_oneof![
        prop::collection::vec(any::<bool>(), 64).prop_map(Disguise::Case),
        (prop::collection::vec(any::<bool>(), 64), any::<bool>())
            .prop_map(|(mask, upper)| Disguise::Percent(mask, upper)),
        any::<bool>().prop_map(Disguise::Hex),
        (0u8..5).prop_map(Disguise::Escape),
        prop::collection::vec(any::<bool>(), 64).prop_map(Disguise::Fullwidth),
        (
            0u8..4,
            prop::collection::vec(any::<u8>(), 0..40),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(engine, prefix, suffix)| Disguise::Base64 {
                engine,
                prefix,
                suffix
            }),
    ]
}

fn engine(which: u8) -> &'static base64::engine::GeneralPurpose {
    match which {
        0 => &STANDARD,
        1 => &STANDARD_NO_PAD,
        2 => &URL_SAFE,
        _ => &URL_SAFE_NO_PAD,
    }
}

fn apply(key: &str, disguise: &Disguise) -> String {
    let flag = |mask: &[bool], i: usize| mask.get(i % mask.len().max(1)).copied().unwrap_or(false);
    match disguise {
        Disguise::Case(mask) => key
            .chars()
            .enumerate()
            .map(|(i, c)| match flag(mask, i) {
                true => c.to_ascii_uppercase(),
                false => c.to_ascii_lowercase(),
            })
            .collect(),
        Disguise::Percent(mask, upper) => key
            .bytes()
            .enumerate()
            .map(|(i, b)| match (flag(mask, i), upper) {
                (false, _) => char::from(b).to_string(),
                (true, true) => format!("%{b:02X}"),
                (true, false) => format!("%{b:02x}"),
            })
            .collect(),
        Disguise::Hex(upper) => key
            .bytes()
            .map(|b| match upper {
                true => format!("{b:02X}"),
                false => format!("{b:02x}"),
            })
            .collect(),
        Disguise::Escape(form) => key
            .bytes()
            .map(|b| match form {
                0 => format!("\\x{b:02x}"),
                1 => format!("\\u{b:04x}"),
                2 => format!("\\u{{{b:x}}}"),
                3 => format!("&#{b};"),
                _ => format!("&#x{b:x};"),
            })
            .collect(),
        Disguise::Fullwidth(mask) => key
            .chars()
            .enumerate()
            .map(|(i, c)| match flag(mask, i) {
                true => char::from_u32(u32::from(c) + 0xfee0).unwrap(),
                false => c,
            })
            .collect(),
        Disguise::Base64 {
            engine: which,
            prefix,
            suffix,
        } => {
            let mut blob = prefix.clone();
            blob.extend_from_slice(key.as_bytes());
            blob.extend_from_slice(suffix);
            engine(*which).encode(blob)
        }
    }
}

/// `text` with separators put in at the given character positions.
fn split(text: &str, cuts: &[(usize, usize)]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        for (at, which) in cuts {
            if *at == i {
                out.push(SEPARATORS[which % SEPARATORS.len()]);
            }
        }
        out.push(c);
    }
    out
}

/// Whether some `WINDOW` bytes of `key` in a row can be read back out of `output`, whatever
/// the disguise: separators (and their escaped forms) removed, escapes decoded, case folded,
/// hex and base64 runs decoded at every alignment.
fn leaks(key: &str, output: &str) -> bool {
    let mut plain = output.to_owned();
    for separator in SEPARATORS {
        plain = plain.replace(*separator, "");
        plain = plain.replace(&separator.escape_default().to_string(), "");
    }
    let plain: String = plain
        .chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0).unwrap(),
            c => c,
        })
        .collect();
    let key_lower = key.to_ascii_lowercase();
    let windows: Vec<&[u8]> = key_lower.as_bytes().windows(WINDOW).collect();
    let has_window = |bytes: &[u8]| {
        let lower = bytes.to_ascii_lowercase();
        windows
            .iter()
            .any(|w| lower.windows(WINDOW).any(|x| x == *w))
    };
    let mut candidates = vec![plain.as_bytes().to_vec(), unescape(&plain)];
    for candidate in candidates.clone() {
        candidates.push(unhex(&candidate));
        candidates.extend(unbase64(&candidate));
    }
    candidates.iter().any(|c| has_window(c))
}

/// `%XX`, `\xXX`, `\uXXXX`, `\u{X}`, `&#N;` and `&#xX;` decoded where they parse.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let hex_at = |from: usize, len: usize| {
            rest.get(from..from + len)
                .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|d| u32::from_str_radix(d, 16).ok())
        };
        let (value, used) = if rest.starts_with('%') {
            (hex_at(1, 2), 3)
        } else if rest.starts_with("\\x") {
            (hex_at(2, 2), 4)
        } else if rest.starts_with("\\u{") {
            let close = rest.find('}').unwrap_or(0);
            (hex_at(3, close.saturating_sub(3)), close + 1)
        } else if rest.starts_with("\\u") {
            (hex_at(2, 4), 6)
        } else if rest.starts_with("&#x") {
            let close = rest.find(';').unwrap_or(0);
            (hex_at(3, close.saturating_sub(3)), close + 1)
        } else if rest.starts_with("&#") {
            let close = rest.find(';').unwrap_or(0);
            (rest.get(2..close).and_then(|d| d.parse().ok()), close + 1)
        } else {
            (None, 0)
        };
        match value.and_then(char::from_u32) {
            Some(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                at += used;
            }
            None => {
                let c = rest.chars().next().unwrap();
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                at += c.len_utf8();
            }
        }
    }
    out
}

/// Every run of hex digits decoded at both alignments.
fn unhex(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in bytes.split(|b| !b.is_ascii_hexdigit()) {
        for start in 0..2.min(run.len()) {
            for pair in run[start..].chunks_exact(2) {
                let digits = std::str::from_utf8(pair).unwrap();
                out.push(u8::from_str_radix(digits, 16).unwrap());
            }
            out.push(b' ');
        }
    }
    out
}

/// Every run of base64 characters (either alphabet) decoded at each of 4 alignments.
fn unbase64(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (alphabet, engine) in [(b"+/", &STANDARD_NO_PAD), (b"-_", &URL_SAFE_NO_PAD)] {
        let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || alphabet.contains(b);
        for run in bytes.split(|b| !is_b64(b)) {
            for start in 0..4.min(run.len()) {
                let usable = (run.len() - start) / 4 * 4;
                if let Ok(decoded) = engine.decode(&run[start..start + usable]) {
                    out.push(decoded);
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_disguised_key_never_survives(
        body in "[A-Za-z0-9_-]{16,48}",
        disguise in disguise(),
        cuts in prop::collection::vec((0usize..200, 0usize..64), 0..6),
        before in ".{0,30}",
        after in ".{0,30}",
    ) {
        let key = format!("sk-{body}");
        let redactor = Redactor::default().with(&key).with("another-configured-secret");
        let disguised = split(&apply(&key, &disguise), &cuts);
        let text = format!("{before}{disguised}{after}");
        let clean = redactor.clean(&text);
        prop_assert!(leaks(&key, &text), "the check must see the key in the input: {text:?}");
        prop_assert!(!leaks(&key, &clean), "{disguise:?} leaked: {clean:?}");
        prop_assert!(clean.contains(REDACTED));
    }

    #[test]
    fn text_without_a_key_is_left_alone(
        body in "[A-Za-z0-9_-]{16,48}",
        text in any::<String>(),
        blob in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let key = format!("sk-{body}");
        let redactor = Redactor::default().with(&key);
        let text = format!("{text} {} {}", STANDARD.encode(&blob), blob.iter().map(|b| format!("%{b:02x}")).collect::<String>());
        prop_assume!(!leaks(&key, &text));
        prop_assert_eq!(redactor.clean(&text), escape_controls(&text));
    }
}
