//! The command line (its flags, parsed into a `Config`, in `flags`) and the human front door:
//! `generate`, `status`, `list`, `balance`, `doctor` and `config` subcommands. They
//! share the request type, validation and job layer with the MCP tools; output is for people,
//! or JSON with `--json`. Errors are one line on stderr with the fix; exit codes are stable.

mod args;
mod balance;
mod client_config;
mod doctor;
mod fixes;
mod flags;
mod hints;
mod output;
mod request;
mod tasks;
mod usage;

use std::process::ExitCode;

use clap::Subcommand;

pub use args::{FollowArgs, GenerateArgs, ListArgs, StatusArgs};
pub use client_config::McpClient;
pub use fixes::store_fix;
pub use flags::{Cli, ConnectionFlags, DownloadFlags, LogFormat, PlayerFlags, SpendFlags};
pub use hints::{note_terminal_stdin, terminal_stdin_note};
pub use output::exit_for_config;
pub use usage::parse_command_line;

use crate::config::Config;
use crate::jobs::Jobs;

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit a video task; with --wait, follow it to the end (Ctrl-C stops waiting, not the job).
    #[command(after_help = usage::EXIT_CODES)]
    // Boxed: the flags of `generate` dwarf every other subcommand's.
    Generate(Box<GenerateArgs>),
    /// Show a task's status; with --wait, follow it to the end.
    #[command(after_help = usage::EXIT_CODES)]
    Status(StatusArgs),
    /// List tasks from the task store, newest first.
    #[command(after_help = usage::EXIT_CODES)]
    List(ListArgs),
    /// Show the CometAPI balance left (asked with the query-only key when one is set).
    #[command(after_help = usage::EXIT_CODES)]
    Balance {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the setup: key, base URL, key accepted, writable directories.
    #[command(after_help = usage::EXIT_CODES)]
    Doctor,
    /// Print a ready MCP client config block for this binary (never the key itself).
    #[command(after_help = usage::EXIT_CODES)]
    Config {
        /// Which client.
        #[arg(value_enum)]
        client: McpClient,
    },
}

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// The video task failed.
    JobFailed = 1,
    /// The input was refused.
    BadInput = 2,
    /// Missing or refused key, or another setup problem.
    AuthOrConfig = 3,
    /// CometAPI could not be reached or answered with an error.
    Upstream = 4,
    /// A daily spend limit refused the purchase; nothing was sent.
    SpendLimit = 5,
    /// Stopped by Ctrl-C (the task keeps running).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Prints a client config block (needs no key, journal or network), carrying the server
/// flags `cli` was given.
pub fn print_client_config(client: McpClient, cli: &Cli) -> Exit {
    client_config::print(client, &client_config::launch_args(cli))
}

/// What a subcommand says when the task store was refused at start: `doctor` shows it as its
/// failed check (exit code included); `None` for the others, which report it as an error.
pub fn store_refused(command: &Command, err: &crate::store::StoreError) -> Option<Exit> {
    matches!(command, Command::Doctor).then(|| doctor::store_refused(err))
}

/// Runs a subcommand.
pub async fn run(command: Command, config: &Config, jobs: Jobs) -> Exit {
    match command {
        Command::Generate(args) => tasks::generate(*args, &jobs, config.simulate).await,
        Command::Status(args) => tasks::status(args, &jobs, config.simulate).await,
        Command::List(args) => tasks::list(&args, &jobs).await,
        Command::Balance { json } => balance::run(json, &jobs).await,
        Command::Doctor => doctor::run(config, &jobs).await,
        // `main` prints it before any set-up, with the flags (see `print_client_config`).
        Command::Config { client } => client_config::print(client, &[]),
    }
}
