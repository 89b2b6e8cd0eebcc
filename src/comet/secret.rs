//! The CometAPI key, in a type that cannot leak through `Debug`, `Display` or logs.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A CometAPI key. `Debug` and `Display` print `[redacted]`; the value is zeroed on drop.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key; returns `None` for an empty or all-whitespace value.
    pub fn new(value: &str) -> Option<Self> {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return None;
        }
        Some(Self(SecretString::from(trimmed.to_owned())))
    }

    /// A form safe to show a person: the first 3 and last 4 characters, e.g. `sk-…a1b2`.
    pub fn masked(&self) -> String {
        let key = self.0.expose_secret();
        let chars: Vec<char> = key.chars().collect();
        if chars.len() < 12 {
            return "…".to_owned();
        }
        let head: String = chars.iter().take(3).collect();
        let tail: String = chars.iter().skip(chars.len() - 4).collect();
        format!("{head}…{tail}")
    }

    /// A stable, non-reversible id of the key, to tell keys apart in the task store without
    /// storing them: HMAC-SHA256 under a fixed, product-specific key, first 128 bits in hex.
    /// The same key gives the same id on every machine and release (the store outlives both).
    pub fn fingerprint(&self) -> String {
        use hmac::{KeyInit, Mac};
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(FINGERPRINT_KEY) else {
            return String::new();
        };
        mac.update(self.0.expose_secret().as_bytes());
        let digest = mac.finalize().into_bytes();
        digest
            .iter()
            .take(16)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The id earlier versions stored (64-bit `SipHash`, not stable across Rust releases),
    /// used only to adopt the tasks they recorded.
    pub fn legacy_fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.0.expose_secret().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    /// The key itself, for the redactor to find echoes of it in upstream text.
    pub(super) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The `Authorization` header value. Only the HTTP client calls this.
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0.expose_secret())
    }
}

/// The HMAC key of [`ApiKey::fingerprint`]: domain separation, not a secret (a CometAPI key
/// has far too much entropy to be guessed from its fingerprint).
const FINGERPRINT_KEY: &[u8] = b"kling-omni-mcp/owner-fingerprint/v1";

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_key() {
        let key = ApiKey::new("sk-live-1234567890abcdef").unwrap();
        assert_eq!(format!("{key:?}"), "[redacted]");
        assert_eq!(format!("{key}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(key.clone())), "Some([redacted])");
        assert!(!key.masked().contains("1234567890"));
        assert_eq!(key.masked(), "sk-…cdef");
    }

    #[test]
    fn blank_keys_are_absent() {
        assert!(ApiKey::new("").is_none());
        assert!(ApiKey::new("  \n").is_none());
        assert_eq!(ApiKey::new(" sk-x ").unwrap().bearer(), "Bearer sk-x");
    }

    #[test]
    fn fingerprints_are_stable_hmac_sha256() {
        let key = ApiKey::new("sk-live-1234567890abcdef").unwrap();
        // Pinned: stored fingerprints must never change between releases.
        assert_eq!(key.fingerprint(), "de08bb7a9483c3a7ab0a1dca9a5f1d9d");
        assert_eq!(key.fingerprint().len(), 32);
        assert_ne!(
            key.fingerprint(),
            ApiKey::new("sk-other").unwrap().fingerprint()
        );
        assert_eq!(key.legacy_fingerprint().len(), 16);
    }

    #[test]
    fn short_keys_are_fully_masked() {
        assert_eq!(ApiKey::new("sk-short").unwrap().masked(), "…");
    }
}
