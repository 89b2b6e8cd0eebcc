use std::sync::{Arc, Barrier};

use proptest::prelude::*;

use super::*;

fn secret(fill: u8) -> TaskSecret {
    TaskSecret::from_bytes(&[fill; 32])
}

const OWNER: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_sealed_id_opens_for_its_owner() {
    let key = secret(7);
    let token = seal(&key, "881245093716582431", OWNER).unwrap();
    assert!(token.starts_with("kt1."), "{token}");
    assert!(token.len() <= MAX_TOKEN_LEN);
    assert_eq!(open(&key, &token, OWNER).unwrap(), "881245093716582431");
    // The server's own key has the empty owner; that binds too.
    let own = seal(&key, "42", "").unwrap();
    assert_eq!(open(&key, &own, "").unwrap(), "42");
    assert_eq!(open(&key, &own, OWNER), Err(Forged));
    // Sealing is deterministic: the same task gives the same id on every instance.
    assert_eq!(
        seal(&secret(7), "881245093716582431", OWNER).unwrap(),
        token
    );
}

#[test]
fn a_token_opens_for_no_other_owner_and_under_no_other_secret() {
    let token = seal(&secret(1), "881245093716582431", OWNER).unwrap();
    assert_eq!(
        open(&secret(1), &token, "ffffffffffffffffffffffffffffffff"),
        Err(Forged)
    );
    assert_eq!(open(&secret(2), &token, OWNER), Err(Forged));
    // The length prefixes keep (id, owner) pairs apart even when their bytes run together.
    let split = seal(&secret(1), "ab", "c").unwrap();
    let resealed = seal(&secret(1), "a", "bc").unwrap();
    assert_ne!(split.rsplit_once('.'), resealed.rsplit_once('.'));
}

#[test]
fn every_changed_character_makes_a_forgery() {
    let key = secret(3);
    let token = seal(&key, "881245093716582431", OWNER).unwrap();
    for (index, original) in token.char_indices() {
        for replacement in ['A', 'z', '0', '-', '_', '.', '='] {
            if replacement == original {
                continue;
            }
            let mut tampered = token.clone();
            tampered.replace_range(index..index + 1, &replacement.to_string());
            assert_eq!(open(&key, &tampered, OWNER), Err(Forged), "{tampered}");
        }
    }
    // Swapping in another task's id under the original tag is a forgery too.
    let other = seal(&key, "999", OWNER).unwrap();
    let (_, tag) = token.rsplit_once('.').unwrap();
    let (head, _) = other.rsplit_once('.').unwrap();
    assert_eq!(open(&key, &format!("{head}.{tag}"), OWNER), Err(Forged));
}

#[test]
fn garbage_and_huge_input_is_refused_without_panicking() {
    let key = secret(4);
    let valid = seal(&key, "42", OWNER).unwrap();
    let huge = format!("{valid}{}", "A".repeat(10_000_000));
    let long_id = format!("kt1.{}.{}", "A".repeat(4096), "A".repeat(43));
    let padded = format!("{valid}=");
    let unicode = valid.replace('k', "\u{212a}");
    for input in [
        "",
        "kt1.",
        "kt1..",
        "kt1...",
        "kt2.NDI.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "kt1.NDI.",
        "kt1..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "kt1.NDI.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x",
        "kt1.N+I.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "kt1.//8.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "881245093716582431",
        " kt1.NDI.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &huge,
        &long_id,
        &padded,
        &unicode,
    ] {
        assert_eq!(open(&key, input, OWNER), Err(Forged), "{input:.80}");
    }
    assert_eq!(seal(&key, "", OWNER), Err(Unsealable));
    let longest = "9".repeat(MAX_TASK_ID_BYTES);
    let token = seal(&key, &longest, OWNER).unwrap();
    assert_eq!(token.len(), MAX_TOKEN_LEN);
    assert_eq!(open(&key, &token, OWNER).unwrap(), longest);
    assert_eq!(seal(&key, &format!("{longest}9"), OWNER), Err(Unsealable));
}

proptest! {
    #[test]
    fn any_sealable_id_round_trips(id in "\\PC{1,40}", owner in "[0-9a-f]{0,32}") {
        let key = secret(5);
        if let Ok(token) = seal(&key, &id, &owner) {
            prop_assert_eq!(open(&key, &token, &owner), Ok(id));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(input in "\\PC{0,300}") {
        let _ = open(&secret(6), &input, OWNER);
        let _ = open(&secret(6), &format!("kt1.{input}"), OWNER);
    }
}

#[test]
fn the_secret_is_never_printed() {
    let key = TaskSecret::load(
        Some("a-very-secret-value-that-is-long-enough"),
        Path::new("/nonexistent"),
    )
    .unwrap();
    let printed = format!("{key:?}");
    assert_eq!(printed, "TaskSecret([redacted])");
    assert!(!printed.contains("secret-value"));
}

#[test]
fn an_environment_secret_wins_and_must_be_long_enough() {
    let dir = tempfile::tempdir().unwrap();
    let err = TaskSecret::load(Some("  too short  "), dir.path()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("KLING_MCP_TASK_SECRET"), "{message}");
    assert!(message.contains("9 bytes"), "{message}");
    assert!(TaskSecret::load(Some(""), dir.path()).is_err());
    assert!(TaskSecret::load(Some(&" ".repeat(40)), dir.path()).is_err());
    // Trimmed: surrounding whitespace (a trailing newline from a file) does not change it.
    let value = "x".repeat(MIN_SECRET_BYTES);
    let a = TaskSecret::load(Some(&value), dir.path()).unwrap();
    let b = TaskSecret::load(Some(&format!("\n{value}\n")), dir.path()).unwrap();
    assert_eq!(seal(&a, "1", OWNER), seal(&b, "1", OWNER));
    // No file is made when the environment sets the secret.
    assert!(!dir.path().join(SECRET_FILE).exists());
}

#[test]
fn the_generated_secret_is_made_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let first = TaskSecret::load(None, &data).unwrap();
    let second = TaskSecret::load(None, &data).unwrap();
    let token = seal(&first, "42", OWNER).unwrap();
    assert_eq!(open(&second, &token, OWNER).unwrap(), "42");
    let text = std::fs::read_to_string(data.join(SECRET_FILE)).unwrap();
    assert_eq!(text.trim().len(), 43, "32 random bytes as base64");
    // The file's content, used as the environment secret elsewhere, is the same secret.
    let from_env = TaskSecret::load(Some(&text), dir.path()).unwrap();
    assert_eq!(open(&from_env, &token, OWNER).unwrap(), "42");
    // Nothing is left behind but the secret.
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [SECRET_FILE]);
    // Another directory generates another secret.
    let other = TaskSecret::load(None, &dir.path().join("other")).unwrap();
    assert_eq!(open(&other, &token, OWNER), Err(Forged));
}

#[cfg(unix)]
#[test]
fn the_secret_file_is_private_and_a_looser_one_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    TaskSecret::load(None, dir.path()).unwrap();
    let path = dir.path().join(SECRET_FILE);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    TaskSecret::load(None, dir.path()).unwrap();
    assert_eq!(mode(&path), 0o600);
    // A directory it creates is private too.
    let fresh = dir.path().join("fresh");
    TaskSecret::load(None, &fresh).unwrap();
    assert_eq!(mode(&fresh), 0o700);
}

#[test]
fn a_damaged_secret_file_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SECRET_FILE);
    std::fs::write(&path, "torn-in-half\n").unwrap();
    let message = TaskSecret::load(None, dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("damaged") && message.contains("12 bytes"),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");
    std::fs::write(&path, "").unwrap();
    assert!(TaskSecret::load(None, dir.path()).is_err());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "",
        "left for a person to look at"
    );
    // Not a regular file.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    assert!(TaskSecret::load(None, dir.path()).is_err());
}

#[test]
fn racing_creators_agree_on_one_secret() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let threads = 8;
        let start = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (start, data) = (start.clone(), dir.path().to_owned());
                std::thread::spawn(move || {
                    start.wait();
                    let key = TaskSecret::load(None, &data).unwrap();
                    seal(&key, "42", OWNER).unwrap()
                })
            })
            .collect();
        let tokens: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{tokens:?}");
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 1, "temporary files are cleaned up");
    }
}
