//! `generate`, `status` and `list`: parse the flags into the job layer's types, make one
//! call, print the result. A person follows a task to the end (no wait cap); Ctrl-C stops
//! following, never the job.

use tokio_util::sync::CancellationToken;

use super::Exit;
use super::args::{FollowArgs, GenerateArgs, ListArgs, StatusArgs};
use super::output::{WaitDisplay, exit_for, exit_for_task, fail, print_stored, print_task};
use super::request::{prepare, refuse};
use crate::comet::{Task, TaskId};
use crate::jobs::{self, Deadline, DownloadFailure, FollowSpec, Jobs, ListFilter, WaitEnd};

pub(super) async fn generate(args: GenerateArgs, jobs: &Jobs, simulate: bool) -> Exit {
    let prepared = match prepare(&args).await {
        Ok(prepared) => prepared,
        Err(violations) => return refuse(&violations),
    };
    let valid = &prepared.request;
    for warning in valid.warnings() {
        eprintln!("warning: {warning}");
    }
    if args.dry_run {
        let body = jobs::preview_body(valid);
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
        eprintln!("dry run ({} mode): nothing was sent", valid.mode().as_str());
        return Exit::Ok;
    }
    let submitted = jobs.submit(valid, Deadline::none()).await;
    let external = valid.external_task_id().clone();
    // Sent (or given up): free the images before following.
    drop(prepared.release());
    let created = match submitted {
        Ok(created) => created,
        Err(err) => return fail(&err),
    };
    if !args.follow.json {
        eprintln!(
            "submitted task {} (external id {external})",
            created.task_id
        );
    }
    // Task ids from a create reply are checked when parsed, so this always succeeds.
    match TaskId::parse(&created.task_id) {
        Ok(task_id) => follow(jobs, &task_id, Task::from(&created), &args.follow, simulate).await,
        Err(violation) => {
            eprintln!("error [malformed_response]: {violation}");
            Exit::Upstream
        }
    }
}

pub(super) async fn status(args: StatusArgs, jobs: &Jobs, simulate: bool) -> Exit {
    let task_id = match TaskId::parse(&args.task_id) {
        Ok(task_id) => task_id,
        Err(violation) => {
            let named = crate::comet::Violation {
                field: "TASK_ID".into(),
                fix: "pass the task id `generate` printed (see `kling-omni-mcp list`)".into(),
                ..violation
            };
            eprintln!("error [invalid_request]: {named}");
            return Exit::BadInput;
        }
    };
    // A submit that got no task id (failed, uncertain, or in flight) is known only to the
    // store: answer from it instead of asking CometAPI about an id it never gave.
    if let Ok(Some(stored)) = jobs.stored(task_id.as_str()).await
        && stored.task_id.is_none()
    {
        return print_stored(&stored, args.follow.json);
    }
    let task = match jobs.query(&task_id, Deadline::none()).await {
        Ok(task) => task,
        Err(err) => return fail(&err),
    };
    follow(jobs, &task_id, task, &args.follow, simulate).await
}

pub(super) async fn list(args: &ListArgs, jobs: &Jobs) -> Exit {
    let filter = ListFilter {
        status: args.status,
        limit: args.limit,
    };
    let records = match jobs.list(filter, Deadline::none()).await {
        Ok(records) => records,
        Err(err) => return fail(&err),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).unwrap_or_default()
        );
        return Exit::Ok;
    }
    if records.is_empty() {
        println!("no tasks yet (task store: {})", jobs.store().location());
        return Exit::Ok;
    }
    println!("{:<26} {:<19} {:<9} PROMPT", "TASK", "STATUS", "MODE");
    for record in records {
        let prompt: String = record.prompt_head.chars().take(50).collect();
        let status = match record.simulated {
            true => format!("{} (sim)", record.status.as_str()),
            false => record.status.as_str().to_owned(),
        };
        println!(
            "{:<26} {:<19} {:<9} {prompt}",
            record.shown_id(),
            status,
            record.mode.split('_').next().unwrap_or_default()
        );
    }
    Exit::Ok
}

/// Follows a task as the flags say: to the end with a progress display (`--wait`), then
/// saves its videos (`--download`), and prints it.
async fn follow(
    jobs: &Jobs,
    task_id: &TaskId,
    known: Task,
    how: &FollowArgs,
    simulate: bool,
) -> Exit {
    let resume = super::hints::resume_command(task_id.as_str(), how, simulate);
    let wait = (how.wait || how.download.is_some()) && !known.status.is_terminal();
    // Ctrl-C stops the wait or the transfer (which removes what was written so far).
    let (cancel, _stop_listening) = cancel_on_ctrl_c();
    let display = wait.then(|| WaitDisplay::new(task_id.as_str()));
    let (progress, mut updates) = tokio::sync::mpsc::unbounded_channel::<Task>();
    let spec = FollowSpec {
        // A person follows the task to the end: no wait cap, no call deadline; each status
        // query is still bounded (see `Jobs::query`).
        wait: wait.then_some(None),
        deadline: Deadline::none(),
        cancel,
        progress: Some(progress),
        download_to: how.download.clone(),
    };
    let following = jobs.follow(task_id, Some(known), spec);
    tokio::pin!(following);
    let followed = loop {
        tokio::select! {
            followed = &mut following => break followed,
            Some(update) = updates.recv() => {
                if let Some(display) = &display {
                    display.update(&update);
                }
            }
        }
    };
    if let Some(display) = &display {
        display.finish();
    }
    let followed = match followed {
        Ok(followed) => followed,
        Err(err) => return fail(&err),
    };
    let view = followed.view();
    if followed.end == Some(WaitEnd::Cancelled) {
        eprintln!("stopped waiting; task {task_id} keeps running. Resume with: {resume}");
        print_task(&view, how.json, &resume);
        return Exit::Interrupted;
    }
    print_task(&view, how.json, &resume);
    match &followed.download_failure {
        None => exit_for_task(&followed.task),
        // Without a deadline the only way to run out of time is not to have one: not reached.
        Some(DownloadFailure::OutOfTime) => Exit::Upstream,
        Some(DownloadFailure::Failed(err)) => {
            eprintln!(
                "error [{}]: the download failed: {err} (fix: {})",
                err.kind(),
                super::fixes::fix_for_person(err)
            );
            exit_for(err)
        }
    }
}

/// A token cancelled by Ctrl-C; dropping the guard stops listening.
fn cancel_on_ctrl_c() -> (CancellationToken, tokio_util::sync::DropGuard) {
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    let guard = cancel.clone().drop_guard();
    tokio::spawn(async move {
        tokio::select! {
            result = tokio::signal::ctrl_c() => if result.is_ok() { on_ctrl_c.cancel() },
            () = on_ctrl_c.cancelled() => {}
        }
    });
    (cancel, guard)
}
