//! The session table behind `--max-sessions`: which caller opened each session, when it was
//! last used and whether a request is in flight on it. A full table makes room by closing the
//! least recently used idle session of the caller holding the most, so neither one caller's
//! idle `initialize`s nor its busy sessions beyond its share can keep another caller out.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};

/// The open sessions and the opens under way, by caller.
pub(super) struct Sessions {
    max: usize,
    /// Sessions a caller may hold once the table is full; beyond it, its own sessions make way.
    share: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Orders uses: a higher turn is a more recent use.
    turn: u64,
    open: HashMap<String, Owner>,
    /// Session opens under way (checked, not yet answered), by caller.
    opening: HashMap<String, usize>,
}

struct Owner {
    caller: String,
    last_used: u64,
    in_flight: usize,
}

/// Why a session cannot be opened now.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The table is full and no session may make way.
    Full {
        /// `--max-sessions`.
        max: usize,
    },
    /// The caller holds its share and every one of its sessions is in use.
    CallerFull {
        /// The caller's share.
        share: usize,
        /// `--max-sessions`.
        max: usize,
    },
}

impl Refusal {
    /// The message for the 503.
    pub(super) fn message(&self) -> String {
        match self {
            Self::Full { max } => format!(
                "too many open sessions (limit {max}, all in use); close idle clients or try again later"
            ),
            Self::CallerFull { share, max } => format!(
                "too many open sessions for this caller (its share is {share} of the {max} of --max-sessions, all in use); end one (DELETE /mcp) or try again later"
            ),
        }
    }
}

impl Sessions {
    /// A table of at most `max` sessions; each caller's share is half of it (at least one).
    pub(super) fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            max,
            share: (max / 2).max(1),
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }

    /// Room for one more session of `caller`, and the session to close first to make it.
    /// `live` says whether a session still exists (idle expiry and `DELETE` end them behind
    /// this table's back); `live_count` is how many exist.
    pub(super) fn admit(
        self: &Arc<Self>,
        caller: &str,
        live: impl Fn(&str) -> bool,
        live_count: usize,
    ) -> Result<(Opening, Option<String>), Refusal> {
        let mut state = self.lock();
        state.open.retain(|id, _| live(id));
        let opening: usize = state.opening.values().sum();
        let total = live_count.max(state.open.len()) + opening;
        let victim = if total < self.max {
            None
        } else {
            Some(self.victim(&state, caller)?)
        };
        if let Some(id) = &victim {
            state.open.remove(id);
        }
        *state.opening.entry(caller.to_owned()).or_default() += 1;
        let opening = Opening {
            sessions: self.clone(),
            caller: caller.to_owned(),
        };
        Ok((opening, victim))
    }

    /// The session to close for a new one of `caller` in a full table. A caller at its share
    /// gives up its own least recently used idle session. Any other takes one from the caller
    /// holding the most: its least recently used idle session, or, when that caller holds more
    /// than its share, its least recently used one even if busy.
    fn victim(&self, state: &State, caller: &str) -> Result<String, Refusal> {
        let mut held: HashMap<&str, usize> = HashMap::new();
        for owner in state.open.values() {
            *held.entry(owner.caller.as_str()).or_default() += 1;
        }
        let opening = |c: &str| state.opening.get(c).copied().unwrap_or(0);
        let own = held.get(caller).copied().unwrap_or(0) + opening(caller);
        let at_share = own >= self.share;
        let candidates = state.open.iter().filter(|(_, owner)| {
            let count = held.get(owner.caller.as_str()).copied().unwrap_or(0);
            match at_share {
                true => owner.caller == caller && owner.in_flight == 0,
                false => owner.in_flight == 0 || count > self.share,
            }
        });
        // The biggest holder first, then its idle sessions, then the least recently used.
        let chosen = candidates.min_by_key(|(_, owner)| {
            let count = held.get(owner.caller.as_str()).copied().unwrap_or(0);
            (
                std::cmp::Reverse(count),
                owner.in_flight > 0,
                owner.last_used,
            )
        });
        match chosen {
            Some((id, _)) => Ok(id.clone()),
            None if at_share => Err(Refusal::CallerFull {
                share: self.share,
                max: self.max,
            }),
            None => Err(Refusal::Full { max: self.max }),
        }
    }

    /// Marks a request on session `id` in flight until the returned guard drops; `None` for a
    /// session this table does not know.
    pub(super) fn request_started(self: &Arc<Self>, id: &str) -> Option<Busy> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let owner = state.open.get_mut(id)?;
        owner.in_flight += 1;
        owner.last_used = state.turn;
        state.turn += 1;
        Some(Busy {
            sessions: self.clone(),
            id: id.to_owned(),
        })
    }
}

/// A session open under way: counted against its caller and the table until dropped.
pub(super) struct Opening {
    sessions: Arc<Sessions>,
    caller: String,
}

impl Opening {
    /// The session was opened as `id`: it now counts as open, just used.
    pub(super) fn opened(self, id: &str) {
        let mut guard = self.sessions.lock();
        let state = &mut *guard;
        let owner = Owner {
            caller: self.caller.clone(),
            last_used: state.turn,
            in_flight: 0,
        };
        state.turn += 1;
        state.open.insert(id.to_owned(), owner);
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        let mut state = self.sessions.lock();
        if let Some(count) = state.opening.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.opening.remove(&self.caller);
            }
        }
    }
}

/// A request in flight on a session; when it ends, the session was just used.
pub(super) struct Busy {
    sessions: Arc<Sessions>,
    id: String,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut guard = self.sessions.lock();
        let state = &mut *guard;
        let turn = state.turn;
        if let Some(owner) = state.open.get_mut(&self.id) {
            owner.in_flight = owner.in_flight.saturating_sub(1);
            owner.last_used = turn;
            state.turn += 1;
        }
    }
}

/// A response body that keeps its session busy until it ends: an SSE stream is a request in
/// flight for as long as the client listens to it.
pub(super) struct HeldBody {
    inner: Body,
    _busy: Busy,
}

impl HeldBody {
    /// `body`, holding `busy` until it is dropped.
    pub(super) fn new(inner: Body, busy: Busy) -> Self {
        Self { inner, _busy: busy }
    }
}

impl http_body::Body for HeldBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Admits and opens a session `id` of `caller`, with every known session still live.
    fn open(table: &Arc<Sessions>, caller: &str, id: &str) -> Option<String> {
        let live = table.lock().open.len();
        let (opening, victim) = table.admit(caller, |_| true, live).unwrap();
        opening.opened(id);
        victim
    }

    #[test]
    fn one_caller_fills_the_table_then_makes_way_for_itself_and_for_others() {
        let table = Arc::new(Sessions::new(4));
        for n in 0..4 {
            assert_eq!(open(&table, "a", &format!("a{n}")), None);
        }
        // Full: `a` (at its share) gives up its least recently used idle session.
        let _busy = table.request_started("a0").unwrap();
        assert_eq!(open(&table, "a", "a4"), Some("a1".to_owned()));
        // Another caller takes one of `a`'s (idle first, least recently used).
        assert_eq!(open(&table, "b", "b0"), Some("a2".to_owned()));
        assert_eq!(table.lock().open.len(), 4);
    }

    #[test]
    fn busy_sessions_beyond_a_share_still_make_way_for_another_caller() {
        let table = Arc::new(Sessions::new(4));
        let mut busy = Vec::new();
        for n in 0..4 {
            let id = format!("a{n}");
            open(&table, "a", &id);
            busy.push(table.request_started(&id).unwrap());
        }
        // `a` holds all four, every one busy: it cannot open a fifth.
        let refused = table.admit("a", |_| true, 4).err().unwrap();
        assert_eq!(refused, Refusal::CallerFull { share: 2, max: 4 });
        assert!(refused.message().contains("too many open sessions"));
        // `b` has none: `a` is over its share, so its least recently used session goes.
        assert_eq!(open(&table, "b", "b0"), Some("a0".to_owned()));
        assert_eq!(open(&table, "b", "b1"), Some("a1".to_owned()));
        // Now `a` holds its share (two, busy) and so does `b` (two, idle): `c` takes from the
        // biggest holder's idle sessions first; both hold two, `b`'s are the idle ones.
        assert_eq!(open(&table, "c", "c0"), Some("b0".to_owned()));
    }

    #[test]
    fn a_full_table_of_callers_within_their_share_and_all_busy_refuses() {
        let table = Arc::new(Sessions::new(2));
        open(&table, "a", "a0");
        open(&table, "b", "b0");
        let _a = table.request_started("a0").unwrap();
        let _b = table.request_started("b0").unwrap();
        let refused = table.admit("c", |_| true, 2).err().unwrap();
        assert_eq!(refused, Refusal::Full { max: 2 });
    }

    #[test]
    fn opens_under_way_count_and_ended_sessions_free_their_place() {
        let table = Arc::new(Sessions::new(2));
        let (first, _) = table.admit("a", |_| true, 0).unwrap();
        let (second, _) = table.admit("b", |_| true, 0).unwrap();
        // Two opens under way fill the table; nothing is open yet to make way.
        assert!(table.admit("c", |_| true, 0).is_err());
        drop(first);
        second.opened("b0");
        let (third, victim) = table.admit("c", |_| true, 1).unwrap();
        assert_eq!(victim, None);
        third.opened("c0");
        // `b0` ended behind the table's back (idle expiry): it is no longer counted.
        let (_, victim) = table.admit("d", |id| id != "b0", 1).unwrap();
        assert_eq!(victim, None);
        assert!(table.request_started("b0").is_none());
    }
}
