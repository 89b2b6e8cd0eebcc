//! kling-omni-mcp: parse the command line, set up stderr logging, serve MCP on stdio.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kling_omni_mcp::cli::{self, Command, Exit};
use kling_omni_mcp::comet::{self, ApiKey};
use kling_omni_mcp::config::{Cli, Config};
use kling_omni_mcp::jobs::{Jobs, Journal};
use kling_omni_mcp::server::{KlingServer, ServerOptions, serve_http, serve_stdio};
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let command = cli.command.take();
    init_tracing(command.is_some());
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
        return Ok(cli::print_client_config(client).into());
    }
    let config = Config::from_env(cli)?;
    // The simulator lives as long as the server; it is dropped (stopped) when `run` returns.
    let simulator = match config.simulate {
        true => Some(
            Simulator::start(SimConfig::default())
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
    let journal = match &config.journal_path {
        Some(path) => Journal::open(path),
        None => Journal::in_memory(),
    };
    tracing::info!(
        journal = %journal.path().map_or("(memory only)".into(), |p| p.display().to_string()),
        output_dir = %config.jobs.output_dir.display(),
        "task journal and downloads"
    );
    let jobs = Jobs::new(client, config.jobs.clone(), journal);
    if let Some(command) = command {
        return Ok(cli::run(command, &config, jobs).await.into());
    }
    let options = ServerOptions {
        simulated: config.simulate,
        allowed_roots: config.allowed_roots.clone(),
        max_calls_per_session: config.max_calls_per_session,
        client_keys: config.http.as_ref().is_some_and(|h| h.client_keys),
    };
    tracing::info!(dirs = %options.allowed_roots, "local images may be read from");
    let server = KlingServer::new(jobs, options);
    if let Some(http) = config.http.clone() {
        serve_http(server, http, shutdown_signal()).await?;
        return Ok(ExitCode::SUCCESS);
    }
    // rmcp's stdio transport, plus -32700 answers to lines that are not JSON.
    serve_stdio(server).await?;
    Ok(ExitCode::SUCCESS)
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
/// people log only warnings unless `RUST_LOG` says otherwise.
fn init_tracing(for_a_person: bool) {
    let default = if for_a_person { "warn" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
}
