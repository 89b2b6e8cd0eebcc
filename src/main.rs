//! kling-omni-mcp: parse the command line, set up stderr logging, build the application
//! ([`App::open`]) and hand it to a front door: a CLI subcommand, or MCP on stdio or HTTP.

use std::io::IsTerminal;
use std::process::ExitCode;

use kling_omni_mcp::app::{App, Audience, OpenError};
use kling_omni_mcp::cli::{self, Cli, Command, Exit, LogFormat};
use kling_omni_mcp::transport::{HttpOptions, serve_http, serve_stdio};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut cli = match cli::parse_command_line() {
        Ok(cli) => cli,
        Err(exit) => return exit.into(),
    };
    let command = cli.command.take();
    init_tracing(command.is_some(), cli.log_format);
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
    let audience = match command {
        Some(_) => Audience::Person,
        None => Audience::Operator,
    };
    // The application (and the simulator, under --simulate) lives until `run` returns.
    let app = match App::open(&config, audience).await {
        Ok(app) => app,
        Err(OpenError::Store(err)) => {
            if let Some(exit) = command.as_ref().and_then(|c| cli::store_refused(c, &err)) {
                return Ok(exit.into());
            }
            anyhow::bail!("{err} (fix: {})", cli::store_fix(&err))
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(command) = command {
        return Ok(cli::run(command, &config, app.jobs().clone()).await.into());
    }
    let server = app.server()?;
    if let Some(http) = &config.http {
        serve_http(server, HttpOptions::from(http), shutdown_signal()).await?;
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
/// people log nothing unless `RUST_LOG` says otherwise: their errors are one plain line, and
/// what a person must know is printed as a `warning:` line ([`Audience::Person`]); background work
/// cut off at exit (crash recovery) stays quiet.
///
/// `--log-format json` writes one JSON object per line (`timestamp`, `level`, `fields`,
/// `target`) for log collectors. Both formats carry the same events and fields, so what keeps
/// secrets out of text logs (keys are `SecretString`/`ApiKey`, upstream text is redacted
/// before it is logged) keeps them out of JSON logs too.
fn init_tracing(for_a_person: bool, format: LogFormat) {
    let default = if for_a_person { "off" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
