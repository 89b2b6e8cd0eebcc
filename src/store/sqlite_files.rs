//! The files of a SQLite store on disk: who may change them (refused when anyone but this
//! user, or root, may), and creating them private to this user.

use std::path::{Path, PathBuf};

use super::StoreError;

/// Refuses a store another user may change: the file, its folder (whoever may write there
/// can swap the file), and the side files SQLite keeps there (`-wal`, `-shm`, `-journal`:
/// a planted, writable `-wal` is read as part of the database). Checked at every open.
pub(super) fn check_private(file: &Path) -> Result<(), StoreError> {
    let dir = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.to_owned(),
        None => PathBuf::from("."),
    };
    let mut paths = vec![dir, file.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        paths.push(PathBuf::from(side));
    }
    for path in paths {
        crate::private_fs::check(&path).map_err(StoreError::Exposed)?;
    }
    Ok(())
}

/// Creates the directory (private to this user, when this creates it) and an empty file
/// readable by its owner only (the WAL and shared memory files SQLite adds take the same mode).
pub(super) fn prepare_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            // Tasks and URLs are nobody else's business, whoever created the file.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    options.open(path).map(drop)
}
