//! Errors of the task store: facts (what, where, whether it may pass), no advice text.

use std::path::PathBuf;

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or written right now (database down, disk read-only or
    /// full, locked too long); the same call may succeed later.
    #[error("the task store ({location}) is unavailable: {reason}")]
    Unavailable {
        /// Where the store is (never a password).
        location: String,
        /// What failed.
        reason: String,
    },
    /// The SQLite file is not a database, or is damaged.
    #[error("the task store file {} is damaged or not a database ({reason})", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// The store was created by a newer version of this program.
    #[error(
        "the task store ({location}) has schema version {found}; this version knows up to {supported}"
    )]
    TooNew {
        /// Where the store is.
        location: String,
        /// The store's version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// The SQLite file, its folder, or a file SQLite keeps beside it may be changed by
    /// another user (who could then read every prompt and plant records): refused, like ssh
    /// refuses a key file others can write.
    #[error("the task store is not safe to use: {0}; it was not opened")]
    Exposed(crate::private_fs::Exposed),
    /// A live task already uses this external id.
    #[error(
        "external_task_id \"{external_task_id}\" is already used by another task in the task store"
    )]
    ExternalIdTaken {
        /// The id.
        external_task_id: String,
    },
}

impl StoreError {
    /// The stable kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "store_unavailable",
            Self::Damaged { .. } => "store_damaged",
            Self::TooNew { .. } => "store_too_new",
            Self::Exposed(_) => "store_exposed",
            Self::ExternalIdTaken { .. } => "duplicate_external_task_id",
        }
    }

    /// Whether the same call may succeed later without anyone changing anything.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
