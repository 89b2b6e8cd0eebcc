//! Unit tests of redaction: fields cleaned, secrets found in every disguise.

use super::*;

#[test]
fn secrets_are_replaced_and_control_characters_escaped() {
    let redactor = Redactor::default().with("sk-live-123456").with("tok-abc");
    let text = "invalid token sk-live-123456\nINFO forged line \u{1b}[31m tok-abc";
    let clean = redactor.clean(text);
    assert_eq!(
        clean,
        "invalid token [redacted]\\nINFO forged line \\u{1b}[31m [redacted]"
    );
    assert_eq!(redactor.clean("plain"), "plain");
    assert!(Redactor::default().with("  ").secrets.is_empty());
}

#[test]
fn url_userinfo_is_a_secret_and_never_displayed() {
    let url = Url::parse("https://me:p%40ss-word@proxy.example/comet").unwrap();
    let redactor = Redactor::default().with_url_userinfo(&url);
    assert_eq!(
        redactor.clean("sent p@ss-word and p%40ss-word"),
        "sent [redacted] and [redacted]"
    );
    assert_eq!(display_url(&url), "https://proxy.example/comet");
}

#[test]
fn errors_and_tasks_are_cleaned_field_by_field() {
    let redactor = Redactor::default().with("sk-secret-key");
    let err = redactor.error(Error::MalformedResponse {
        status: 502,
        url: "u".into(),
        detail: "<html>sk-secret-key</html>".into(),
    });
    assert!(!err.to_string().contains("sk-secret-key"), "{err}");
    let task = Task {
        task_id: TaskId::parse("1").unwrap(),
        status: super::super::TaskStatus::Failed,
        status_message: Some("refused for sk-secret-key\r\n".into()),
        external_task_id: None,
        created_at_ms: None,
        updated_at_ms: None,
        progress_percent: None,
        videos: Vec::new(),
        request_id: None,
        shape: super::super::ReplyShape::Native,
        units: None,
    };
    assert_eq!(
        redactor.task(task).status_message.as_deref(),
        Some("refused for [redacted]\\r\\n")
    );
}

const KEY: &str = "sk-Live_4f9Q2zX8pL0aB7cD";

fn percent(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| match upper {
            true => format!("%{b:02X}"),
            false => format!("%{b:02x}"),
        })
        .collect()
}

fn spaced(text: &str, separator: &str) -> String {
    let chars: Vec<String> = text.chars().map(String::from).collect();
    chars.join(separator)
}

/// Every disguise of the finding, each as the whole of what sits between two words.
fn disguises() -> Vec<(String, String)> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut all = vec![
        ("verbatim".to_owned(), KEY.to_owned()),
        ("upper".to_owned(), KEY.to_uppercase()),
        ("lower".to_owned(), KEY.to_lowercase()),
        ("percent".to_owned(), percent(KEY.as_bytes(), true)),
        ("percent lower".to_owned(), percent(KEY.as_bytes(), false)),
        ("hex".to_owned(), hex(KEY.as_bytes())),
        ("hex upper".to_owned(), hex(KEY.as_bytes()).to_uppercase()),
        (
            "\\x".to_owned(),
            KEY.bytes().map(|b| format!("\\x{b:02x}")).collect(),
        ),
        (
            "\\u".to_owned(),
            KEY.bytes().map(|b| format!("\\u{b:04X}")).collect(),
        ),
        (
            "\\u{}".to_owned(),
            KEY.bytes().map(|b| format!("\\u{{{b:x}}}")).collect(),
        ),
        (
            "html".to_owned(),
            KEY.bytes().map(|b| format!("&#{b};")).collect(),
        ),
        (
            "html hex".to_owned(),
            KEY.bytes().map(|b| format!("&#x{b:X};")).collect(),
        ),
        (
            "fullwidth".to_owned(),
            KEY.chars()
                .map(|c| char::from_u32(u32::from(c) + 0xfee0).unwrap())
                .collect(),
        ),
        (
            "upper and zero-width".to_owned(),
            spaced(&KEY.to_uppercase(), "\u{200b}"),
        ),
    ];
    for separator in [
        "\n",
        "\r\n",
        " ",
        "\t",
        "\u{200b}",
        "\u{200c}",
        "\u{200d}",
        "\u{2060}",
        "\u{feff}",
        "\u{ad}",
        "\u{180e}",
        "\u{34f}",
        "\u{fe0f}",
        "\u{2028}",
        "\u{e0020}",
    ] {
        all.push((format!("split by {separator:?}"), spaced(KEY, separator)));
    }
    // Split once, in the middle, by a line break: what a wrapped log line does.
    all.push((
        "split once".to_owned(),
        format!("{}\n{}", &KEY[..9], &KEY[9..]),
    ));
    let engines: [(&str, &base64::engine::GeneralPurpose); 4] = [
        ("standard", &STANDARD),
        ("standard unpadded", &STANDARD_NO_PAD),
        ("url-safe", &URL_SAFE),
        ("url-safe unpadded", &URL_SAFE_NO_PAD),
    ];
    for (name, engine) in engines {
        for prefix in [&b""[..], b"u", b"us", b"Bearer ", b"user:"] {
            for suffix in [&b""[..], b"!", b"\xff\x00"] {
                let mut blob = prefix.to_vec();
                blob.extend_from_slice(KEY.as_bytes());
                blob.extend_from_slice(suffix);
                all.push((
                    format!("base64 {name} after {prefix:?} before {suffix:?}"),
                    engine.encode(&blob),
                ));
            }
        }
    }
    // A MIME-wrapped blob, and one sent percent-encoded in a query string.
    let long = STANDARD.encode(format!("{}{KEY}{}", "x".repeat(50), "y".repeat(40)));
    let wrapped: Vec<String> = long
        .as_bytes()
        .chunks(19)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    all.push(("base64 wrapped".to_owned(), wrapped.join("\r\n")));
    let plus = STANDARD.encode(format!(">>>{KEY}?"));
    all.push((
        "base64 percent-encoded".to_owned(),
        plus.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D"),
    ));
    all
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_key_is_found_in_every_disguise() {
    let redactor = Redactor::default().with(KEY);
    for (name, disguised) in disguises() {
        let clean = redactor.clean(&format!("before {disguised} after"));
        assert!(clean.contains(REDACTED), "{name}: {clean}");
        assert!(
            clean.starts_with("before ") && clean.ends_with(" after"),
            "{name}: {clean}"
        );
        // What is left of a base64 blob is the other bytes' characters ("Bearer " is 10).
        let left = clean.len() - "before  after".len() - REDACTED.len();
        let blob_rest = if name.contains("wrapped") { 160 } else { 16 };
        assert!(left <= blob_rest, "{name}: {left} characters left: {clean}");
    }
}

#[test]
fn masking_covers_the_original_span_and_nothing_else() {
    let redactor = Redactor::default().with(KEY);
    assert_eq!(
        redactor.clean(&format!("a {} b", spaced(&KEY.to_uppercase(), "\u{200b}"))),
        "a [redacted] b"
    );
    assert_eq!(
        redactor.clean(&format!("x{}\ny", percent(KEY.as_bytes(), true))),
        "x[redacted]\\ny"
    );
    // Two echoes, one verbatim and one encoded, and a non-ASCII neighbour.
    assert_eq!(
        redactor.clean(&format!("é{KEY}é {} ü", hex(KEY.as_bytes()))),
        "é[redacted]é [redacted] ü"
    );
    // An escape that swallows the key's first characters still leaves the key found.
    assert_eq!(redactor.clean(&format!("\\u00{KEY}")), "\\u00[redacted]");
}

#[test]
fn short_secrets_are_matched_verbatim_only() {
    let redactor = Redactor::default().with("me");
    assert_eq!(redactor.clean("me, ME, m e"), "[redacted], ME, m e");
    let redactor = Redactor::default().with("pw-123");
    assert_eq!(redactor.clean("PW-123 p\nw-123"), "[redacted] [redacted]");
}

#[test]
fn text_without_the_key_is_left_alone() {
    let redactor = Redactor::default().with(KEY).with("another-secret-value");
    for text in [
        "",
        "a plain message",
        "sk-Live_4f9Q2zX8pL0aB7c",
        "%41%42 \\x41 \\u0041 &#65; &#x41; \\u{41} % \\u &# &#;",
        "日本語のテキスト ü\u{200b}ber",
        "c2stTGl2ZV80Zjl",
    ] {
        assert_eq!(redactor.clean(text), escape_controls(text), "{text}");
    }
}
