//! Where things live by default (per-user data and video directories, the task store and
//! the old journal to import); kept apart from `config.rs` so each stays small.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::store::StoreLocation;

/// The user's Videos folder (or data directory), in a `kling-omni-mcp` subfolder.
pub(crate) fn default_output_dir() -> PathBuf {
    let videos =
        directories::UserDirs::new().and_then(|dirs| dirs.video_dir().map(Path::to_path_buf));
    let data = || project_dirs().map(|dirs| dirs.data_dir().join("videos"));
    videos
        .map(|dir| dir.join("kling-omni-mcp"))
        .or_else(data)
        .unwrap_or_else(|| PathBuf::from("kling-omni-mcp-videos"))
}

/// The store, the journal to import, and deprecation notes, from `--store` and the
/// deprecated `--journal`.
pub(crate) fn store_settings(
    store: Option<String>,
    journal: Option<String>,
) -> Result<(StoreLocation, Option<PathBuf>, Vec<String>), ConfigError> {
    let data_dir = project_dirs().map(|dirs| dirs.data_dir().to_path_buf());
    let mut deprecations = Vec::new();
    let journal = journal
        .map(|j| j.trim().to_owned())
        .filter(|j| !j.is_empty());
    let journal_off = journal
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case("off"));
    let legacy_journal = match &journal {
        Some(_) if journal_off => {
            deprecations.push("KLING_MCP_JOURNAL/--journal off is deprecated: set KLING_MCP_STORE=off (or --store off) instead".to_owned());
            None
        }
        Some(path) => {
            deprecations.push(format!("KLING_MCP_JOURNAL/--journal is deprecated: the journal {path} is imported into the task store once; set KLING_MCP_STORE (or --store) to choose the store and drop the journal setting"));
            Some(PathBuf::from(path))
        }
        None => data_dir.as_ref().map(|dir| dir.join("tasks.jsonl")),
    };
    let store = match store {
        Some(value) => StoreLocation::parse(&value)?,
        None if journal_off => StoreLocation::Memory,
        None => data_dir.map_or(StoreLocation::Memory, |dir| {
            StoreLocation::Sqlite(dir.join("tasks.sqlite3"))
        }),
    };
    // Importing into memory would rename the journal for nothing: the next start with a
    // real store must still find it.
    let legacy_journal = legacy_journal.filter(|_| !matches!(store, StoreLocation::Memory));
    Ok((store, legacy_journal, deprecations))
}

/// The per-user data directory of this program, when the platform has one.
pub(crate) fn data_dir() -> Option<PathBuf> {
    project_dirs().map(|dirs| dirs.data_dir().to_path_buf())
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "kling-omni-mcp")
}

/// The current directory, or home when that is `/`; none when both are `/` (see
/// [`crate::local_images::default_root`]).
pub(crate) fn default_root() -> Option<PathBuf> {
    crate::local_images::default_root(std::env::current_dir().ok(), std::env::home_dir())
}
