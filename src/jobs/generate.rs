//! Buying a video — the one flow behind `generate_video`, the CLI's `generate` and MCP tasks:
//! prepare the request (local images read inside the allowed directories and every API rule
//! checked), submit it (recorded first, sent once), free the images, then follow the new task
//! as the front door asks. A dry run stops after preparing and shows the body.

use serde_json::Value;
use tokio::sync::oneshot;

use super::{
    Allowance, Error, FollowSpec, Followed, Jobs, Spend, Unprepared, prepare, preview_body,
};
use crate::comet::{CreateTaskRequest, CreatedTask, ExternalTaskId, GenerationMode, Task};
use crate::local_images::AllowedRoots;

/// How to buy a video.
#[derive(Debug, Default)]
pub struct GenerateSpec {
    /// Directories local images may be read from.
    pub roots: AllowedRoots,
    /// Check only: prepare the request and show its body; nothing is sent.
    pub dry_run: bool,
    /// How to follow the new task; its deadline and cancellation bound the whole call (the
    /// image reading and the submit too). The default answers with the task as created.
    pub follow: FollowSpec,
    /// Told the new task as soon as it exists, before any wait (a person sees its id).
    pub created: Option<oneshot::Sender<CreatedTask>>,
}

/// What the request asks for, known once it is prepared (for every outcome's answer).
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// What the API will make, inferred from the inputs.
    pub mode: GenerationMode,
    /// Things that were changed or ignored.
    pub warnings: Vec<String>,
    /// The external id the create carries (the way to look the task up if its answer is lost).
    pub external_task_id: ExternalTaskId,
}

/// A video bought, or shown.
#[derive(Debug)]
pub enum Generated {
    /// A dry run: the exact body that would be sent, images shown by size.
    Preview {
        /// What the request asks for.
        request: RequestFacts,
        /// The body.
        body: Value,
        /// What it would buy.
        spend: Spend,
        /// What this caller may still buy, when a limit is set.
        allowance: Option<Allowance>,
    },
    /// A task was created (and is paid for), then followed as asked.
    Bought {
        /// What the request asked for.
        request: RequestFacts,
        /// The create's answer.
        created: CreatedTask,
        /// The task after following it; an error here leaves the task running.
        followed: Box<Result<Followed, Error>>,
    },
}

/// Why nothing was bought.
#[derive(Debug)]
pub enum NotBought {
    /// The request cannot be sent as it is, or the image memory was busy until the deadline.
    Unprepared(Unprepared),
    /// The submit failed (nothing was recorded, nothing bought, or the outcome is uncertain:
    /// see the error); what the request asked for is known.
    Submit {
        /// What the request asked for.
        request: RequestFacts,
        /// Why.
        error: Error,
    },
}

impl Jobs {
    /// Buys a video as `spec` says: prepare → submit → free the images → follow. Every step
    /// ends by the follow's deadline, and its cancellation stops what has not been sent yet.
    pub async fn generate(
        &self,
        request: CreateTaskRequest,
        spec: GenerateSpec,
    ) -> Result<Generated, NotBought> {
        let GenerateSpec {
            roots,
            dry_run,
            follow,
            created: tell_created,
        } = spec;
        let prepared = prepare(request, &roots, follow.deadline, &follow.cancel)
            .await
            .map_err(NotBought::Unprepared)?;
        let valid = &prepared.request;
        let facts = RequestFacts {
            mode: valid.mode(),
            warnings: valid.warnings().to_vec(),
            external_task_id: valid.external_task_id().clone(),
        };
        if dry_run {
            return Ok(Generated::Preview {
                body: preview_body(valid),
                spend: Spend::of(valid),
                allowance: self.allowance().await,
                request: facts,
            });
        }
        tracing::info!(external_task_id = %facts.external_task_id, mode = ?facts.mode, "submitting");
        let submitted = self.submit(valid, follow.deadline).await;
        // Sent (or given up): free the images and their share of the budget before waiting.
        drop(prepared.release());
        let mut created = match submitted {
            Ok(created) => created,
            Err(error) => {
                return Err(NotBought::Submit {
                    request: facts,
                    error,
                });
            }
        };
        // The id the create carried, when the reply did not echo it.
        created
            .external_task_id
            .get_or_insert_with(|| facts.external_task_id.to_string());
        if let Some(tell) = tell_created {
            let _ = tell.send(created.clone());
        }
        let followed = self
            .follow(&created.task_id, Some(Task::from(&created)), follow)
            .await;
        Ok(Generated::Bought {
            request: facts,
            created,
            followed: Box::new(followed),
        })
    }
}
