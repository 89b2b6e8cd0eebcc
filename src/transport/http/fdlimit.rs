//! Fitting the connection cap to the open-file limit. Every connection is a file descriptor;
//! with the cap above what the process may open (`ulimit -n 256` under the default 4096),
//! `accept` failed with "too many open files" and `/healthz` probes went unanswered while idle
//! sockets held every descriptor. At start the soft limit is raised to the hard one (what any
//! process may do), and the cap lowered to what then fits, keeping room for the store, the
//! upstream connections, downloads and the listeners.

/// Descriptors kept for everything but client connections: the store (and its journal), the
/// upstream and download connections, video files, the listeners, the runtime's own.
pub(super) const FD_HEADROOM: u64 = 64;

/// `requested`, or less when the open-file limit (raised to the hard limit first) cannot hold
/// it next to `reserved` more connections and [`FD_HEADROOM`]; says so once in the log.
pub(super) fn fit_connections(requested: usize, reserved: usize) -> usize {
    let Some(limit) = raise_open_file_limit() else {
        return requested;
    };
    let fits = limit.saturating_sub(FD_HEADROOM + reserved as u64).max(1);
    let fits = usize::try_from(fits).unwrap_or(usize::MAX);
    if requested <= fits {
        return requested;
    }
    tracing::warn!(
        requested,
        max_connections = fits,
        fd_limit = limit,
        "connection cap lowered to fit the open-file limit; raise `ulimit -n` (or LimitNOFILE= in a systemd unit) to allow more"
    );
    fits
}

/// Raises the soft open-file limit to the hard one; the limit now in force (`None`: no limit,
/// or not known on this platform).
#[cfg(unix)]
fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    if limit.maximum.is_none_or(|max| max > current) {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                tracing::debug!(from = current, to = ?limit.maximum, "open-file limit raised to the hard limit");
                return limit.maximum;
            }
            // macOS refuses more than OPEN_MAX for an unlimited hard limit: keep the soft one.
            Err(err) => tracing::debug!(%err, current, "open-file limit not raised"),
        }
    }
    Some(current)
}

#[cfg(not(unix))]
fn raise_open_file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_open_file_limit() {
        let limit = raise_open_file_limit();
        let Some(limit) = limit else {
            assert_eq!(fit_connections(usize::MAX, 8), usize::MAX);
            return;
        };
        let fitted = fit_connections(usize::MAX, 8) as u64;
        assert_eq!(fitted, limit.saturating_sub(FD_HEADROOM + 8).max(1));
        assert_eq!(fit_connections(10, 8), 10, "a cap that fits stays");
    }
}
