use std::fs;

use base64::Engine;

use super::*;

/// A PNG header (signature + IHDR) with the given size: enough for type and size detection.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    data.extend(width.to_be_bytes());
    data.extend(height.to_be_bytes());
    data.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    data
}

/// A baseline JPEG header (SOI, APP0, SOF0) with the given size.
pub(crate) fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    data.extend(b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    data.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
    data.extend(height.to_be_bytes());
    data.extend(width.to_be_bytes());
    data.extend([
        0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9,
    ]);
    data
}

struct Dirs {
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Self {
        Self {
            root: tempfile::tempdir().unwrap(),
            outside: tempfile::tempdir().unwrap(),
        }
    }

    fn roots(&self) -> AllowedRoots {
        AllowedRoots::new([self.root.path().to_path_buf()])
    }

    fn write(&self, name: &str, data: &[u8]) -> String {
        let path = self.root.path().join(name);
        fs::write(&path, data).unwrap();
        path.display().to_string()
    }
}

#[test]
fn png_and_jpeg_are_read_and_sent_as_bare_base64() {
    let dirs = Dirs::new();
    let png_data = png(1280, 720);
    let image = load_image(&dirs.write("a.png", &png_data), &dirs.roots()).unwrap();
    assert_eq!(
        (image.format, image.width, image.height),
        ("png", 1280, 720)
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&image.base64)
        .unwrap();
    assert_eq!(decoded, png_data);
    assert!(!image.base64.starts_with("data:"));

    let image = load_image(&dirs.write("b.jpg", &jpeg(600, 900)), &dirs.roots()).unwrap();
    assert_eq!(
        (image.format, image.width, image.height),
        ("jpeg", 600, 900)
    );
    assert!(
        !format!("{image:?}").contains(&image.base64),
        "Debug hides the payload"
    );
}

#[test]
fn relative_paths_and_file_uris_resolve_inside_the_first_root() {
    let dirs = Dirs::new();
    let absolute = dirs.write("c.png", &png(500, 500));
    assert_eq!(load_image("c.png", &dirs.roots()).unwrap().width, 500);
    assert_eq!(load_image("./c.png", &dirs.roots()).unwrap().width, 500);
    let uri = reqwest::Url::from_file_path(&absolute).unwrap().to_string();
    assert_eq!(load_image(&uri, &dirs.roots()).unwrap().width, 500);
}

#[test]
fn content_not_extension_decides_the_type() {
    let dirs = Dirs::new();
    let fake = dirs.write("fake.png", b"this is just text pretending to be a picture");
    assert_eq!(
        load_image(&fake, &dirs.roots()),
        Err(LocalImageError::NotPngOrJpeg)
    );
    let gif = dirs.write(
        "x.png",
        b"GIF89a\x2c\x01\x2c\x01\x00\x00\x00\x00\x00\x00\x00\x00",
    );
    assert_eq!(
        load_image(&gif, &dirs.roots()),
        Err(LocalImageError::NotPngOrJpeg)
    );
}

#[test]
fn api_limits_are_checked_from_the_header() {
    let dirs = Dirs::new();
    let cases = [
        (
            "small.png",
            png(299, 800),
            LocalImageError::TooSmall(299, 800),
        ),
        (
            "wide.png",
            png(2600, 1000),
            LocalImageError::BadAspect(2600, 1000),
        ),
        (
            "tall.jpg",
            jpeg(400, 1001),
            LocalImageError::BadAspect(400, 1001),
        ),
    ];
    for (name, data, expected) in cases {
        assert_eq!(
            load_image(&dirs.write(name, &data), &dirs.roots()),
            Err(expected),
            "{name}"
        );
    }
    // Exactly 2.5:1 and 300 px are allowed.
    assert!(load_image(&dirs.write("edge.png", &png(750, 300)), &dirs.roots()).is_ok());
}

#[test]
fn files_over_10_mb_are_refused_without_reading_them() {
    let dirs = Dirs::new();
    let path = dirs.write("huge.png", &png(1000, 1000));
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(MAX_IMAGE_BYTES + 1)
        .unwrap();
    assert_eq!(
        load_image(&path, &dirs.roots()),
        Err(LocalImageError::TooLarge(MAX_IMAGE_BYTES + 1))
    );
}

#[test]
fn paths_outside_the_roots_are_refused_however_they_are_spelled() {
    let dirs = Dirs::new();
    let outside = dirs.outside.path().join("secret.png");
    fs::write(&outside, png(800, 800)).unwrap();
    let roots = dirs.roots();
    let outside_name = outside.file_name().unwrap().to_str().unwrap();
    let outside_dir = dirs.outside.path().file_name().unwrap().to_str().unwrap();
    let traversal = format!("../{outside_dir}/{outside_name}");
    let absolute_traversal = format!(
        "{}/../{outside_dir}/{outside_name}",
        dirs.root.path().display()
    );
    for input in [outside.display().to_string(), traversal, absolute_traversal] {
        let err = load_image(&input, &roots).unwrap_err();
        assert!(
            matches!(err, LocalImageError::OutsideRoots),
            "{input}: {err:?}"
        );
        assert!(err.to_string().contains("outside the allowed directories"));
    }
}

#[test]
fn outside_the_roots_a_missing_file_and_an_existing_one_look_the_same() {
    let dirs = Dirs::new();
    let existing = dirs.outside.path().join("secret.png");
    fs::write(&existing, png(800, 800)).unwrap();
    let missing = dirs.outside.path().join("no-such.png");
    let roots = dirs.roots();
    let a = load_image(&existing.display().to_string(), &roots).unwrap_err();
    let b = load_image(&missing.display().to_string(), &roots).unwrap_err();
    assert_eq!(a, LocalImageError::OutsideRoots);
    assert_eq!(a.to_string(), b.to_string());
    let outside_dir = dirs.outside.path().display().to_string();
    assert!(!a.to_string().contains(&outside_dir), "{a}");
    // Inside a root, a missing file is reported as such.
    let err = load_image("sub/none.png", &roots).unwrap_err();
    assert!(matches!(err, LocalImageError::NotFound(_)), "{err:?}");
}

#[test]
fn the_default_root_is_never_the_filesystem_root() {
    let (root, home, work) = (
        PathBuf::from("/"),
        PathBuf::from("/home/me"),
        PathBuf::from("/work"),
    );
    assert_eq!(
        default_root(Some(work.clone()), Some(home.clone())),
        Some(work)
    );
    assert_eq!(
        default_root(Some(root.clone()), Some(home.clone())),
        Some(home)
    );
    assert_eq!(default_root(Some(root.clone()), Some(root.clone())), None);
    assert_eq!(default_root(Some(root), None), None);
}

#[cfg(unix)]
#[test]
fn a_symlink_that_escapes_a_root_is_refused() {
    let dirs = Dirs::new();
    let outside = dirs.outside.path().join("secret.png");
    fs::write(&outside, png(800, 800)).unwrap();
    let link = dirs.root.path().join("innocent.png");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let err = load_image(&link.display().to_string(), &dirs.roots()).unwrap_err();
    assert!(matches!(err, LocalImageError::OutsideRoots), "{err:?}");
    // A symlink that stays inside the root is fine.
    let target = dirs.write("real.png", &png(800, 800));
    let inner = dirs.root.path().join("alias.png");
    std::os::unix::fs::symlink(&target, &inner).unwrap();
    assert!(load_image(&inner.display().to_string(), &dirs.roots()).is_ok());
}

#[test]
fn missing_files_windows_paths_on_unix_and_no_roots() {
    let dirs = Dirs::new();
    let err = load_image("nope.png", &dirs.roots()).unwrap_err();
    assert!(matches!(err, LocalImageError::NotFound(_)), "{err:?}");
    if !cfg!(windows) {
        for input in ["C:\\Users\\me\\a.png", "\\\\server\\share\\a.png"] {
            assert_eq!(
                load_image(input, &dirs.roots()),
                Err(LocalImageError::NotAPath(input.into()))
            );
        }
    }
    assert_eq!(
        load_image("a.png", &AllowedRoots::default()),
        Err(LocalImageError::NoRoots)
    );
    assert_eq!(
        load_image("file://host-only", &dirs.roots())
            .unwrap_err()
            .to_string(),
        "\"file://host-only\" is not a path on this machine"
    );
}

#[test]
fn missing_root_directories_are_skipped() {
    let dirs = Dirs::new();
    let roots = AllowedRoots::new([
        dirs.root.path().join("missing"),
        dirs.root.path().to_path_buf(),
    ]);
    assert_eq!(roots.dirs().len(), 1);
}

#[test]
fn files_stream_into_base64_of_the_exact_size_across_chunk_boundaries() {
    let dirs = Dirs::new();
    for extra in [
        0,
        1,
        2,
        3,
        ENCODE_CHUNK - 1,
        ENCODE_CHUNK,
        2 * ENCODE_CHUNK + 2,
    ] {
        let mut data = png(1280, 720);
        data.extend((0..extra).map(|i| (i * 7 + 3) as u8));
        let name = format!("{extra}.png");
        let file = find_image(&dirs.write(&name, &data), &dirs.roots()).unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode(&data);
        assert_eq!(file.encoded_len(), expected.len() as u64, "{extra}");
        let image = file.read().unwrap();
        assert_eq!(image.base64, expected, "{extra}");
        assert_eq!(image.bytes, data.len() as u64);
        // One allocation of the final size: no doubling, no spare copy.
        assert_eq!(image.base64.capacity(), expected.len(), "{extra}");
    }
}

#[test]
fn a_file_that_grows_past_the_limit_after_the_check_is_refused() {
    let dirs = Dirs::new();
    let path = dirs.write("growing.png", &png(1000, 1000));
    let file = find_image(&path, &dirs.roots()).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(MAX_IMAGE_BYTES + 1)
        .unwrap();
    assert_eq!(
        file.read(),
        Err(LocalImageError::TooLarge(MAX_IMAGE_BYTES + 1))
    );
}
