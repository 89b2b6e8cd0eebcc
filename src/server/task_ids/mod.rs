//! Sealed task ids for MCP tasks (the `io.modelcontextprotocol/tasks` extension): a token that
//! names a CometAPI task, is bound to its caller, cannot be guessed, and needs no server memory.
//!
//! A token is `kt1.<id>.<mac>`: the CometAPI task id and an HMAC-SHA256 under the server's
//! [`TaskSecret`] over a domain tag, the format version, the task id and the caller's owner
//! fingerprint, both in unpadded URL-safe base64. Any instance that shares the secret (and the
//! task store) can open it: after a restart, behind a load balancer. The task id inside is not
//! hidden (the agent sees it in `get_video_task` anyway); what the MAC adds is that nobody
//! without the secret can make a token, and a token made for one caller opens for no other.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

/// The version prefix every token starts with; a new format gets a new prefix.
pub(crate) const TOKEN_PREFIX: &str = "kt1.";

/// Longest CometAPI task id a token may carry, in bytes (the Comet client's own limit).
pub(crate) const MAX_TASK_ID_BYTES: usize = 128;

/// The environment variable that sets the secret for every instance of a deployment.
pub const SECRET_ENV: &str = "KLING_MCP_TASK_SECRET";

/// The file in the data directory that holds the generated secret.
pub(crate) const SECRET_FILE: &str = "task-secret";

/// Fewest bytes a secret may have (after trimming whitespace).
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// Random bytes in a generated secret (stored as 43 characters of URL-safe base64).
const GENERATED_SECRET_BYTES: usize = 32;

/// Domain separation: these MACs mean "task id", nothing else the secret might ever sign.
const DOMAIN: &[u8] = b"kling-omni-mcp/mcp-task-id";

/// The format version inside the MAC (matches the `kt1.` prefix).
const VERSION: u8 = 1;

/// Bytes of an HMAC-SHA256 tag.
const MAC_BYTES: usize = 32;

/// Longest token [`open`] reads; anything longer is refused before it is decoded.
const MAX_TOKEN_LEN: usize =
    TOKEN_PREFIX.len() + base64_len(MAX_TASK_ID_BYTES) + 1 + base64_len(MAC_BYTES);

/// Characters of unpadded base64 for `bytes` bytes.
const fn base64_len(bytes: usize) -> usize {
    (bytes * 4).div_ceil(3)
}

/// A token that this server did not issue to this caller (forged, tampered, foreign, or not a
/// token at all). Deliberately says nothing about which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a task id this server issued to this caller")]
pub(crate) struct Forged;

/// A CometAPI task id that cannot go into a token: empty, or longer than [`MAX_TASK_ID_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a task id must be 1-{MAX_TASK_ID_BYTES} bytes to be sealed")]
pub(crate) struct Unsealable;

/// Seals `comet_task_id` for the caller `owner_fingerprint`. Every token this returns opens
/// with [`open`] under the same secret and owner.
pub(crate) fn seal(
    secret: &TaskSecret,
    comet_task_id: &str,
    owner_fingerprint: &str,
) -> Result<String, Unsealable> {
    if comet_task_id.is_empty() || comet_task_id.len() > MAX_TASK_ID_BYTES {
        return Err(Unsealable);
    }
    let tag = secret
        .mac(comet_task_id, owner_fingerprint)
        .ok_or(Unsealable)?
        .finalize()
        .into_bytes();
    let mut token = String::with_capacity(MAX_TOKEN_LEN);
    token.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(comet_task_id.as_bytes(), &mut token);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut token);
    Ok(token)
}

/// Opens a token from a client: the CometAPI task id, or [`Forged`] unless this server sealed
/// exactly this token for `owner_fingerprint`. Reads at most a few hundred bytes of `token`
/// whatever its length; the tag is compared in constant time.
pub(crate) fn open(
    secret: &TaskSecret,
    token: &str,
    owner_fingerprint: &str,
) -> Result<String, Forged> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(Forged);
    }
    let (id_text, tag_text) = token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.split_once('.'))
        .ok_or(Forged)?;
    if id_text.is_empty() || tag_text.len() != base64_len(MAC_BYTES) {
        return Err(Forged);
    }
    // The engine refuses padding, stray characters and non-canonical trailing bits, so a token
    // has exactly one spelling.
    let tag = URL_SAFE_NO_PAD.decode(tag_text).map_err(|_| Forged)?;
    let id = URL_SAFE_NO_PAD.decode(id_text).map_err(|_| Forged)?;
    let id = String::from_utf8(id).map_err(|_| Forged)?;
    if id.len() > MAX_TASK_ID_BYTES {
        return Err(Forged);
    }
    secret
        .mac(&id, owner_fingerprint)
        .ok_or(Forged)?
        .verify_slice(&tag)
        .map_err(|_| Forged)?;
    Ok(id)
}

/// The server's key for sealing task ids. `Debug` prints `[redacted]`; the bytes are zeroed
/// on drop and never printed.
pub struct TaskSecret(SecretSlice<u8>);

impl fmt::Debug for TaskSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskSecret([redacted])")
    }
}

/// Why the task secret could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TaskSecretError {
    /// The environment variable is set but too short.
    #[error(
        "{SECRET_ENV} is {len} bytes after trimming; it must be at least {MIN_SECRET_BYTES} \
         (for example the output of `openssl rand -base64 48`), or unset it to use a \
         generated secret in the data directory"
    )]
    EnvTooShort {
        /// Its length after trimming.
        len: usize,
    },
    /// The secret file exists but does not hold a whole secret.
    #[error(
        "{path} holds {len} bytes, not a task secret (at least {MIN_SECRET_BYTES}): it is damaged. \
         Delete it to generate a new one (task ids issued before stop opening), or set {SECRET_ENV}"
    )]
    Damaged {
        /// The secret file.
        path: PathBuf,
        /// Its length after trimming.
        len: usize,
    },
    /// Reading, writing or securing the secret file failed.
    #[error("cannot {action} the task secret file {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The operating system gave no random bytes.
    #[error("cannot generate a task secret: no system randomness ({0})")]
    Random(getrandom::Error),
}

impl TaskSecret {
    /// The secret from `env_value` (the value of [`SECRET_ENV`]) when it is set, else the one in
    /// `data_dir`'s `task-secret` file, generated on first use with mode 0600. Processes that race
    /// to create it all end up with the one that won. (A variable that is set but not UTF-8
    /// is the caller's to refuse: passing `None` for it would silently use the file.)
    pub fn load(env_value: Option<&str>, data_dir: &Path) -> Result<TaskSecret, TaskSecretError> {
        if let Some(value) = env_value {
            let value = value.trim();
            if value.len() < MIN_SECRET_BYTES {
                return Err(TaskSecretError::EnvTooShort { len: value.len() });
            }
            return Ok(Self::from_bytes(value.as_bytes()));
        }
        let path = data_dir.join(SECRET_FILE);
        match read_secret_file(&path) {
            Ok(secret) => return Ok(secret),
            Err(TaskSecretError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            }
            Err(err) => return Err(err),
        }
        create_secret_file(data_dir, &path)?;
        read_secret_file(&path)
    }

    fn from_bytes(bytes: &[u8]) -> Self {
        Self(SecretSlice::from(bytes.to_vec()))
    }

    /// A MAC over one (task id, owner) pair, ready to finalize or verify. (`None` is
    /// unreachable: HMAC takes keys of any length.)
    fn mac(&self, comet_task_id: &str, owner_fingerprint: &str) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose_secret()).ok()?;
        mac.update(DOMAIN);
        mac.update(&[0, VERSION]);
        for part in [comet_task_id, owner_fingerprint] {
            // Length-prefixed, so no two (id, owner) pairs feed the MAC the same bytes.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Some(mac)
    }
}

/// Reads the secret file, tightening its mode to 0600 first when it is looser.
fn read_secret_file(path: &Path) -> Result<TaskSecret, TaskSecretError> {
    let io_error = |action| {
        move |source| TaskSecretError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let meta = std::fs::symlink_metadata(path).map_err(io_error("read"))?;
    if !meta.is_file() {
        let source = io::Error::new(io::ErrorKind::InvalidData, "not a regular file");
        return Err(io_error("read")(source));
    }
    tighten_mode(path, &meta).map_err(io_error("restrict to mode 0600"))?;
    // A secret is 43 characters; a few hundred bytes is already far more than a secret.
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(1024).read_to_string(&mut text))
        .map_err(io_error("read"))?;
    let trimmed = text.trim();
    let loaded = if trimmed.len() < MIN_SECRET_BYTES {
        Err(TaskSecretError::Damaged {
            path: path.to_owned(),
            len: trimmed.len(),
        })
    } else {
        Ok(TaskSecret::from_bytes(trimmed.as_bytes()))
    };
    text.zeroize();
    loaded
}

/// Creates the secret file with new random bytes unless it exists. The content is written to
/// a private temporary file first and then linked into place, which fails if another process
/// got there first: readers never see a half-written secret, and every process ends up
/// reading the one file that won.
fn create_secret_file(data_dir: &Path, path: &Path) -> Result<(), TaskSecretError> {
    let io_error = |action, at: &Path| {
        let at = at.to_owned();
        move |source| TaskSecretError::Io {
            action,
            path: at,
            source,
        }
    };
    create_private_dir(data_dir).map_err(io_error("create the directory of", data_dir))?;
    let mut bytes = [0u8; GENERATED_SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(TaskSecretError::Random)?;
    let mut text = URL_SAFE_NO_PAD.encode(bytes);
    bytes.zeroize();
    text.push('\n');
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(TaskSecretError::Random)?;
    let temp = data_dir.join(format!(
        ".{SECRET_FILE}.{}.{}.tmp",
        std::process::id(),
        u64::from_le_bytes(nonce)
    ));
    let written = write_private(&temp, text.as_bytes());
    text.zeroize();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error("write", &temp)(err));
    }
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(io_error("create", path)(err)),
    }
}

/// Writes `bytes` to a new file only its owner can read, and flushes it to disk.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Creates `dir` and its parents; directories this creates are private (0700) on Unix.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Sets the file's mode to 0600 when group or others may use it (Unix; elsewhere a no-op).
fn tighten_mode(path: &Path, meta: &std::fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the task secret file was readable by others; restricting it to mode 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

#[cfg(test)]
mod tests;
