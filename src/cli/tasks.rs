//! `generate`, `status` and `list`: parse the flags into the job layer's types, make one
//! call, print the result. A person follows a task to the end (no wait cap); Ctrl-C stops
//! following, never the job.

use tokio_util::sync::CancellationToken;

use super::Exit;
use super::args::{FollowArgs, GenerateArgs, ListArgs, StatusArgs};
use super::output::{WaitDisplay, exit_for, exit_for_task, fail, print_stored, print_task};
use super::request::{build_request, refuse};
use crate::comet::{CreatedTask, Task, TaskId, Violation};
use crate::jobs::{
    self, Deadline, DownloadFailure, FollowSpec, Followed, Freshness, GenerateSpec, Generated,
    Jobs, ListFilter, NotBought, RequestFacts, Unprepared, Wait, WaitEnd,
};
use tokio::sync::oneshot;

pub(super) async fn generate(args: GenerateArgs, jobs: &Jobs, simulate: bool) -> Exit {
    let (request, roots) = match build_request(&args) {
        Ok(built) => built,
        Err(violations) => return refuse(&violations),
    };
    let how = &args.follow;
    let mut session = Session::new(how.wait || how.download.is_some());
    let (tell_created, created) = oneshot::channel();
    let spec = GenerateSpec {
        roots,
        dry_run: args.dry_run,
        follow: session.spec(how),
        created: Some(tell_created),
    };
    let generating = jobs.generate(request, spec);
    let generated = session.run(generating, Some(created), how.json).await;
    match generated {
        Ok(Generated::Preview {
            request,
            body,
            spend,
            allowance,
        }) => {
            print_warnings(&request);
            println!(
                "{}",
                serde_json::to_string_pretty(&body).unwrap_or_default()
            );
            let left = allowance.map(|a| {
                let videos = a.videos_left.map(|n| format!("{n} videos"));
                let seconds = a.seconds_left.map(|n| format!("{n} s"));
                let parts: Vec<String> = videos.into_iter().chain(seconds).collect();
                format!("; left today under the limits: {}", parts.join(", "))
            });
            eprintln!(
                "dry run ({} mode): nothing was sent; it would buy {} video of {} s ({}){}",
                request.mode.as_str(),
                spend.videos,
                spend.seconds,
                spend.model,
                left.unwrap_or_default()
            );
            Exit::Ok
        }
        Ok(Generated::Bought {
            created, followed, ..
        }) => {
            let resume = super::hints::resume_command(created.task_id.as_str(), how, simulate);
            report(&created.task_id, *followed, how, &resume)
        }
        Err(NotBought::Unprepared(Unprepared::Invalid(violations))) => refuse(&violations),
        // A person waits as long as the images take, so the budget is never "busy" here.
        Err(NotBought::Unprepared(Unprepared::ImagesBusy)) => refuse(&[Violation::new(
            "--image",
            "the images could not be read now",
            "run the command again",
        )]),
        Err(NotBought::Submit { request, error }) => {
            print_warnings(&request);
            fail(&error)
        }
    }
}

fn print_warnings(request: &RequestFacts) {
    for warning in &request.warnings {
        eprintln!("warning: {warning}");
    }
}

pub(super) async fn status(args: StatusArgs, jobs: &Jobs, simulate: bool) -> Exit {
    let task_id = match TaskId::parse(&args.task_id) {
        Ok(task_id) => task_id,
        Err(violation) => {
            let named = Violation {
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
    let task = match jobs
        .status(&task_id, Freshness::Fresh, Deadline::none())
        .await
    {
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
    if let Some(line) = super::hints::spend_line(jobs).await {
        println!("{line}");
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
    let mut session =
        Session::new((how.wait || how.download.is_some()) && !known.status.is_terminal());
    session.display.start(task_id.as_str());
    let spec = session.spec(how);
    let followed = session
        .run(jobs.follow(task_id, Some(known), spec), None, how.json)
        .await;
    report(task_id, followed, how, &resume)
}

/// A person's follow in progress: Ctrl-C stops the wait or the transfer (which removes what
/// was written so far, never the job), and each new status goes to the display.
struct Session {
    wait: bool,
    cancel: CancellationToken,
    _stop_listening: tokio_util::sync::DropGuard,
    progress: Option<tokio::sync::mpsc::UnboundedSender<Task>>,
    updates: tokio::sync::mpsc::UnboundedReceiver<Task>,
    display: Display,
}

impl Session {
    fn new(wait: bool) -> Self {
        let (cancel, stop_listening) = cancel_on_ctrl_c();
        let (progress, updates) = tokio::sync::mpsc::unbounded_channel::<Task>();
        Self {
            wait,
            cancel,
            _stop_listening: stop_listening,
            progress: Some(progress),
            updates,
            display: Display { wait, shown: None },
        }
    }

    /// A person follows the task to the end: no wait cap, no call deadline; each status query
    /// is still bounded (see `Jobs::query`).
    fn spec(&mut self, how: &FollowArgs) -> FollowSpec {
        FollowSpec {
            wait: match self.wait {
                true => Wait::ToTheEnd,
                false => Wait::No,
            },
            deadline: Deadline::none(),
            cancel: self.cancel.clone(),
            progress: self.progress.take(),
            download_to: how.download.clone(),
        }
    }

    /// Runs `work` to its end, showing each status on the display. When `created` says a
    /// task was just bought, its id is printed (unless the output is JSON) and the display
    /// starts.
    async fn run<T>(
        mut self,
        work: impl Future<Output = T>,
        mut created: Option<oneshot::Receiver<CreatedTask>>,
        json: bool,
    ) -> T {
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                submitted = async { created.as_mut()?.await.ok() }, if created.is_some() => {
                    created = None;
                    if let Some(submitted) = submitted {
                        self.display.announce(&submitted, json);
                    }
                }
                Some(update) = self.updates.recv() => {
                    if let Some(shown) = &self.display.shown {
                        shown.update(&update);
                    }
                }
            }
        };
        // The work may end in the same turn the task was bought (no wait): still say so.
        if let Some(submitted) = created.and_then(|mut created| created.try_recv().ok()) {
            self.display.announce(&submitted, json);
        }
        if let Some(shown) = &self.display.shown {
            shown.finish();
        }
        result
    }
}

/// The progress display, once a task exists (when waiting).
struct Display {
    wait: bool,
    shown: Option<WaitDisplay>,
}

impl Display {
    /// Says a task was bought (unless the output is JSON), then shows its progress.
    fn announce(&mut self, submitted: &CreatedTask, json: bool) {
        if !json {
            eprintln!(
                "submitted task {} (external id {})",
                submitted.task_id,
                submitted.external_task_id.as_deref().unwrap_or("?")
            );
        }
        self.start(submitted.task_id.as_str());
    }

    fn start(&mut self, task_id: &str) {
        if self.wait && self.shown.is_none() {
            self.shown = Some(WaitDisplay::new(task_id));
        }
    }
}

/// Prints a followed task (or the error) and returns the exit code it calls for.
fn report(
    task_id: &TaskId,
    followed: Result<Followed, jobs::Error>,
    how: &FollowArgs,
    resume: &str,
) -> Exit {
    let followed = match followed {
        Ok(followed) => followed,
        Err(err) => return fail(&err),
    };
    let view = followed.view();
    if followed.end == Some(WaitEnd::Cancelled) {
        eprintln!("stopped waiting; task {task_id} keeps running. Resume with: {resume}");
        print_task(&view, how.json, resume);
        return Exit::Interrupted;
    }
    print_task(&view, how.json, resume);
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
