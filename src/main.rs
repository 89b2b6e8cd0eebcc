//! kling-omni-mcp: parse the command line, set up stderr logging, serve MCP on stdio.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kling_omni_mcp::comet::{self, ApiKey};
use kling_omni_mcp::config::{Cli, Config};
use kling_omni_mcp::jobs::{Jobs, Journal};
use kling_omni_mcp::server::{KlingServer, ServerOptions};
use kling_omni_mcp::simulator::{SimConfig, Simulator};
use rmcp::ServiceExt;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
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
        base_url = %base_url,
        key = if api_key.is_some() { "set" } else { "NOT SET (tool calls will fail until COMETAPI_KEY is set)" },
        simulated = config.simulate,
        "kling-omni-mcp serving MCP on stdio"
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
    let options = ServerOptions {
        simulated: config.simulate,
        allowed_roots: config.allowed_roots.clone(),
    };
    tracing::info!(dirs = %options.allowed_roots, "local images may be read from");
    let server = KlingServer::new(jobs, options);
    let service = server
        .serve(rmcp::transport::stdio())
        .await
        .context("MCP initialize")?;
    service.waiting().await.context("MCP session")?;
    Ok(())
}

/// Logs go to stderr (stdout belongs to the protocol), without colour codes.
fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
}
