//! The MCP layer: the server handler, its instructions, and one file per tool. Talks to
//! CometAPI only through [`crate::jobs::Jobs`]; knows nothing about HTTP.

mod args;
mod errors;
mod follow;
mod generate_video;
mod get_video_task;
mod list_video_tasks;
mod local_inputs;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool_handler};
use serde::Serialize;

use crate::jobs::Jobs;
use crate::local_images::AllowedRoots;

pub use errors::ERROR_META_KEY;
pub use follow::LocalFileOutput;
pub use generate_video::{GenerateVideoArgs, GenerateVideoOutput};
pub use get_video_task::{GetVideoTaskArgs, GetVideoTaskOutput, VideoOutput};
pub use list_video_tasks::{ListVideoTasksArgs, ListVideoTasksOutput};

/// How the server tells agents to use it (the `instructions` of the initialize result).
const INSTRUCTIONS: &str = "Makes short videos with Kling O1 Omni through CometAPI.
1. Call generate_video with a prompt (and optional images, elements or one video). It returns a task_id at once; each task costs money (dry_run: true checks for free).
2. Call get_video_task with that task_id, with wait_seconds up to 50 to wait in one call, or every 15-30 s. Jobs usually take 1-5 minutes.
3. On `succeed`, give the user the video URLs (download: true saves them; URLs expire after about 30 days). On `failed`, read status_message, change the input, and submit a new task. list_video_tasks recovers earlier task ids.";

/// Appended to the instructions when the server runs against the built-in simulator.
const SIMULATION_NOTE: &str = "\nSIMULATION MODE: this server talks to a built-in simulated CometAPI. Tasks finish after a few polls, cost nothing, and produce no real video.";

/// Settings of the MCP layer.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Mark every result as coming from the built-in simulator.
    pub simulated: bool,
    /// Directories local images may be read from (the client's MCP roots are added per call).
    pub allowed_roots: AllowedRoots,
}

/// The MCP server: the video tools over the shared job layer.
#[derive(Debug, Clone)]
pub struct KlingServer {
    jobs: Jobs,
    simulated: bool,
    allowed_roots: AllowedRoots,
    tool_router: ToolRouter<Self>,
}

impl KlingServer {
    /// A server that runs jobs through `jobs`.
    pub fn new(jobs: Jobs, options: ServerOptions) -> Self {
        Self {
            jobs,
            simulated: options.simulated,
            allowed_roots: options.allowed_roots,
            tool_router: Self::generate_video_router()
                + Self::get_video_task_router()
                + Self::list_video_tasks_router(),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KlingServer {
    fn get_info(&self) -> ServerConfig {
        let mut instructions = INSTRUCTIONS.to_owned();
        if self.simulated {
            instructions.push_str(SIMULATION_NOTE);
        }
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
                    .with_title("Kling Omni Video (CometAPI)"),
            )
            .with_instructions(instructions)
    }
}

/// A successful result: `structuredContent` matching the tool's `outputSchema`, a short human
/// summary, the same JSON as text for clients that ignore structured output, then `extra`
/// content (resource links).
fn structured_result<T: Serialize>(
    output: &T,
    summary: String,
    extra: Vec<ContentBlock>,
) -> CallToolResult {
    let value = match serde_json::to_value(output) {
        Ok(value) => value,
        // Our output types are plain data; this cannot fail, but never panic on it.
        Err(err) => {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "Error [internal]: could not encode the result: {err}"
            ))]);
        }
    };
    let mut content = vec![
        ContentBlock::text(summary),
        ContentBlock::text(value.to_string()),
    ];
    content.extend(extra);
    let mut result = CallToolResult::success(content);
    result.structured_content = Some(value);
    result
}

/// `serde(skip_serializing_if)` helper.
fn is_false(value: &bool) -> bool {
    !*value
}
