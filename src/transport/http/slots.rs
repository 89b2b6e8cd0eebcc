//! The table of open HTTP connections behind the connection cap: which have a request in
//! flight, and which wait for one (oldest first), so the longest-waiting can be displaced.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

/// The open connections, and which of them wait for a request (oldest first).
pub(super) struct Table {
    max: usize,
    state: Mutex<TableState>,
}

#[derive(Default)]
struct TableState {
    next_id: u64,
    next_turn: u64,
    open: HashMap<u64, Entry>,
    /// Connections with no request in flight, by the turn they started waiting.
    waiting: BTreeMap<u64, u64>,
}

struct Entry {
    displaced: CancellationToken,
    requests: usize,
    waiting_turn: Option<u64>,
}

impl Table {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            state: Mutex::default(),
        }
    }

    /// Connections open now (with a request in flight or waiting for one).
    pub(super) fn open(&self) -> usize {
        self.lock().open.len()
    }

    fn lock(&self) -> MutexGuard<'_, TableState> {
        crate::lock(&self.state)
    }

    /// A slot for a new connection, displacing the longest-waiting idle one when full;
    /// `None` when every open connection has a request in flight.
    pub(super) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut state = self.lock();
        if state.open.len() >= self.max {
            let (_, oldest) = state.waiting.pop_first()?;
            if let Some(entry) = state.open.remove(&oldest) {
                entry.displaced.cancel();
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        let turn = state.next_turn;
        state.next_turn += 1;
        let displaced = CancellationToken::new();
        state.waiting.insert(turn, id);
        state.open.insert(
            id,
            Entry {
                displaced: displaced.clone(),
                requests: 0,
                waiting_turn: Some(turn),
            },
        );
        Some(Slot {
            table: self.clone(),
            id,
            displaced,
        })
    }
}

/// A connection's place in the [`Table`]; freed on drop.
pub(super) struct Slot {
    table: Arc<Table>,
    id: u64,
    /// Cancelled when a newer connection takes this one's place.
    pub(super) displaced: CancellationToken,
}

impl Slot {
    /// Marks a request in flight until the returned guard drops.
    pub(super) fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.table.lock();
        let turn = state.open.get_mut(&self.id).and_then(|entry| {
            entry.requests += 1;
            entry.waiting_turn.take()
        });
        if let Some(turn) = turn {
            state.waiting.remove(&turn);
        }
        RequestGuard(self.clone())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.table.lock();
        if let Some(turn) = state.open.remove(&self.id).and_then(|e| e.waiting_turn) {
            state.waiting.remove(&turn);
        }
    }
}

/// A request in flight on a connection; when the last one ends, the connection waits again.
pub(super) struct RequestGuard(Arc<Slot>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut guard = self.0.table.lock();
        let state = &mut *guard;
        let turn = state.next_turn;
        let Some(entry) = state.open.get_mut(&self.0.id) else {
            return;
        };
        entry.requests = entry.requests.saturating_sub(1);
        if entry.requests == 0 && entry.waiting_turn.is_none() {
            entry.waiting_turn = Some(turn);
            state.next_turn += 1;
            state.waiting.insert(turn, self.0.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_displaces_the_longest_waiting_connection_never_a_busy_one() {
        let table = Arc::new(Table::new(2));
        let first = Arc::new(table.admit().unwrap());
        let second = Arc::new(table.admit().unwrap());
        let busy = first.request_started();
        // `second` waits, `first` is busy: the third connection displaces `second`.
        let third = Arc::new(table.admit().unwrap());
        assert!(second.displaced.is_cancelled());
        assert!(!first.displaced.is_cancelled());
        // Both remaining connections busy: the next one is refused.
        let _busy_third = third.request_started();
        assert!(table.admit().is_none());
        // `first` finishes its request and waits again: it can be displaced now.
        drop(busy);
        let _fourth = table.admit().unwrap();
        assert!(first.displaced.is_cancelled());
        assert!(!third.displaced.is_cancelled());
    }

    #[test]
    fn closed_connections_free_their_slot() {
        let table = Arc::new(Table::new(1));
        let only = table.admit().unwrap();
        drop(only);
        let again = Arc::new(table.admit().unwrap());
        assert!(!again.displaced.is_cancelled());
        assert_eq!(table.lock().open.len(), 1);
    }
}
