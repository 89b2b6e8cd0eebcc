//! A simulated CometAPI (Kling Omni Video) on a loopback port: both endpoints, the real request
//! rules, both reply shapes, status progression, failing tasks and every documented error body.
//! It backs every test and `--simulate`; the client reaches it only through its URL.
//!
//! Scenarios are chosen per task with directives in the prompt:
//! `[sim:fail]` (the task fails), `[sim:error=1102]` (the create is refused with that Kling
//! code; also `quota`, `token`, `html`), `[sim:wrapper]` (replies in the older wrapper shape),
//! `[sim:url_in_fail_reason]` (wrapper success with the URL only in `fail_reason`),
//! `[sim:polls=N]` (finish on the N-th poll), `[sim:hang]` (the task is created but the reply
//! never comes). For downloads: `[sim:videos=N]` (the result lists N videos),
//! `[sim:video_url=URL]` (its video URL is URL: a hostile upstream), `[sim:redirect]` (the video
//! URLs redirect to the files), `[sim:expired=N]` (the N-th video answers 403). Tests also
//! script transport faults with [`Simulator::inject`], and make it echo the caller's key with
//! `SimConfig::echo_key`.
//!
//! As a fake CometAPI (tests) it numbers its tasks like Kling and keeps them in memory. As the
//! `--simulate` world ([`SimConfig::world`]) its ids carry each task's creation time and
//! scenario (see `world.rs`), so any simulator on the machine, in any process or after a
//! restart, follows any simulated task; the served video is a real, playable MP4.

mod bodies;
mod faults;
#[cfg(test)]
mod proptests;
mod quota;
mod request_log;
mod routes;
mod rules;
mod rules_v3;
mod world;

pub use request_log::elided;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

/// How the simulator behaves unless a prompt directive says otherwise.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// A task finishes on this poll (1 = the first query already sees it finished).
    pub finish_after_polls: u32,
    /// A task also finishes once this much time has passed since its creation.
    pub finish_after: Option<Duration>,
    /// Each this much of a task's age counts as one poll, so a task asked about by a process
    /// that did not create it (or after a restart) is as far along as its age says.
    pub age_per_poll: Option<Duration>,
    /// Give `sim-` ids that carry each task's creation time and scenario, and answer for
    /// such ids whoever made them: the `--simulate` world. Otherwise Kling-like numbered ids
    /// known to this simulator only (a fake CometAPI for tests).
    pub simulated_ids: bool,
    /// When set, only `Authorization: Bearer <this>` is accepted; otherwise any key is.
    pub required_key: Option<String>,
    /// Answer queries in the older wrapper shape instead of the native one.
    pub wrapper_shape: bool,
    /// Echo the caller's `Authorization` header (after a newline) in 401 bodies, scripted
    /// errors, HTML error pages and failure reasons: a misbehaving upstream, for leak tests.
    pub echo_key: bool,
    /// What a finished task's `final_unit_deduction` says; `None` leaves the field out.
    pub units: Option<String>,
    /// What `GET /user/quota` answers: the account balance in USD, or `None` for a 401 as a
    /// refused key gets.
    pub balance_usd: Option<f64>,
    /// When set, `GET /user/quota` accepts only `?key=<this>`; otherwise the key `required_key`
    /// names, or any key.
    pub quota_key: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            finish_after_polls: 3,
            finish_after: None,
            age_per_poll: None,
            simulated_ids: false,
            required_key: None,
            wrapper_shape: false,
            echo_key: false,
            // As CometAPI's own example reply (fixtures/comet/query_succeed.json).
            units: Some("8".into()),
            balance_usd: Some(25.0),
            quota_key: None,
        }
    }
}

impl SimConfig {
    /// The simulator behind `--simulate`: its own world of `sim-` tasks that any process can
    /// follow, each finishing on its third poll or once it is about 9 s old.
    pub fn world() -> Self {
        Self {
            age_per_poll: Some(Duration::from_secs(3)),
            simulated_ids: true,
            // Nothing is charged here, and the replies say so.
            units: Some("0".into()),
            ..Self::default()
        }
    }
}

/// The video every simulated task serves: a real 2-second H.264 MP4 (320×180, 26 KB), made
/// once with ffmpeg 5.1 and committed (`src/simulator/assets/README.md` says how).
pub const SAMPLE_MP4: &[u8] = include_bytes!("assets/sample.mp4");

/// The length of [`SAMPLE_MP4`] in seconds, as the simulator's replies report it.
pub const SAMPLE_MP4_SECONDS: &str = "2.000";

/// One request the simulator received, for tests to inspect.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path, e.g. `/kling/v1/videos/omni-video`.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The body, when it was JSON; strings over 1 MiB (image payloads) as [`elided`] shows them.
    pub body: Option<Value>,
}

/// Which endpoint a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST …/omni-video`.
    Create,
    /// `GET …/omni-video/{id}`.
    Query,
    /// `GET /_sim/videos/…` (result downloads).
    Video,
}

/// A scripted failure, for fault-injection tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with Kling code 1303 (a retryable concurrency limit) and `Retry-After: 0`.
    RateLimited,
    /// HTTP 429 with Kling code 1303 and `Retry-After` of this many whole seconds, as a busy
    /// upstream that asks for a long pause.
    RateLimitedFor(Duration),
    /// HTTP 500 with code 5000; nothing was created.
    ServerError,
    /// The task is created, but the reply is HTTP 500 (the ambiguous case for a create).
    ServerErrorAfterCreate,
    /// Answer normally, but only after this long (longer than the client timeout: a timeout).
    Delay(Duration),
    /// The connection breaks in the middle of the body.
    Reset,
    /// HTTP 200 and the start of a body, then nothing more: a body that never ends.
    StallBody,
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// HTTP 502 with an HTML error page, as a proxy in front of the API would send.
    HtmlError,
    /// HTTP 200 with a 2 MB body (larger than any real reply).
    Huge,
    /// HTTP 200 whose body starts and then never ends (a stalled transfer).
    Stall,
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Simulator {
    url: reqwest::Url,
    state: Arc<State>,
    _shutdown: oneshot::Sender<()>,
}

impl Simulator {
    /// Starts a simulator on `127.0.0.1` with an OS-chosen port.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a simulator on `addr`.
    pub async fn start_on(addr: SocketAddr, config: SimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let url = reqwest::Url::parse(&format!("http://{local}"))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let state = Arc::new(State {
            config,
            origin: url.as_str().trim_end_matches('/').to_owned(),
            tasks: Mutex::default(),
            log: Mutex::default(),
            next_id: AtomicU64::new(0),
            served: tokio::sync::watch::Sender::new(0),
            faults: Mutex::default(),
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = routes::router(state.clone());
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::error!(%err, "simulator stopped");
            }
        });
        tracing::info!(%url, "simulated CometAPI listening");
        Ok(Self {
            url,
            state,
            _shutdown: shutdown,
        })
    }

    /// The origin to use as `COMETAPI_BASE_URL`.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.log).clone()
    }

    /// Makes the next `times` requests to `endpoint` fail with `fault`.
    pub fn inject(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        lock(&self.state.faults).push((endpoint, fault, times));
    }

    /// Disarms every scripted fault.
    pub fn clear_faults(&self) {
        lock(&self.state.faults).clear();
    }

    /// How many tasks were created.
    pub fn task_count(&self) -> usize {
        lock(&self.state.tasks).len()
    }

    /// How many requests were received for `path_suffix` (e.g. a task id).
    pub fn requests_for(&self, path_suffix: &str) -> usize {
        lock(&self.state.log)
            .iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .count()
    }

    /// The created tasks as (task id, external id), in creation order.
    pub fn tasks(&self) -> Vec<(String, Option<String>)> {
        let mut tasks: Vec<_> = lock(&self.state.tasks)
            .values()
            .map(|t| (t.created_at_ms, t.id.clone(), t.external_task_id.clone()))
            .collect();
        tasks.sort();
        tasks.into_iter().map(|(_, id, ext)| (id, ext)).collect()
    }

    /// Waits until `done` holds for the requests received so far: tests synchronise on what
    /// the simulator served, never on time.
    pub async fn wait_until(&self, done: impl Fn(&[RecordedRequest]) -> bool) {
        let mut served = self.state.served.subscribe();
        loop {
            if done(&lock(&self.state.log)) {
                return;
            }
            if served.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until at least `count` tasks exist.
    pub async fn wait_for_tasks(&self, count: usize) {
        let mut served = self.state.served.subscribe();
        while self.task_count() < count {
            if served.changed().await.is_err() {
                return;
            }
        }
    }

    /// How many create requests were received.
    pub fn create_count(&self) -> usize {
        lock(&self.state.log)
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    }
}

/// Shared server state.
#[derive(Debug)]
struct State {
    config: SimConfig,
    origin: String,
    tasks: Mutex<HashMap<String, SimTask>>,
    log: Mutex<Vec<RecordedRequest>>,
    next_id: AtomicU64,
    /// Bumped after each request is logged and each task is created, to wake waiters.
    served: tokio::sync::watch::Sender<usize>,
    faults: Mutex<Vec<(Endpoint, Fault, u32)>>,
}

impl State {
    /// The next scripted fault for `endpoint`, if any is left.
    fn take_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let entry = faults
            .iter_mut()
            .find(|(e, _, left)| *e == endpoint && *left > 0)?;
        entry.2 -= 1;
        Some(entry.1)
    }
}

/// A simulated task.
#[derive(Debug, Clone)]
struct SimTask {
    id: String,
    external_task_id: Option<String>,
    created_at_ms: i64,
    polls: u32,
    finish_after_polls: u32,
    fails: bool,
    wrapper: bool,
    url_in_fail_reason: bool,
    /// What the finished task's video list looks like.
    videos: VideoPlan,
}

impl SimTask {
    /// A task created at `created_at_ms` living `scenario`, not polled yet.
    fn new(
        id: String,
        external_task_id: Option<String>,
        created_at_ms: i64,
        scenario: &world::Scenario,
    ) -> Self {
        Self {
            id,
            external_task_id,
            created_at_ms,
            polls: 0,
            finish_after_polls: scenario.polls,
            fails: scenario.fails,
            wrapper: scenario.wrapper,
            url_in_fail_reason: scenario.url_in_fail_reason,
            videos: VideoPlan {
                count: scenario.videos,
                url: None,
                redirect: scenario.redirect,
                expired: scenario.expired,
            },
        }
    }
}

/// The video list of a finished simulated task.
#[derive(Debug, Clone, Default)]
struct VideoPlan {
    /// How many videos (at least 1).
    count: u32,
    /// Name this URL instead of the simulator's own files.
    url: Option<String>,
    /// Route the URLs through a redirect.
    redirect: bool,
    /// This video (1-based) answers 403, like an expired CDN link.
    expired: Option<u32>,
}

/// Locks a mutex, recovering the data if a panicking holder poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
