//! Local image files as API inputs: a path or `file://` URI is resolved inside the allowed
//! roots, checked against the API's image limits from its header alone (never decoded), and
//! turned into the bare base64 the API takes.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use base64::Engine;

/// Largest image the API takes.
pub const MAX_IMAGE_BYTES: u64 = 10 * 1000 * 1000;
/// Shortest side the API takes, in pixels.
pub const MIN_IMAGE_SIDE: usize = 300;
/// Widest and tallest shape the API takes (width / height between 1/2.5 and 2.5).
pub const MAX_ASPECT: f64 = 2.5;

/// Directories local files may be read from, canonicalised (symlinks and `..` resolved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedRoots(Vec<PathBuf>);

impl AllowedRoots {
    /// The given directories; ones that do not exist are skipped with a warning.
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> Self {
        let mut roots = Self::default();
        roots.extend(dirs);
        roots
    }

    /// Adds directories (e.g. the client's MCP roots).
    pub fn extend(&mut self, dirs: impl IntoIterator<Item = PathBuf>) {
        for dir in dirs {
            match dir.canonicalize() {
                Ok(canonical) if canonical.is_dir() => {
                    if !self.0.contains(&canonical) {
                        self.0.push(canonical);
                    }
                }
                _ => {
                    tracing::warn!(dir = %dir.display(), "allowed directory does not exist; ignored");
                }
            }
        }
    }

    /// The roots, first one first (relative paths resolve against it).
    pub fn dirs(&self) -> &[PathBuf] {
        &self.0
    }

    fn contains(&self, path: &Path) -> bool {
        self.0.iter().any(|root| path.starts_with(root))
    }
}

impl fmt::Display for AllowedRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(|p| p.display().to_string()).collect();
        f.write_str(&list.join(", "))
    }
}

/// An image read from disk, ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The canonical path it was read from.
    pub path: PathBuf,
    /// `png` or `jpeg`, from the file's magic bytes.
    pub format: &'static str,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// File size.
    pub bytes: u64,
    /// Bare base64 (no `data:` prefix).
    pub base64: String,
}

impl fmt::Debug for LocalImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload is megabytes of base64; show its size instead.
        f.debug_struct("LocalImage")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("size", &(self.width, self.height))
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

/// Why a local image cannot be used. Each message says what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocalImageError {
    /// No allowed roots are configured.
    #[error(
        "local files are disabled: no allowed directories are configured (set KLING_MCP_ALLOWED_DIRS or --allow-dir)"
    )]
    NoRoots,
    /// A Windows path on another system, or a URI that is not a file path.
    #[error("{0:?} is not a path on this machine")]
    NotAPath(String),
    /// The file does not exist or cannot be read.
    #[error("{0} was not found or cannot be read")]
    NotFound(String),
    /// The path resolves outside every allowed root. Said the same whether or not the file
    /// exists, and without the resolved path, so the message cannot be used to probe the disk.
    #[error(
        "the path is outside the allowed directories; move the file into one of them, or allow its directory (--allow-dir)"
    )]
    OutsideRoots,
    /// Bigger than the API takes.
    #[error("the file has {0} bytes; the API takes at most 10 MB, so shrink or recompress it")]
    TooLarge(u64),
    /// Not PNG or JPEG by content, whatever its name says.
    #[error(
        "the file is not a PNG or JPEG image (checked by content, not name); convert it to PNG or JPEG"
    )]
    NotPngOrJpeg,
    /// A side is under the minimum.
    #[error("the image is {0}x{1} px; each side must be at least 300 px")]
    TooSmall(usize, usize),
    /// Too wide or too tall.
    #[error("the image is {0}x{1} px; the shape must be between 1:2.5 and 2.5:1, so crop it")]
    BadAspect(usize, usize),
}

/// Reads and checks a local image given as a path or `file://` URI.
pub fn load_image(input: &str, roots: &AllowedRoots) -> Result<LocalImage, LocalImageError> {
    find_image(input, roots)?.read()
}

/// A local image file that passed the path and size checks, not read yet: its size tells
/// what reading it will cost before any memory is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    path: PathBuf,
    shown: String,
    bytes: u64,
}

/// Resolves a path or `file://` URI inside the allowed roots and checks its size, without
/// reading it.
pub fn find_image(input: &str, roots: &AllowedRoots) -> Result<ImageFile, LocalImageError> {
    let first_root = roots.dirs().first().ok_or(LocalImageError::NoRoots)?;
    let path = to_path(input.trim(), first_root)?;
    let shown = path.display().to_string();
    let canonical = match path.canonicalize() {
        Ok(canonical) => canonical,
        // "Not found" only for a path that would be inside a root: outside them, a missing
        // file and an existing one get the same answer.
        Err(_) => {
            return Err(match resolve_missing(&path) {
                Some(resolved) if roots.contains(&resolved) => LocalImageError::NotFound(shown),
                _ => LocalImageError::OutsideRoots,
            });
        }
    };
    // Checked after canonicalising, so `..` and symlinks cannot lead out of a root.
    if !roots.contains(&canonical) {
        return Err(LocalImageError::OutsideRoots);
    }
    let metadata =
        std::fs::metadata(&canonical).map_err(|_| LocalImageError::NotFound(shown.clone()))?;
    if !metadata.is_file() {
        return Err(LocalImageError::NotFound(shown));
    }
    if metadata.len() > MAX_IMAGE_BYTES {
        return Err(LocalImageError::TooLarge(metadata.len()));
    }
    Ok(ImageFile {
        path: canonical,
        shown,
        bytes: metadata.len(),
    })
}

impl ImageFile {
    /// The size of its base64, the memory reading it takes.
    pub fn encoded_len(&self) -> u64 {
        self.bytes.div_ceil(3).saturating_mul(4)
    }

    /// Reads the file, checks its format and size from the header, and encodes it. The file
    /// is streamed into a string of the exact final size, so the only large allocation is the
    /// base64 itself (not the file's bytes as well).
    pub fn read(self) -> Result<LocalImage, LocalImageError> {
        let not_found = || LocalImageError::NotFound(self.shown.clone());
        let file = File::open(&self.path).map_err(|_| not_found())?;
        let mut reader = BufReader::new(file);
        let mut magic = [0u8; 8];
        reader
            .read_exact(&mut magic)
            .map_err(|_| LocalImageError::NotPngOrJpeg)?;
        let format = match magic {
            [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'] => "png",
            [0xFF, 0xD8, 0xFF, ..] => "jpeg",
            _ => return Err(LocalImageError::NotPngOrJpeg),
        };
        reader.rewind().map_err(|_| not_found())?;
        let size =
            imagesize::reader_size(&mut reader).map_err(|_| LocalImageError::NotPngOrJpeg)?;
        let (width, height) = (size.width, size.height);
        if width < MIN_IMAGE_SIDE || height < MIN_IMAGE_SIDE {
            return Err(LocalImageError::TooSmall(width, height));
        }
        let ratio = width as f64 / height as f64;
        if !(1.0 / MAX_ASPECT..=MAX_ASPECT).contains(&ratio) {
            return Err(LocalImageError::BadAspect(width, height));
        }
        reader.rewind().map_err(|_| not_found())?;
        let (base64, bytes) =
            encode_file(reader.into_inner(), self.encoded_len()).map_err(|err| match err {
                EncodeError::Io => not_found(),
                EncodeError::TooLarge(bytes) => LocalImageError::TooLarge(bytes),
            })?;
        Ok(LocalImage {
            path: self.path,
            format,
            width,
            height,
            bytes,
            base64,
        })
    }
}

/// Bytes read and encoded at a time: a multiple of 3, so the pieces' base64 joins up without
/// padding in between.
const ENCODE_CHUNK: usize = 3 * 64 * 1024;

enum EncodeError {
    Io,
    /// The file grew past the limit after its size was checked.
    TooLarge(u64),
}

/// The base64 of everything `file` holds from its current position, and its length in bytes.
fn encode_file(mut file: File, expected_len: u64) -> Result<(String, u64), EncodeError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let capacity = usize::try_from(expected_len).map_err(|_| EncodeError::Io)?;
    let mut encoded = String::with_capacity(capacity);
    let mut chunk = vec![0u8; ENCODE_CHUNK];
    let mut total: u64 = 0;
    loop {
        let filled = fill(&mut file, &mut chunk).map_err(|_| EncodeError::Io)?;
        total += filled as u64;
        if total > MAX_IMAGE_BYTES {
            return Err(EncodeError::TooLarge(total));
        }
        let Some(piece) = chunk.get(..filled) else {
            return Err(EncodeError::Io);
        };
        engine.encode_string(piece, &mut encoded);
        // A short chunk is the end of the file (and the only one that may need padding).
        if filled < chunk.len() {
            return Ok((encoded, total));
        }
    }
}

/// Reads until `buf` is full or the file ends; returns how much was read.
fn fill(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Where a path that does not exist would be: its deepest existing ancestor, canonicalised,
/// with the missing names appended. `None` when a missing part is `..` (it cannot be told).
fn resolve_missing(path: &Path) -> Option<PathBuf> {
    let mut existing = path;
    let mut missing = Vec::new();
    loop {
        if let Ok(mut resolved) = existing.canonicalize() {
            resolved.extend(missing.iter().rev());
            return Some(resolved);
        }
        missing.push(existing.file_name()?);
        existing = existing.parent()?;
    }
}

/// The directory local images may be read from when none is configured: the current
/// directory; when that is the filesystem root (Claude Desktop starts servers in `/`), the
/// home directory; when that is the root too, or unknown, none at all — allowing every file
/// on the machine would be far too much.
pub fn default_root(cwd: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let usable = |dir: &PathBuf| dir.parent().is_some();
    let chosen = cwd.filter(usable).or_else(|| home.filter(usable));
    if chosen.is_none() {
        tracing::warn!(
            "local images are disabled: started in / without a usable home directory; set --allow-dir DIR or KLING_MCP_ALLOWED_DIRS to allow a directory"
        );
    }
    chosen
}

/// The path of a `file://` URI (as MCP roots are given), if it is one.
pub fn path_from_file_uri(uri: &str) -> Option<PathBuf> {
    reqwest::Url::parse(uri).ok()?.to_file_path().ok()
}

/// The `file://` URI of an absolute path.
pub fn file_uri(path: &Path) -> Option<String> {
    reqwest::Url::from_file_path(path).ok().map(String::from)
}

/// A path from a `file://` URI, `~/…`, an absolute path, or one relative to `base`.
fn to_path(input: &str, base: &Path) -> Result<PathBuf, LocalImageError> {
    if input.starts_with("file:") {
        return path_from_file_uri(input)
            .ok_or_else(|| LocalImageError::NotAPath(input.to_owned()));
    }
    if is_windows_path(input) && !cfg!(windows) {
        return Err(LocalImageError::NotAPath(input.to_owned()));
    }
    if let Some(rest) = input
        .strip_prefix("~/")
        .or_else(|| input.strip_prefix("~\\"))
    {
        let home =
            std::env::home_dir().ok_or_else(|| LocalImageError::NotAPath(input.to_owned()))?;
        return Ok(home.join(rest));
    }
    let path = PathBuf::from(input);
    Ok(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

/// `C:\…`, `C:/…` or `\\server\share\…`.
fn is_windows_path(input: &str) -> bool {
    let bytes = input.as_bytes();
    let drive = bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.get(1) == Some(&b':')
        && matches!(bytes.get(2), Some(b'\\' | b'/'));
    drive || input.starts_with("\\\\")
}

#[cfg(test)]
mod tests;
