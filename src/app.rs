//! The composition root: [`App::open`] builds the whole application from the checked settings —
//! the CometAPI client (or, under `--simulate`, the built-in simulator it talks to), the task
//! store (the journal of earlier versions imported once, writes scoped to the simulated or the
//! real world), the downloader, and the job layer with its start-up sweep and crash recovery.
//! [`App::server`] adds what only the MCP front door needs (the task secret). `main.rs` parses
//! the command line and picks a front door; tests build the same `App` in-process.

use std::path::Path;
use std::sync::Arc;

use crate::comet::{self, ApiKey};
use crate::config::Config;
use crate::jobs::{Deadline, Jobs};
use crate::server::{KlingServer, PlayerOptions, ServerOptions, TASK_SECRET_ENV, TaskSecret};
use crate::simulator::{SimConfig, Simulator};
use crate::store::{Store, StoreError, import_journal, now_ms};

/// Who reads what the application must say at start (a deprecated setting, a journal that
/// cannot be imported yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A person at a terminal (a CLI subcommand): plain `warning:` lines on stderr, since
    /// their logs are off by default.
    Person,
    /// A server's operator: log lines.
    Operator,
}

/// Why the application cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The task store is damaged, too new, or cannot be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The built-in simulator could not listen on loopback.
    #[error("starting the simulator: {0}")]
    Simulator(std::io::Error),
    /// The HTTP clients could not be built (TLS setup).
    #[error(transparent)]
    Client(#[from] comet::Error),
    /// The download client could not be built.
    #[error(transparent)]
    Downloader(#[from] comet::DownloadError),
    /// `KLING_MCP_TASK_SECRET` cannot be used.
    #[error("{0}")]
    TaskSecret(String),
}

/// The whole application, built once. Dropping it stops the simulator (`--simulate`).
#[derive(Debug)]
pub struct App {
    jobs: Jobs,
    config: Config,
    /// Kept alive as long as the application: the client talks to it.
    simulator: Option<Simulator>,
}

impl App {
    /// Builds the application `config` describes; start-up notes go to `audience`. Crash
    /// recovery and pruning run in the background, so the start is not delayed.
    pub async fn open(config: &Config, audience: Audience) -> Result<Self, OpenError> {
        let simulator = match config.simulate {
            true => Some(
                Simulator::start(SimConfig::world())
                    .await
                    .map_err(OpenError::Simulator)?,
            ),
            false => None,
        };
        let (base_url, api_key) = match &simulator {
            // Never send a real key to the simulator.
            Some(sim) => (sim.url().clone(), ApiKey::new("sk-simulated")),
            None => (config.base_url.clone(), config.api_key.clone()),
        };
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            base_url = %comet::display_url(&base_url),
            key = if api_key.is_some() { "set" } else { "NOT SET (tool calls will fail until COMETAPI_KEY is set)" },
            simulated = config.simulate,
            transport = if config.http.is_some() { "streamable HTTP" } else { "stdio" },
            "kling-omni-mcp starting"
        );
        let mut options = config.client_options(base_url, api_key);
        if let Some(sim) = &simulator {
            // The simulator answers the balance too, and never sees a real query key.
            options.quota_url = Some(sim.url().clone());
            options.query_key = None;
        }
        let client = comet::Client::new(options)?;
        // A simulated process writes only simulated records: it never settles or updates a
        // task made against CometAPI.
        let store = open_store(config, audience)
            .await?
            .simulated(config.simulate);
        tracing::info!(
            store = %store.location(),
            output_dir = %config.jobs.output_dir.display(),
            "task store and downloads"
        );
        let downloader = comet::Downloader::new(config.download.clone())?;
        let jobs = Jobs::new(client, downloader, config.jobs.clone(), store);
        crate::metrics::register_gauge(
            "kling_image_budget_bytes_in_use",
            "Bytes of the local-image memory budget held by calls now",
            || i64::try_from(crate::jobs::image_budget_in_use()).unwrap_or(i64::MAX),
        );
        // Before any call can start a download, so only orphans of stopped processes are swept.
        let swept = jobs.remove_stale_partials().await;
        if swept > 0 {
            tracing::info!(
                removed = swept,
                "removed temporary download files left by a stopped process"
            );
        }
        tokio::spawn(settle_what_stopped_processes_left(jobs.clone()));
        Ok(Self {
            jobs,
            config: config.clone(),
            simulator,
        })
    }

    /// The application API every front door calls.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The settings it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The MCP front door over this application: the tools, and MCP tasks when a task secret
    /// is set or can be kept in the data directory.
    pub fn server(&self) -> Result<KlingServer, OpenError> {
        let config = &self.config;
        let options = ServerOptions {
            simulated: config.simulate,
            allowed_roots: config.allowed_roots.clone(),
            max_calls_per_session: config.max_calls_per_session,
            client_keys: config.http.as_ref().is_some_and(|h| h.client_keys),
            task_secret: load_task_secret(config)?,
            player: self.player_options(),
        };
        tracing::info!(dirs = %options.allowed_roots, "local images may be read from");
        Ok(KlingServer::new(self.jobs.clone(), options))
    }
}

impl App {
    /// The player's settings: off, the origins given, or by default the Kling and CometAPI
    /// video hosts (the simulator's origin under `--simulate`, where every video comes from).
    fn player_options(&self) -> Option<PlayerOptions> {
        let given = self.config.player_origins.clone()?;
        if !given.is_empty() {
            return Some(PlayerOptions {
                resource_domains: given,
            });
        }
        match &self.simulator {
            Some(sim) => Some(PlayerOptions {
                resource_domains: vec![sim.url().as_str().trim_end_matches('/').to_owned()],
            }),
            None => Some(PlayerOptions::default()),
        }
    }
}

/// Resolves submits a stopped process left `submitting`, and forgets old poll and MCP task
/// state.
async fn settle_what_stopped_processes_left(jobs: Jobs) {
    let resolved = jobs.recover_stale(Deadline::none()).await;
    if resolved > 0 {
        tracing::info!(
            resolved,
            "resolved submits interrupted by a stopped process"
        );
    }
    let day_ago = now_ms() - 24 * 3600 * 1000;
    let _ = jobs.store().prune_polls(day_ago).await;
    // MCP task ids expire after 30 days; what became of them may go a day later.
    let _ = jobs
        .store()
        .prune_mcp_tasks(day_ago - 30 * 24 * 3600 * 1000)
        .await;
}

/// Opens the task store (refusing a damaged or newer one), and imports the journal of earlier
/// versions once.
async fn open_store(config: &Config, audience: Audience) -> Result<Store, StoreError> {
    for note in &config.deprecations {
        warn(audience, note);
    }
    let store = Store::open(config.store.clone()).await?;
    if let Some(journal) = config.legacy_journal.as_deref().filter(|p| p.is_file()) {
        match import_journal(&store, journal).await {
            Ok(report) => tracing::info!(
                journal = %journal.display(),
                read = report.read,
                added = report.added,
                skipped_lines = report.skipped_lines,
                renamed_to = ?report.renamed_to,
                "imported the task journal of an earlier version into the task store"
            ),
            Err(err) => warn(
                audience,
                &format!(
                    "cannot import the task journal {} now ({err}); it is left in place and tried again at the next start",
                    journal.display()
                ),
            ),
        }
    }
    Ok(store)
}

/// Something the user must know, said the way `audience` reads it.
fn warn(audience: Audience, message: &str) {
    match audience {
        Audience::Person => eprintln!("warning: {message}"),
        Audience::Operator => tracing::warn!("{message}"),
    }
}

/// The secret that seals MCP task ids: `KLING_MCP_TASK_SECRET` (a bad one stops the start:
/// it is a deployment setting), else the generated one in the data directory. Without a usable
/// data directory the server runs without MCP tasks (tools answer synchronously).
fn load_task_secret(config: &Config) -> Result<Option<Arc<TaskSecret>>, OpenError> {
    use secrecy::ExposeSecret;
    if config.task_secret.is_none() && std::env::var_os(TASK_SECRET_ENV).is_some() {
        return Err(OpenError::TaskSecret(format!(
            "{TASK_SECRET_ENV} is set but is not valid UTF-8 (fix: set it to 32 or more characters, e.g. the output of `openssl rand -base64 48`)"
        )));
    }
    if let Some(value) = config.task_secret.as_ref() {
        let secret = TaskSecret::load(Some(value.expose_secret()), Path::new("."))
            .map_err(|err| OpenError::TaskSecret(err.to_string()))?;
        return Ok(Some(Arc::new(secret)));
    }
    let Some(dir) = config.data_dir.as_deref() else {
        tracing::warn!(
            "no per-user data directory: MCP tasks are off (set KLING_MCP_TASK_SECRET to turn them on)"
        );
        return Ok(None);
    };
    // A fresh machine may not have the data directory yet (when the store is elsewhere).
    if let Err(err) = crate::private_fs::create_dir_all(dir) {
        tracing::warn!(%err, dir = %dir.display(), "MCP tasks are off: cannot create the data directory for the task secret");
        return Ok(None);
    }
    match TaskSecret::load(None, dir) {
        Ok(secret) => Ok(Some(Arc::new(secret))),
        Err(err) => {
            tracing::warn!(%err, "MCP tasks are off: no task secret (set KLING_MCP_TASK_SECRET, or fix the data directory)");
            Ok(None)
        }
    }
}
