//! An HTTP client built on first use. Building one loads the platform's root certificates,
//! the largest part of a cold start and of an idle server's memory; a stdio server that only
//! answers `initialize` and `tools/list`, or never downloads, never pays for it.

use std::sync::{Arc, OnceLock};

/// Builds the client, with the settings of its owner.
type Build = dyn Fn() -> Result<reqwest::Client, reqwest::Error> + Send + Sync;

/// A `reqwest::Client` built once, on first use. Cheap to clone: clones share it.
#[derive(Clone)]
pub(crate) struct LazyHttp {
    cell: Arc<OnceLock<Result<reqwest::Client, String>>>,
    build: Arc<Build>,
}

impl LazyHttp {
    /// A client that `build` makes when it is first needed.
    pub(crate) fn new(
        build: impl Fn() -> Result<reqwest::Client, reqwest::Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            cell: Arc::default(),
            build: Arc::new(build),
        }
    }

    /// The client, built now if this is the first call; the setup error (the TLS stack could
    /// not be initialised) as text otherwise, every time.
    pub(crate) fn get(&self) -> Result<&reqwest::Client, String> {
        self.cell
            .get_or_init(|| {
                // reqwest is built without a bundled crypto provider; ring is the light
                // choice. An `Err` only means a provider is already installed.
                let _ = rustls::crypto::ring::default_provider().install_default();
                (self.build)().map_err(|err| err.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl std::fmt::Debug for LazyHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyHttp")
            .field("built", &self.cell.get().is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_once_on_first_use_and_clones_share_it() {
        let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = builds.clone();
        let lazy = LazyHttp::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            reqwest::Client::builder().build()
        });
        let clone = lazy.clone();
        assert_eq!(
            builds.load(std::sync::atomic::Ordering::Relaxed),
            0,
            "nothing at start"
        );
        assert!(lazy.get().is_ok());
        assert!(clone.get().is_ok());
        assert_eq!(builds.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}
