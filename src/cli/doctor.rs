//! `doctor`: checks the setup one step at a time, each with ✔/✘ and the fix.

use std::path::Path;

use super::Exit;
use super::output::{exit_for, exit_for_kind};
use crate::comet::{ErrorKind, TaskId};
use crate::config::Config;
use crate::jobs::{self, Deadline, Freshness, Jobs};
use crate::store::StoreError;

/// A task id that cannot exist: querying it costs nothing and tells a refused key (401) from
/// an accepted one (404 or 400).
const PROBE_TASK_ID: &str = "kling-omni-mcp-doctor-probe";

pub(super) async fn run(config: &Config, jobs: &Jobs) -> Exit {
    println!("kling-omni-mcp {}", env!("CARGO_PKG_VERSION"));
    let mut worst = Exit::Ok;
    // `what` is worded for the outcome: "✘ … is writable" would contradict itself.
    let mut check = |ok: bool, what: String, fix: &str, exit: Exit| {
        if ok {
            println!("✔ {what}");
        } else {
            println!("✘ {what}\n  fix: {fix}");
            if worst == Exit::Ok {
                worst = exit;
            }
        }
    };
    let base = if config.simulate {
        "the built-in simulator".to_owned()
    } else {
        crate::comet::display_url(&config.base_url)
    };
    match (&config.api_key, config.simulate) {
        (_, true) => check(true, "simulation mode: no key needed".into(), "", Exit::Ok),
        (Some(key), false) => check(
            true,
            format!("COMETAPI_KEY is set ({})", key.masked()),
            "",
            Exit::Ok,
        ),
        (None, false) => check(
            false,
            "COMETAPI_KEY is not set".into(),
            "export COMETAPI_KEY=sk-... (get a key at https://www.cometapi.com/console/token)",
            Exit::AuthOrConfig,
        ),
    }
    // The probe is of this process's world (the simulator only answers `sim-` ids).
    let probe = match jobs.simulated() {
        true => TaskId::parse(&format!(
            "{}{PROBE_TASK_ID}",
            crate::comet::SIMULATED_ID_PREFIX
        )),
        false => TaskId::parse(PROBE_TASK_ID),
    };
    let probed = match &probe {
        Ok(task_id) => {
            jobs.status(task_id, Freshness::Probe, Deadline::none())
                .await
        }
        Err(violation) => Err(jobs::Error::Comet(crate::comet::Error::Invalid(vec![
            violation.clone(),
        ]))),
    };
    // The simulator takes any key: saying "accepted" there would promise what it never checked.
    let accepted = match config.simulate {
        true => "the simulator answers (it takes any key)",
        false => "the key is accepted",
    };
    match probed {
        Ok(_) => {
            check(true, format!("{base} is reachable"), "", Exit::Ok);
            check(true, accepted.into(), "", Exit::Ok);
        }
        Err(jobs::Error::Comet(err)) => match err.kind() {
            ErrorKind::NotFound | ErrorKind::InvalidRequest => {
                check(true, format!("{base} is reachable"), "", Exit::Ok);
                check(true, accepted.into(), "", Exit::Ok);
            }
            ErrorKind::MissingApiKey => {}
            ErrorKind::Auth | ErrorKind::PermissionDenied | ErrorKind::InsufficientBalance => {
                check(true, format!("{base} is reachable"), "", Exit::Ok);
                check(
                    false,
                    format!("the key is refused: {err}"),
                    super::fixes::kind_fix(err.kind()),
                    exit_for_kind(err.kind()),
                );
            }
            ErrorKind::MalformedResponse => check(
                false,
                format!("{base} does not answer like CometAPI: {err}"),
                super::fixes::kind_fix(ErrorKind::MalformedResponse),
                exit_for_kind(err.kind()),
            ),
            _ => check(
                false,
                format!("{base} is not reachable: {err}"),
                "check the network, a proxy, or COMETAPI_BASE_URL",
                exit_for_kind(err.kind()),
            ),
        },
        Err(err) => check(
            false,
            format!("{base} is not reachable: {err}"),
            "try again in a minute",
            exit_for(&err),
        ),
    }
    if config.simulate || config.api_key.is_some() {
        balance_line(jobs).await;
    }
    let output = &config.jobs.output_dir;
    let written = writable(output);
    check(
        written.is_ok(),
        match &written {
            Ok(()) => format!("output directory {} is writable", output.display()),
            Err(err) => format!(
                "output directory {} cannot be written: {err}",
                output.display()
            ),
        },
        "set KLING_MCP_OUTPUT_DIR or --output-dir to a directory this user may write",
        Exit::AuthOrConfig,
    );
    let store = jobs.store();
    if let Some(path) = store.location().sqlite_path() {
        // Open would have refused it; checked again, so the ✔ is said and true now.
        match store.check_private() {
            Ok(()) => check(
                true,
                format!(
                    "task store {} and its folder can be changed by no other user",
                    path.display()
                ),
                "",
                Exit::Ok,
            ),
            Err(err) => check(
                false,
                format!("task store: {err}"),
                &super::fixes::store_fix(&err),
                Exit::AuthOrConfig,
            ),
        }
    }
    match store.health().await {
        Ok(health) => {
            check(
                true,
                format!(
                    "task store {} is reachable ({} task(s), schema version {} of {})",
                    store.location(),
                    health.tasks,
                    health.schema_version,
                    health.supported_version
                ),
                "",
                Exit::Ok,
            );
            let what = match health.writable {
                true => format!("task store {} is writable", store.location()),
                false => format!(
                    "task store {} cannot be written: listing and status work, new tasks are refused",
                    store.location()
                ),
            };
            check(
                health.writable,
                what,
                "give this user write access to the store (a SQLite file and its directory, or INSERT/UPDATE on PostgreSQL), or set --store / KLING_MCP_STORE elsewhere",
                Exit::AuthOrConfig,
            );
            if let Some(line) = super::hints::spend_line(jobs).await {
                check(true, line, "", Exit::Ok);
            }
        }
        Err(err) => check(
            false,
            format!("task store: {err}"),
            &super::fixes::store_fix(&err),
            Exit::AuthOrConfig,
        ),
    }
    worst
}

/// Whether a file can be created in `dir` (creating `dir`, private, if needed), and why not.
/// The probe is a new file under a random name: never one planted there (a FIFO would hang).
fn writable(dir: &Path) -> std::io::Result<()> {
    crate::private_fs::create_dir_all(dir)?;
    let probe = dir.join(format!(
        ".kling-omni-mcp-doctor-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let written = crate::private_fs::create_new_private(&probe)
        .and_then(|mut file| std::io::Write::write_all(&mut file, b"ok"));
    let _ = std::fs::remove_file(&probe);
    written
}

/// The balance, or why it cannot be read. Only a note: making videos does not depend on the
/// balance service, so its trouble never fails the check.
async fn balance_line(jobs: &Jobs) {
    match jobs.balance(jobs.call_deadline()).await {
        Ok(balance) => {
            let mut line = format!("CometAPI balance: ${:.2} left", balance.balance_usd);
            if balance.query_key {
                line.push_str(" (asked with COMETAPI_QUERY_KEY)");
            }
            println!("✔ {line}");
        }
        Err(err) => {
            let fix = jobs::balance_fix(&err).unwrap_or("try again in a minute");
            println!("! the balance cannot be read: {err}\n  fix: {fix}");
        }
    }
}

/// `doctor` when the task store was refused before anything could be checked: the same
/// ✘ line and fix as any other check.
pub(super) fn store_refused(err: &StoreError) -> Exit {
    println!("kling-omni-mcp {}", env!("CARGO_PKG_VERSION"));
    println!(
        "✘ task store: {err}\n  fix: {}",
        super::fixes::store_fix(err)
    );
    Exit::AuthOrConfig
}
