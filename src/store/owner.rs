//! Whose key a stored task belongs to: every record and poll row is keyed by it, so callers
//! who bring their own CometAPI key see (and poll) only their own tasks.

/// The owner of stored tasks: the server's own key, or a caller key's fingerprint (never the
/// key itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Owner(String);

impl Owner {
    /// The server's own key (stored as the empty string).
    pub fn server() -> Self {
        Self::default()
    }

    /// A caller's key, by its fingerprint.
    pub fn fingerprint(fingerprint: String) -> Self {
        Self(fingerprint)
    }

    /// A caller's key as an earlier version fingerprinted it (adopted on the key's first use).
    pub fn legacy(fingerprint: &str) -> Self {
        Self(format!("legacy:{fingerprint}"))
    }

    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Read back from the store.
    pub(super) fn stored(text: String) -> Self {
        Self(text)
    }
}
