//! Files and folders no other user may change, checked the way ssh checks its keys: the task
//! store (and the folder and side files SQLite keeps beside it) is refused when another user
//! owns it or may write it, since that user could read every prompt and plant records; and
//! what this program creates (folders, the store, downloaded videos) is private to its user.

use std::io;
use std::path::{Path, PathBuf};

/// Why a file or folder is not safe to trust: facts only (the fix is worded by the front
/// doors, see [`Exposed::fix`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}", path.display(), self.problem())]
pub struct Exposed {
    /// The file or folder.
    pub path: PathBuf,
    /// Its owner's user id.
    pub owner: u32,
    /// Its permission bits.
    pub mode: u32,
    /// This process's effective user id.
    pub user: u32,
}

impl Exposed {
    /// What is wrong, in words: who else may change it.
    fn problem(&self) -> String {
        let mut problems = Vec::new();
        if self.mode & 0o022 != 0 {
            problems.push(format!(
                "can be written by other users (mode {:04o})",
                self.mode & 0o7777
            ));
        }
        if !owner_trusted(self.owner, self.user) {
            problems.push(format!(
                "belongs to another user (uid {}; this process runs as uid {})",
                self.owner, self.user
            ));
        }
        problems.join(" and ")
    }

    /// The shell command that makes it safe, for a person or an operator.
    pub fn fix(&self) -> String {
        let path = shell_quote(&self.path);
        let mut steps = Vec::new();
        if !owner_trusted(self.owner, self.user) {
            steps.push(format!("chown {} {path}", self.user));
        }
        if self.mode & 0o022 != 0 {
            steps.push(format!("chmod go-w {path}"));
        }
        format!(
            "{} (as its owner or root), or run kling-omni-mcp as its owner, or use a store elsewhere (--store / KLING_MCP_STORE)",
            steps.join(" && ")
        )
    }
}

/// Whether a file or folder owned by `owner`, with permission bits `mode`, is safe for user
/// `user` to trust: nobody but its owner may write it (group and others may not: the group
/// may hold other people), and its owner is this user or root (root can change anything on
/// the machine anyway, as ssh reasons). A root-owned store that this user cannot write is
/// opened read-only, as any store this user cannot write is.
pub(crate) fn judge(owner: u32, mode: u32, user: u32) -> Result<(), (u32, u32)> {
    match mode & 0o022 == 0 && owner_trusted(owner, user) {
        true => Ok(()),
        false => Err((owner, mode)),
    }
}

fn owner_trusted(owner: u32, user: u32) -> bool {
    owner == user || owner == 0
}

/// Checks `path` with [`judge`] (following a symbolic link to what it names); a path that
/// does not exist is fine (it will be created private). Elsewhere than Unix, nothing to check.
pub(crate) fn check(path: &Path) -> Result<(), Exposed> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let user = rustix::process::geteuid().as_raw();
        judge(meta.uid(), meta.mode(), user).map_err(|(owner, mode)| Exposed {
            path: path.to_owned(),
            owner,
            mode,
            user,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Creates `dir` and any missing parents, each private to this user (0700 on Unix). A folder
/// that exists already is left as it is: it may be one the user chose and shares on purpose.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates a new file only this user may read (0600 on Unix), refusing one that exists or a
/// symbolic link in its place.
pub(crate) fn create_new_private(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Opens an existing regular file for writing without ever blocking or following a link: a
/// FIFO or device someone put there (a FIFO's open for writing waits for a reader forever)
/// is refused, never opened.
pub(crate) fn open_regular_for_write(path: &Path) -> io::Result<std::fs::File> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(not_regular());
    }
    #[cfg(unix)]
    let file = {
        use rustix::fs::{Mode, OFlags};
        // Checked above, and again on the handle: the name may be swapped in between.
        let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        std::fs::File::from(rustix::fs::open(path, flags, Mode::empty())?)
    };
    #[cfg(not(unix))]
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(not_regular()),
    }
}

/// Opens a regular file for reading (following a link) without blocking: a FIFO or device in
/// its place is refused (opened for reading, a FIFO waits for a writer).
pub(crate) fn open_regular_for_read(path: &Path) -> io::Result<std::fs::File> {
    #[cfg(unix)]
    let file = {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        std::fs::File::from(rustix::fs::open(path, flags, Mode::empty())?)
    };
    #[cfg(not(unix))]
    let file = std::fs::File::open(path)?;
    match file.metadata()?.is_file() {
        true => Ok(file),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        )),
    }
}

/// `path` quoted for a POSIX shell when it needs to be.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    match plain && !text.is_empty() {
        true => text,
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 1000;
    const OTHER: u32 = 1001;

    /// (owner, mode) → trusted by user 1000; the decision ssh makes for its keys.
    #[test]
    fn only_files_no_one_else_may_change_are_trusted() {
        for (owner, mode, trusted) in [
            (ME, 0o100600, true),
            (ME, 0o100644, true),
            (ME, 0o040700, true),
            (ME, 0o040755, true),
            (0, 0o100644, true),
            (0, 0o040755, true),
            (ME, 0o100666, false),
            (ME, 0o100620, false),
            (ME, 0o100602, false),
            (ME, 0o040775, false),
            (ME, 0o041777, false),
            (0, 0o041777, false),
            (0, 0o100666, false),
            (OTHER, 0o100600, false),
            (OTHER, 0o100644, false),
            (OTHER, 0o100666, false),
            (OTHER, 0o040700, false),
        ] {
            assert_eq!(
                judge(owner, mode, ME).is_ok(),
                trusted,
                "owner {owner}, mode {mode:o}"
            );
        }
        // Root trusts only what root owns (or could change anyway, but another user can too).
        assert!(judge(0, 0o100600, 0).is_ok());
        assert!(judge(OTHER, 0o100600, 0).is_err());
    }

    #[test]
    fn the_fix_names_the_command() {
        let exposed = |owner, mode| Exposed {
            path: PathBuf::from("/srv/k/tasks.sqlite3"),
            owner,
            mode,
            user: ME,
        };
        let open = exposed(ME, 0o100666);
        assert!(open.to_string().contains("mode 0666"), "{open}");
        assert!(open.fix().starts_with("chmod go-w /srv/k/tasks.sqlite3"));
        let foreign = exposed(OTHER, 0o100666);
        assert!(foreign.to_string().contains("uid 1001"), "{foreign}");
        assert!(
            foreign
                .fix()
                .starts_with("chown 1000 /srv/k/tasks.sqlite3 && chmod go-w"),
            "{}",
            foreign.fix()
        );
        assert_eq!(shell_quote(Path::new("/a b/it's")), r"'/a b/it'\''s'");
    }

    #[cfg(unix)]
    #[test]
    fn a_world_writable_file_is_refused_and_a_fifo_never_opened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = check(&file).unwrap_err();
        assert_eq!(err.mode & 0o777, 0o666);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        check(&file).unwrap();
        check(&dir.path().join("missing")).unwrap();

        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // No reader: an open for writing that did not refuse would block here for ever.
        let err = open_regular_for_write(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular_for_write(&link).is_err());
        open_regular_for_write(&file).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn created_folders_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        create_dir_all(&deep).unwrap();
        for made in [dir.path().join("a"), deep.clone()] {
            let mode = std::fs::metadata(&made).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", made.display());
        }
        let file = create_new_private(&deep.join("v.mp4")).unwrap();
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        assert!(create_new_private(&deep.join("v.mp4")).is_err());
    }
}
