//! Upstream text is untrusted: a reply may echo the key (a 401 body, an error page, a failed
//! task's message) or carry newlines and escape codes that would forge log lines. Every
//! string the client returns passes through [`Redactor::clean`] before anything logs,
//! stores or shows it: each secret the process knows becomes `[redacted]` — also upper-cased,
//! split by invisible characters, escaped or encoded (see `matcher`) — and control
//! characters are escaped.

use std::fmt;
use std::sync::Arc;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use super::error::{ApiError, Error};
use super::ids::TaskId;
use super::task::{CreatedTask, Task};

mod matcher;
mod normalize;

use matcher::Matcher;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The secrets to remove from upstream text. Cheap to clone.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<SecretString>>,
    /// Every form of every secret, ready to search.
    matcher: Arc<Matcher>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// The same secrets and one more (ignored when blank).
    pub fn with(&self, secret: &str) -> Self {
        let secret = secret.trim();
        let mut secrets = self.secrets.as_ref().clone();
        if secret.is_empty() || secrets.iter().any(|s| s.expose_secret() == secret) {
            return self.clone();
        }
        secrets.push(SecretString::from(secret.to_owned()));
        let matcher = Matcher::new(secrets.iter().map(|s| s.expose_secret()));
        Self {
            secrets: Arc::new(secrets),
            matcher: Arc::new(matcher),
        }
    }

    /// The same secrets plus the user name and password of `url`, if it has them.
    pub fn with_url_userinfo(&self, url: &Url) -> Self {
        let mut redactor = self.clone();
        if let Some(password) = url.password() {
            redactor = redactor.with(password);
            if let Ok(decoded) = urlencoding_decode(password) {
                redactor = redactor.with(&decoded);
            }
        }
        if !url.username().is_empty() {
            redactor = redactor.with(url.username());
        }
        redactor
    }

    /// `text` with every secret replaced by `[redacted]` and control characters (newlines,
    /// escape codes, Unicode line separators) escaped, so it is one harmless line.
    pub fn clean(&self, text: &str) -> String {
        let found = self.matcher.find(text);
        if found.is_empty() {
            return escape_controls(text);
        }
        let mut redacted = String::with_capacity(text.len());
        let mut kept = 0;
        for range in found {
            redacted.push_str(text.get(kept..range.start).unwrap_or_default());
            redacted.push_str(REDACTED);
            kept = range.end;
        }
        redacted.push_str(text.get(kept..).unwrap_or_default());
        escape_controls(&redacted)
    }

    /// A URL from an error, without its user name and password, then cleaned.
    fn clean_url(&self, url: &str) -> String {
        match Url::parse(url) {
            Ok(parsed) => self.clean(&display_url(&parsed)),
            Err(_) => self.clean(url),
        }
    }

    fn clean_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.clean(&t))
    }

    /// An error with every upstream-derived string cleaned.
    pub(super) fn error(&self, error: Error) -> Error {
        match error {
            Error::Api(api) => Error::Api(ApiError {
                message: self.clean(&api.message),
                code: self.clean_opt(api.code),
                request_id: self.clean_opt(api.request_id),
                ..api
            }),
            Error::Network {
                url,
                detail,
                before_send,
            } => Error::Network {
                url: self.clean_url(&url),
                detail: self.clean(&detail),
                before_send,
            },
            Error::MalformedResponse {
                status,
                url,
                detail,
            } => Error::MalformedResponse {
                status,
                url: self.clean_url(&url),
                detail: self.clean(&detail),
            },
            Error::Timeout { url, after } => Error::Timeout {
                url: self.clean_url(&url),
                after,
            },
            other @ (Error::MissingApiKey | Error::Invalid(_)) => other,
        }
    }

    /// A task with every upstream string cleaned.
    pub(super) fn task(&self, task: Task) -> Task {
        Task {
            task_id: self.clean_id(task.task_id),
            status_message: self.clean_opt(task.status_message),
            external_task_id: self.clean_opt(task.external_task_id),
            request_id: self.clean_opt(task.request_id),
            videos: task
                .videos
                .into_iter()
                .map(|mut video| {
                    video.url = self.clean(&video.url);
                    video.id = self.clean_opt(video.id);
                    video.duration = self.clean_opt(video.duration);
                    video
                })
                .collect(),
            ..task
        }
    }

    /// A task id with any secret in it cut out.
    fn clean_id(&self, id: TaskId) -> TaskId {
        let cleaned = self.clean(id.as_str());
        match cleaned == id.as_str() {
            true => id,
            false => TaskId::redacted(&cleaned),
        }
    }

    /// A create reply with every upstream string cleaned.
    pub(super) fn created(&self, created: CreatedTask) -> CreatedTask {
        CreatedTask {
            task_id: self.clean_id(created.task_id),
            external_task_id: self.clean_opt(created.external_task_id),
            request_id: self.clean_opt(created.request_id),
            ..created
        }
    }
}

/// A URL as it may be shown: without user name and password.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Control characters as Rust escapes (`\n`, `\u{1b}`); everything else as it is.
fn escape_controls(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}')
}

/// Percent-decoding of URL userinfo (`p%40ss` is `p@ss` on the wire in Basic auth).
fn urlencoding_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod prop_tests;
