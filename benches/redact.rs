//! Redaction cost on a 1 MB upstream reply: no secret in it (the common case), the key once
//! verbatim, the key base64-encoded inside a long blob, and text dense with escapes and
//! separators (both normalised streams built and mapped back). Prints milliseconds per call.
//!
//! Run with `cargo bench --bench redact` (release build).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark: a failed assumption should stop it loudly"
)]

use std::time::Instant;

use base64::Engine as _;
use kling_omni_mcp::comet::{REDACTED, Redactor};

const KEY: &str = "sk-Bench_7f3a9c2e4b6d8f0a1c3e5b7d9f1a3c5e";
const SIZE: usize = 1024 * 1024;

fn main() {
    let redactor = Redactor::default()
        .with(KEY)
        .with("a-second-configured-secret")
        .with("proxy-password-123");
    let prose: String = "The quick brown fox jumps over the lazy dog; ünïcödé text. "
        .chars()
        .cycle()
        .take(SIZE)
        .collect();
    let verbatim = format!("{}{KEY}", &prose[..SIZE - KEY.len()]);
    let blob = base64::engine::general_purpose::STANDARD.encode(
        (0..SIZE * 3 / 4)
            .map(|i| match i {
                i if (SIZE / 3..SIZE / 3 + KEY.len()).contains(&i) => KEY.as_bytes()[i - SIZE / 3],
                i => (i * 7919 % 251) as u8,
            })
            .collect::<Vec<u8>>(),
    );
    let escapes: String = "%41\\u0042&#67;\u{200b}x\n"
        .chars()
        .cycle()
        .take(SIZE / 2)
        .collect::<String>()
        + KEY;
    for (name, text, has_key) in [
        ("1 MB prose, no secret", &prose, false),
        ("1 MB prose, key at the end", &verbatim, true),
        ("1 MB base64 blob, key inside", &blob, true),
        (
            "~1 MB escapes and separators, key at the end",
            &escapes,
            true,
        ),
    ] {
        let clean = redactor.clean(text);
        assert_eq!(clean.contains(REDACTED), has_key, "{name}");
        let runs = 20;
        let started = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(redactor.clean(std::hint::black_box(text)));
        }
        let per_call = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
        println!(
            "{name:<48} {:>7} bytes  {per_call:>7.2} ms per clean",
            text.len()
        );
    }
}
