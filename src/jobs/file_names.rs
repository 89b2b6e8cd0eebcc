//! The names downloaded videos are saved under: `<task_id>.mp4`, `<task_id>-2.mp4`, … for the
//! ids CometAPI and the simulator give, and a reversible escape for anything else, so two
//! different (task, video) pairs never share a file (`s:dl8` and `sdl8` once both became
//! `sdl8.mp4`, and the second task's video replaced the first's).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Longest escaped stem kept as it is; a longer one (an id of 128 colons escapes to 384
/// bytes) is named by its hash instead, so the name and its temporary name
/// (`.<name>.<32 hex>.partial`) stay under the 255-byte limit of common file systems.
const MAX_STEM_BYTES: usize = 180;

/// The file name of video `index` (0 for the first) of task `task_id`. Injective over
/// (`task_id`, `index`): see [`stem`] for how an id is escaped, and the first video has no
/// suffix while later ones end in `-<n>` (n ≥ 2), which no escaped id ends in.
pub(super) fn file_name(task_id: &str, index: usize) -> String {
    let stem = stem(task_id);
    match index {
        0 => format!("{stem}.mp4"),
        n => format!("{stem}-{}.mp4", n.saturating_add(1)),
    }
}

/// The id itself when it is made of letters, digits, `-` and `_` and does not end in
/// `-<digits>` (every CometAPI and simulator id today); otherwise every other byte becomes
/// `~` and two hex digits (`.` → `~2e`, `:` → `~3a`), as does the `-` of a trailing
/// `-<digits>`, which would otherwise read as a video number. `~` is no id character, so an
/// escaped stem never equals an unescaped one, and the escape decodes back to the id. A stem
/// past [`MAX_STEM_BYTES`] is `~h` and the id's SHA-256 instead; the empty id is `~`.
fn stem(task_id: &str) -> String {
    if task_id.is_empty() {
        return "~".to_owned();
    }
    let number_dash = trailing_number_dash(task_id);
    let mut stem = String::with_capacity(task_id.len());
    for (at, byte) in task_id.bytes().enumerate() {
        let plain = byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-';
        if plain && Some(at) != number_dash {
            stem.push(char::from(byte));
        } else {
            let _ = write!(stem, "~{byte:02x}");
        }
    }
    if stem.len() > MAX_STEM_BYTES {
        let digest = Sha256::digest(task_id.as_bytes());
        let mut hashed = String::from("~h");
        for byte in digest {
            let _ = write!(hashed, "{byte:02x}");
        }
        return hashed;
    }
    stem
}

/// Where the `-` of a trailing `-<digits>` is, if the id ends in one.
fn trailing_number_dash(id: &str) -> Option<usize> {
    let digits = id.bytes().rev().take_while(u8::is_ascii_digit).count();
    let dash = id.len().checked_sub(digits + 1)?;
    (digits > 0 && id.as_bytes().get(dash) == Some(&b'-')).then_some(dash)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ordinary_ids_keep_their_names() {
        assert_eq!(file_name("881245093716582431", 0), "881245093716582431.mp4");
        assert_eq!(
            file_name("881245093716582431", 1),
            "881245093716582431-2.mp4"
        );
        assert_eq!(
            file_name("sim-mxbc1gdg-48p3x6gtfq_p3", 0),
            "sim-mxbc1gdg-48p3x6gtfq_p3.mp4"
        );
    }

    /// The reported pair, and the pairs the `-<n>` suffix could confuse.
    #[test]
    fn ids_that_sanitizing_once_merged_get_their_own_names() {
        assert_eq!(file_name("sdl8", 0), "sdl8.mp4");
        assert_eq!(file_name("s:dl8", 0), "s~3adl8.mp4");
        assert_eq!(file_name("s.dl8", 0), "s~2edl8.mp4");
        assert_eq!(file_name("sim-a", 1), "sim-a-2.mp4");
        assert_eq!(file_name("sim-a-2", 0), "sim-a~2d2.mp4");
        assert_ne!(file_name("a-2", 1), file_name("a", 1));
    }

    #[test]
    fn names_stay_inside_the_directory_and_short() {
        assert_eq!(
            file_name("../../etc/passwd", 0),
            "~2e~2e~2f~2e~2e~2fetc~2fpasswd.mp4"
        );
        assert_eq!(file_name("..", 0), "~2e~2e.mp4");
        assert_eq!(file_name("", 0), "~.mp4");
        let long = file_name(&":".repeat(128), 3);
        assert!(long.starts_with("~h") && long.len() < 80, "{long}");
        assert!(!long.contains('/'));
    }

    fn id_char() -> impl Strategy<Value = char> {
        // Mostly the characters ids are made of, with the ones that need escaping common.
        prop_oneof![
            4 => prop::sample::select(vec!['a', 'b', '8', '9', '0', '1', '2']),
            3 => prop::sample::select(vec!['-', '_', '.', ':', '~']),
            1 => any::<char>(),
        ]
    }

    fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(id_char(), 0..12).prop_map(|c| c.into_iter().collect()),
            // Long ids reach the hashed form.
            prop::collection::vec(prop::sample::select(vec![':', '.', 'a']), 60..130)
                .prop_map(|c| c.into_iter().collect()),
        ]
    }

    proptest! {
        /// Two different (id, index) pairs never get one name, and no name leaves the directory.
        #[test]
        fn names_are_injective(pairs in prop::collection::vec((id(), 0usize..4), 1..40)) {
            let mut seen: HashMap<String, (String, usize)> = HashMap::new();
            for (id, index) in pairs {
                let name = file_name(&id, index);
                prop_assert!(!name.contains('/') && !name.starts_with('.'), "{}", name);
                prop_assert!(name.len() <= 200, "{}", name);
                if let Some(before) = seen.insert(name.clone(), (id.clone(), index)) {
                    prop_assert_eq!(before, (id, index), "{}", name);
                }
            }
        }

        /// The plain part of a name is the id itself exactly when the id needs no escape.
        #[test]
        fn plain_ids_are_their_own_stems(id in "[a-z0-9_-]{1,20}") {
            let escaped = stem(&id).contains('~');
            prop_assert_eq!(escaped, trailing_number_dash(&id).is_some());
        }
    }
}
