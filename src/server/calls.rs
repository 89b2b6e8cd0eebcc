//! The limit on calls one caller runs at once (`--max-calls`): tool calls and resource reads,
//! counted per caller across every session and every stateless (2026-07-28) request, since
//! those get a fresh server each and a per-session count would never refuse one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Callers whose limits are kept before the idle ones are dropped: client keys can be made up,
/// so the table must not grow with every key ever sent.
const PRUNE_AT: usize = 1024;

/// The running calls of each caller.
#[derive(Debug)]
pub(super) struct CallLimits {
    max: usize,
    callers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl CallLimits {
    /// At most `max` calls at once per caller.
    pub(super) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            callers: Mutex::default(),
        }
    }

    /// The most calls one caller may run at once.
    pub(super) fn max(&self) -> usize {
        self.max
    }

    /// A slot for one more call of `caller`, held until dropped; `None` when the caller
    /// already runs its maximum.
    pub(super) fn try_start(&self, caller: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut callers = crate::lock(&self.callers);
            if callers.len() >= PRUNE_AT && !callers.contains_key(caller) {
                // A permit holds its semaphore: one held only here has no call running.
                callers.retain(|_, calls| Arc::strong_count(calls) > 1);
            }
            callers
                .entry(caller.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max)))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_slots_and_a_finished_call_frees_one() {
        let limits = CallLimits::new(2);
        let first = limits.try_start("a").unwrap();
        let _second = limits.try_start("a").unwrap();
        assert!(limits.try_start("a").is_none());
        assert!(limits.try_start("b").is_some());
        drop(first);
        assert!(limits.try_start("a").is_some());
    }

    #[test]
    fn made_up_callers_do_not_grow_the_table_without_bound() {
        let limits = CallLimits::new(1);
        let running = limits.try_start("busy").unwrap();
        for n in 0..3 * PRUNE_AT {
            drop(limits.try_start(&format!("key-{n}")));
        }
        assert!(crate::lock(&limits.callers).len() <= PRUNE_AT + 1);
        // A caller with a call running keeps its count through the pruning.
        assert!(limits.try_start("busy").is_none());
        drop(running);
    }
}
