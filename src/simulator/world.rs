//! Task ids of the simulator's own world (`--simulate`). Each id carries its creation time and
//! its scenario (the `[sim:…]` directives that shape its life), so any simulator — in another
//! process, or after a restart — answers for a task it never saw created, as far along as its
//! age says. Ids never collide with each other (creation time plus 52 random bits) nor with
//! CometAPI's, which are digits: `sim-<ms>-<random>[_<directive>…]`, base 36 (characters a
//! saved file's name keeps as they are).

use crate::comet::SIMULATED_ID_PREFIX;

/// Most videos a task rebuilt from its id lists: an id anyone can type must not make every
/// answer megabytes long (the `[sim:videos=N]` directive, in the creating process, goes further).
const MAX_VIDEOS: u32 = 100;

/// Most polls an id may ask for before its task finishes.
const MAX_POLLS: u32 = 1_000_000;

/// What shapes a simulated task's life, as carried in its id. A `[sim:video_url=…]` URL is
/// not carried (it stays with the process that created the task): an id someone types must
/// not be able to point a download anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Scenario {
    /// The task finishes on this poll (at least 1).
    pub(super) polls: u32,
    /// It fails instead of succeeding.
    pub(super) fails: bool,
    /// Its replies use the older wrapper shape.
    pub(super) wrapper: bool,
    /// Its wrapper reply carries the URL only in `fail_reason`.
    pub(super) url_in_fail_reason: bool,
    /// How many videos it lists (at least 1).
    pub(super) videos: u32,
    /// Its video URLs redirect to the files.
    pub(super) redirect: bool,
    /// This video (1-based) answers 403, like an expired link.
    pub(super) expired: Option<u32>,
}

/// A new id for a task created at `created_at_ms` (Unix ms) living `scenario`.
pub(super) fn new_id(created_at_ms: i64, scenario: &Scenario) -> String {
    let created = u64::try_from(created_at_ms).unwrap_or_default();
    // 36^10 > 2^51: ten base-36 digits of randomness per millisecond.
    let random = fastrand::u64(..3_656_158_440_062_976);
    let mut id = format!(
        "{SIMULATED_ID_PREFIX}{}-{:0>10}",
        base36(created),
        base36(random)
    );
    let flags = [
        (scenario.fails, "f"),
        (scenario.wrapper, "w"),
        (scenario.url_in_fail_reason, "u"),
        (scenario.redirect, "r"),
    ];
    for (set, token) in flags {
        if set {
            id.push('_');
            id.push_str(token);
        }
    }
    let numbers = [
        // Always written, so an id keeps the finish it was made with whatever the default
        // of the simulator that reads it.
        ('p', Some(scenario.polls)),
        ('v', Some(scenario.videos).filter(|&n| n != 1)),
        ('x', scenario.expired),
    ];
    for (token, value) in numbers {
        if let Some(value) = value {
            id.push_str(&format!("_{token}{value}"));
        }
    }
    id
}

/// The creation time and scenario an id carries; `None` for anything that is not such an id.
pub(super) fn parse_id(id: &str) -> Option<(i64, Scenario)> {
    let rest = id.strip_prefix(SIMULATED_ID_PREFIX)?;
    let mut parts = rest.split('_');
    let (created, random) = parts.next()?.split_once('-')?;
    let created = i64::try_from(from_base36(created)?).ok()?;
    from_base36(random)?;
    let mut scenario = Scenario {
        polls: 0,
        fails: false,
        wrapper: false,
        url_in_fail_reason: false,
        videos: 1,
        redirect: false,
        expired: None,
    };
    for token in parts {
        let (name, value) = token.split_at_checked(1)?;
        let number = || value.parse::<u32>().ok();
        match (name, value) {
            ("f", "") => scenario.fails = true,
            ("w", "") => scenario.wrapper = true,
            ("u", "") => scenario.url_in_fail_reason = true,
            ("r", "") => scenario.redirect = true,
            ("p", _) => scenario.polls = number()?.clamp(1, MAX_POLLS),
            ("v", _) => scenario.videos = number()?.clamp(1, MAX_VIDEOS),
            ("x", _) => scenario.expired = Some(number()?),
            _ => return None,
        }
    }
    // An id always says when its task finishes.
    (scenario.polls > 0).then_some((created, scenario))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS.get((n % 36) as usize).copied().unwrap_or(b'0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A base-36 number of 1-13 digits (lowercase).
fn from_base36(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 13 {
        return None;
    }
    text.chars().try_fold(0u64, |n, c| {
        let digit = c.to_digit(36).filter(|_| !c.is_ascii_uppercase())?;
        n.checked_mul(36)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario {
            polls: 3,
            fails: false,
            wrapper: false,
            url_in_fail_reason: false,
            videos: 1,
            redirect: false,
            expired: None,
        }
    }

    #[test]
    fn an_id_carries_its_creation_time_and_scenario() {
        let plain = scenario();
        let id = new_id(1_795_510_859_356, &plain);
        assert!(id.starts_with("sim-"), "{id}");
        assert!(crate::comet::TaskId::parse(&id).is_ok(), "{id}");
        assert_eq!(parse_id(&id), Some((1_795_510_859_356, plain)));
        let odd = Scenario {
            polls: 7,
            fails: true,
            wrapper: true,
            url_in_fail_reason: true,
            videos: 3,
            redirect: true,
            expired: Some(2),
        };
        let id = new_id(5, &odd);
        assert_eq!(parse_id(&id), Some((5, odd)));
        assert!(id.len() <= 64, "{id}");
    }

    #[test]
    fn ids_do_not_collide() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_id(1, &scenario())).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn anything_else_is_not_a_simulated_id() {
        for id in [
            "880000000000000001",
            "sim-",
            "sim-abc",
            "sim-abc-",
            "sim--x",
            "sim-abc-def",
            "sim-abc-def_p3_q",
            "sim-abc-def_p3_f1",
            "sim-abc-def_pX",
            "sim-ABC-def_p3",
            "sim-zzzzzzzzzzzzzz-def_p3",
            "sim-abc-def_p3_",
        ] {
            assert_eq!(parse_id(id), None, "{id}");
        }
        // Huge numbers are held to the directives' bounds.
        let (_, s) = parse_id("sim-1-2_p4294967295_v4294967295").unwrap();
        assert_eq!((s.polls, s.videos), (MAX_POLLS, MAX_VIDEOS));
    }
}
