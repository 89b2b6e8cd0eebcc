//! kling-omni-mcp: parse the command line, set up stderr logging, serve MCP on stdio.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use kling_omni_mcp::cli::{self, Cli, Command, Exit};
use kling_omni_mcp::comet::{self, ApiKey};
use kling_omni_mcp::config::Config;
use kling_omni_mcp::jobs::Jobs;
use kling_omni_mcp::server::{
    HttpOptions, KlingServer, ServerOptions, TASK_SECRET_ENV, TaskSecret, serve_http, serve_stdio,
};
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use kling_omni_mcp::store::{Store, import_journal};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut cli = match cli::parse_command_line() {
        Ok(cli) => cli,
        Err(exit) => return exit.into(),
    };
    let command = cli.command.take();
    init_tracing(command.is_some());
    if cli::note_terminal_stdin(
        command.is_none() && cli.http.is_none(),
        std::io::stdin().is_terminal(),
    ) {
        eprintln!("{}", cli::terminal_stdin_note());
    }
    // A current-thread runtime for stdio was measured slower (cold start and tools/list); the
    // multi-thread runtime serves both transports.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(Exit::AuthOrConfig);
        }
    };
    match runtime.block_on(run(cli, command)) {
        Ok(code) => code,
        Err(err) => {
            // The server logs; a person at a terminal gets one plain line.
            eprintln!("error: {err:#}");
            ExitCode::from(Exit::AuthOrConfig)
        }
    }
}

async fn run(cli: Cli, command: Option<Command>) -> anyhow::Result<ExitCode> {
    if let Some(Command::Config { client }) = command {
        return Ok(cli::print_client_config(client, &cli).into());
    }
    let config = match cli.into_config_from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(cli::exit_for_config(&err).into());
        }
    };
    let for_a_person = command.is_some();
    // The simulator lives as long as the server; it is dropped (stopped) when `run` returns.
    let simulator = match config.simulate {
        true => Some(
            Simulator::start(SimConfig::world())
                .await
                .context("starting the simulator")?,
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
    let client = comet::Client::new(config.client_options(base_url, api_key))?;
    // A simulated process writes only simulated records: it never settles or updates a task
    // made against CometAPI.
    let store = open_store(&config, for_a_person)
        .await?
        .simulated(config.simulate);
    tracing::info!(
        store = %store.location(),
        output_dir = %config.jobs.output_dir.display(),
        "task store and downloads"
    );
    let downloader = comet::Downloader::new(config.download.clone())?;
    let jobs = Jobs::new(client, downloader, config.jobs.clone(), store.clone());
    // Before any call can start a download, so only orphans of stopped processes are swept.
    let swept = jobs.remove_stale_partials().await;
    if swept > 0 {
        tracing::info!(
            removed = swept,
            "removed temporary download files left by a stopped process"
        );
    }
    // Settle what a crashed process left behind, without delaying the start.
    let recovering = jobs.clone();
    tokio::spawn(async move {
        let resolved = recovering
            .recover_stale(kling_omni_mcp::jobs::Deadline::none())
            .await;
        if resolved > 0 {
            tracing::info!(
                resolved,
                "resolved submits interrupted by a stopped process"
            );
        }
        let day_ago = kling_omni_mcp::store::now_ms() - 24 * 3600 * 1000;
        let _ = recovering.store().prune_polls(day_ago).await;
        // MCP task ids expire after 30 days; what became of them may go a day later.
        let _ = recovering
            .store()
            .prune_mcp_tasks(day_ago - 30 * 24 * 3600 * 1000)
            .await;
    });
    if let Some(command) = command {
        return Ok(cli::run(command, &config, jobs).await.into());
    }
    let options = ServerOptions {
        simulated: config.simulate,
        allowed_roots: config.allowed_roots.clone(),
        max_calls_per_session: config.max_calls_per_session,
        client_keys: config.http.as_ref().is_some_and(|h| h.client_keys),
        task_secret: load_task_secret(&config)?,
    };
    tracing::info!(dirs = %options.allowed_roots, "local images may be read from");
    let server = KlingServer::new(jobs, options);
    if let Some(http) = &config.http {
        serve_http(server, HttpOptions::from(http), shutdown_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    // rmcp's stdio transport, plus -32700 answers to lines that are not JSON.
    serve_stdio(server).await?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the task store (refusing a damaged or newer one, with the fix), and imports the
/// journal of earlier versions once.
async fn open_store(config: &Config, for_a_person: bool) -> anyhow::Result<Store> {
    for note in &config.deprecations {
        warn(for_a_person, note);
    }
    let store = match Store::open(config.store.clone()).await {
        Ok(store) => store,
        Err(err) => {
            anyhow::bail!("{err} (fix: {})", cli::store_fix(&err));
        }
    };
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
                for_a_person,
                &format!(
                    "cannot import the task journal {} now ({err}); it is left in place and tried again at the next start",
                    journal.display()
                ),
            ),
        }
    }
    Ok(store)
}

/// Something the user must know: a plain `warning:` line for a person at a terminal (whose
/// logs are off by default), a log line for a server's operator.
fn warn(for_a_person: bool, message: &str) {
    if for_a_person {
        eprintln!("warning: {message}");
    } else {
        tracing::warn!("{message}");
    }
}

/// The secret that seals MCP task ids: `KLING_MCP_TASK_SECRET` (a bad one stops the start:
/// it is a deployment setting), else the generated one in the data directory. Without a usable
/// data directory the server runs without MCP tasks (tools answer synchronously).
fn load_task_secret(config: &Config) -> anyhow::Result<Option<Arc<TaskSecret>>> {
    use secrecy::ExposeSecret;
    if config.task_secret.is_none() && std::env::var_os(TASK_SECRET_ENV).is_some() {
        anyhow::bail!(
            "{TASK_SECRET_ENV} is set but is not valid UTF-8 (fix: set it to 32 or more characters, e.g. the output of `openssl rand -base64 48`)"
        );
    }
    let env = config
        .task_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned());
    if let Some(value) = env.as_deref() {
        let secret = TaskSecret::load(Some(value), std::path::Path::new("."))
            .map_err(|err| anyhow::anyhow!("{err}"))?;
        return Ok(Some(Arc::new(secret)));
    }
    let Some(dir) = config.data_dir.as_deref() else {
        tracing::warn!(
            "no per-user data directory: MCP tasks are off (set KLING_MCP_TASK_SECRET to turn them on)"
        );
        return Ok(None);
    };
    // A fresh machine may not have the data directory yet (when the store is elsewhere).
    if let Err(err) = std::fs::create_dir_all(dir) {
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

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// Logs go to stderr (stdout belongs to the protocol), without colour codes. Subcommands for
/// people log nothing unless `RUST_LOG` says otherwise: their errors are one plain line, and
/// what a person must know is printed as a `warning:` line (see [`warn`]); background work
/// cut off at exit (crash recovery) stays quiet.
fn init_tracing(for_a_person: bool) {
    let default = if for_a_person { "off" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
}
