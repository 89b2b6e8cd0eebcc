//! Where things live by default (per-user data and video directories, the task store and
//! the old journal to import); kept apart from the settings themselves (`config/mod.rs`) so
//! each stays small.

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::store::StoreLocation;

/// The default output directory in words, as `--help`, the README and the `.mcpb` manifest say
/// it (a test holds them to it).
pub const DEFAULT_OUTPUT_DIR_TEXT: &str = "your Videos folder, in kling-omni-mcp/";

/// The output directory: `--output-dir`, else `KLING_MCP_OUTPUT_DIR`, else the default. An
/// empty value or a `${…}` placeholder a client left unexpanded (a Claude Desktop bundle whose
/// optional folder was left blank) means "not set", not a folder of that name.
pub(crate) fn output_dir(flag: Option<PathBuf>, env: Option<String>) -> PathBuf {
    chosen_output_dir(flag, env).unwrap_or_else(default_output_dir)
}

/// The output directory the flag or the variable names, when one of them really does (an
/// empty value or a bundle host's unfilled `${…}` names none).
pub(crate) fn chosen_output_dir(flag: Option<PathBuf>, env: Option<String>) -> Option<PathBuf> {
    let set = |value: &str| {
        let value = value.trim();
        let placeholder = value.starts_with("${") && value.ends_with('}');
        !value.is_empty() && !placeholder
    };
    flag.filter(|p| set(&p.to_string_lossy()))
        .or_else(|| env.filter(|v| set(v)).map(PathBuf::from))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(name: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
    }

    #[test]
    fn an_unset_empty_or_unexpanded_output_dir_means_the_default() {
        let default = default_output_dir();
        assert_eq!(output_dir(None, None), default);
        assert_eq!(output_dir(None, Some(String::new())), default);
        assert_eq!(
            output_dir(None, Some("${user_config.output_dir}".into())),
            default
        );
        assert_eq!(
            output_dir(None, Some("/tmp/env".into())),
            PathBuf::from("/tmp/env")
        );
        assert_eq!(
            output_dir(Some("/tmp/flag".into()), Some("/tmp/env".into())),
            PathBuf::from("/tmp/flag")
        );
    }

    /// The README, the `.mcpb` manifest and `--help` name the folder the code computes (and
    /// `doctor` shows): the manifest once said `${DOWNLOADS}/kling-omni-mcp`.
    #[test]
    fn the_default_output_dir_is_one_answer_everywhere() {
        if let Some(videos) =
            directories::UserDirs::new().and_then(|dirs| dirs.video_dir().map(Path::to_path_buf))
        {
            assert_eq!(default_output_dir(), videos.join("kling-omni-mcp"));
        }
        assert!(DEFAULT_OUTPUT_DIR_TEXT.contains("Videos folder"));
        assert!(DEFAULT_OUTPUT_DIR_TEXT.contains("kling-omni-mcp/"));
        let readme = repo_file("README.md");
        let row = readme
            .lines()
            .find(|line| line.starts_with("| `KLING_MCP_OUTPUT_DIR`"))
            .unwrap();
        assert!(row.contains(DEFAULT_OUTPUT_DIR_TEXT), "README: {row}");
        let manifest: serde_json::Value =
            serde_json::from_str(&repo_file("packaging/mcpb/manifest.json")).unwrap();
        let field = &manifest["user_config"]["output_dir"];
        // A default here would be what Claude Desktop passes, overriding the server's own.
        assert!(field.get("default").is_none(), "manifest: {field}");
        assert_eq!(field["required"], false);
        let description = field["description"].as_str().unwrap();
        assert!(
            description.contains(DEFAULT_OUTPUT_DIR_TEXT),
            "manifest: {description}"
        );
        let help = repo_file("src/cli/flags/mod.rs");
        assert!(
            help.contains(&format!("[default: {DEFAULT_OUTPUT_DIR_TEXT}]")),
            "--help"
        );
    }
}
