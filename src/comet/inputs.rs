//! What a string given as an input is: an http(s) URL, base64 data, a local path, or a prompt
//! placeholder. Pure text checks; nothing here touches the filesystem or the network.

/// The text between each `<<<` and the next `>>>`.
pub(super) fn placeholder_tokens(prompt: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("<<<") {
        let after = rest.get(start + 3..).unwrap_or_default();
        let Some(end) = after.find(">>>") else { break };
        tokens.push(after.get(..end).unwrap_or_default());
        rest = after.get(end + 3..).unwrap_or_default();
    }
    tokens
}

pub(super) fn strip_data_uri(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("data:")?;
    let (_, data) = rest.split_once(";base64,")?;
    Some(data)
}

pub(super) fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) && scheme != "file"
    })
}

pub(super) fn is_http_url(text: &str) -> bool {
    reqwest::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Whether a string is a filesystem path or `file:` URI rather than a URL or base64.
pub fn looks_like_local_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    let windows_drive = bytes.len() > 2
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.get(1) == Some(&b':')
        && matches!(bytes.get(2), Some(b'\\' | b'/'));
    text.starts_with("file:")
        || text.starts_with('/')
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with("~/")
        || text.starts_with(".\\")
        || text.starts_with("..\\")
        || text.starts_with("\\\\")
        || windows_drive
        || (!text.contains("://") && has_image_extension(text) && text.len() < 1024)
}

fn has_image_extension(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Base64 image data: not trivially short, and only base64 characters.
pub(super) fn is_base64(text: &str) -> bool {
    text.len() >= 16
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order() {
        assert_eq!(
            placeholder_tokens("<<<image_1>>> and <<<element_12>>>, <<<video_1>>> <<<open"),
            ["image_1", "element_12", "video_1"]
        );
    }

    #[test]
    fn local_paths_in_every_spelling() {
        for path in [
            "/a.png",
            "./a.png",
            "../a.png",
            "~/a.png",
            "C:\\x\\a.png",
            "D:/a.jpg",
            "\\\\srv\\a.png",
            "file:///a.png",
            "a.jpeg",
        ] {
            assert!(looks_like_local_path(path), "{path}");
        }
        for not_path in ["https://example.com/a.png", "iVBORw0KGgo"] {
            assert!(!looks_like_local_path(not_path), "{not_path}");
        }
    }

    #[test]
    fn urls_and_base64() {
        assert!(is_http_url("https://example.com/a.png") && !is_http_url("https://"));
        assert!(looks_like_url("ftp://x") && !looks_like_url("file:///x"));
        assert!(
            is_base64(&"QUJD".repeat(20)) && !is_base64("short") && !is_base64(&"!".repeat(80))
        );
        assert_eq!(strip_data_uri("data:image/png;base64,QUJD"), Some("QUJD"));
        assert_eq!(strip_data_uri("QUJD"), None);
    }
}
