//! The MCP handler, [`KlingServer`]: its instructions and capabilities, one file per tool,
//! MCP tasks (`tasks`, sealed ids in `task_ids`), the `make_video` prompt, downloaded videos as
//! resources, and the one place failures become tool results (`errors`, worded by `fixes`).
//! Talks to CometAPI only through [`crate::jobs::Jobs`]. It serves no transport itself:
//! `transport` runs it over stdio or HTTP through its public methods
//! ([`KlingServer::for_new_session`], [`KlingServer::without_client_roots`], shutdown); all it
//! knows of HTTP is the optional caller-key header ([`CLIENT_KEY_HEADER`]).

mod args;
mod caller;
mod calls;
mod errors;
mod fixes;
mod follow;
#[cfg(any(fuzzing, test))]
mod fuzz_entry;
mod generate_video;
mod get_balance;
mod get_video_task;
mod list_video_tasks;
mod metered;
mod player;
mod prompts;
mod resources;
mod roots;
mod schema;
#[cfg(test)]
mod size_tests;
mod task_ids;
mod tasks;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::handler::server::router::tool::ToolRouter;
#[allow(
    deprecated,
    reason = "logging is deprecated from protocol 2026-07-28 (SEP-2577); 2025-11-25 clients use it"
)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams,
    ContentBlock, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult,
    Implementation, ListPromptsResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ResultType, ServerCapabilities, ServerConfig, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool_handler};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::jobs::{self, Jobs};
use crate::local_images::AllowedRoots;

pub use crate::jobs::IMAGE_BUDGET_BYTES;
pub use caller::{CLIENT_KEY_HEADER, caller_id};
use calls::CallLimits;
pub use errors::ERROR_META_KEY;
#[cfg(any(fuzzing, test))]
pub use fuzz_entry::check_tool_call;
pub use generate_video::{GenerateVideoArgs, GenerateVideoOutput};
pub use get_balance::{GetBalanceArgs, GetBalanceOutput};
pub use get_video_task::{GetVideoTaskArgs, GetVideoTaskOutput};
pub use task_ids::{SECRET_ENV as TASK_SECRET_ENV, TaskSecret, TaskSecretError};

pub use list_video_tasks::{ListVideoTasksArgs, ListVideoTasksOutput};
pub use player::{APP_MIME, DEFAULT_PLAYER_ORIGINS, PLAYER_URI, PlayerOptions, UI_EXTENSION};

/// How the server tells agents to use it (the `instructions` of the initialize result).
const INSTRUCTIONS: &str = "Makes short videos with Kling O1 Omni through CometAPI.
1. Call generate_video with a prompt (and optional images, elements or one video). It returns a task_id at once; each task costs money (dry_run: true checks for free).
2. Call get_video_task with that task_id, with wait_seconds up to {max-wait} to wait in one call, or every 15-30 s. Jobs usually take 1-5 minutes.
3. On `succeed`, give the user the video URLs (download: true saves them; URLs expire after about 30 days). On `failed`, read status_message, change the input, and submit a new task. list_video_tasks recovers earlier task ids, and get_balance shows the CometAPI balance left.";

/// Appended to the instructions when the server runs against the built-in simulator.
const SIMULATION_NOTE: &str = "\nSIMULATION MODE: this server talks to a built-in simulated CometAPI. Its tasks (ids starting with sim-) finish after three polls or about 9 s, cost nothing, and every video is the same 2-second sample clip.";

/// Settings of the MCP layer.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Mark every result as coming from the built-in simulator.
    pub simulated: bool,
    /// Directories local images may be read from (the client's MCP roots are added per call).
    pub allowed_roots: AllowedRoots,
    /// Most calls (tool calls and resource reads) one caller may run at once: the stdio client,
    /// or over HTTP one caller ([`caller_id`]) across all its sessions and stateless requests.
    pub max_calls_per_session: usize,
    /// Over HTTP, let a caller use its own CometAPI key (header `X-CometAPI-Key`).
    pub client_keys: bool,
    /// Seals MCP task ids; `None` serves no tasks (the extension is not advertised).
    pub task_secret: Option<Arc<TaskSecret>>,
    /// The MCP Apps player view; `None` turns it off (`--no-player`).
    pub player: Option<PlayerOptions>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            simulated: false,
            allowed_roots: AllowedRoots::default(),
            max_calls_per_session: 16,
            client_keys: false,
            task_secret: None,
            player: Some(PlayerOptions::default()),
        }
    }
}

/// The MCP server: the video tools over the shared job layer.
#[derive(Debug, Clone)]
pub struct KlingServer {
    jobs: Jobs,
    simulated: bool,
    allowed_roots: AllowedRoots,
    /// Whether the client's MCP roots widen `allowed_roots`: only on stdio, where the client
    /// runs on this machine as this user. Over HTTP the client is somewhere else.
    client_roots: bool,
    /// The running calls of each caller, shared by every session.
    calls: Arc<CallLimits>,
    /// Tool calls running in all sessions (for graceful shutdown).
    in_flight: Arc<AtomicUsize>,
    /// Cancelled when the server shuts down: waits end at once.
    shutdown: CancellationToken,
    /// Whether callers may bring their own key, and the job layers for those keys.
    client_keys: bool,
    keyed_jobs: Arc<std::sync::Mutex<std::collections::HashMap<String, Jobs>>>,
    /// Shared by every session: the tool table is built once.
    tool_router: Arc<ToolRouter<Self>>,
    /// Long jobs as MCP tasks, when a task secret is configured.
    tasks: Option<tasks::McpTasks>,
    /// The MCP Apps player, unless turned off.
    player: Option<Arc<PlayerOptions>>,
}

impl KlingServer {
    /// A server that runs jobs through `jobs`.
    pub fn new(jobs: Jobs, options: ServerOptions) -> Self {
        let mut tool_router = Self::generate_video_router()
            + Self::get_video_task_router()
            + Self::list_video_tasks_router()
            + Self::get_balance_router();
        schema::fill_max_wait(&mut tool_router, jobs::whole_seconds(jobs.max_wait()));
        Self {
            jobs,
            simulated: options.simulated,
            allowed_roots: options.allowed_roots,
            client_roots: true,
            calls: Arc::new(CallLimits::new(options.max_calls_per_session)),
            in_flight: Arc::default(),
            shutdown: CancellationToken::new(),
            client_keys: options.client_keys,
            keyed_jobs: Arc::default(),
            tool_router: Arc::new(tool_router),
            tasks: options.task_secret.map(tasks::McpTasks::new),
            player: options.player.map(Arc::new),
        }
    }

    /// The server for a new HTTP session (or one stateless request): shared jobs, shutdown
    /// and per-caller call limits, so opening more sessions never buys more calls.
    pub fn for_new_session(&self) -> Self {
        self.clone()
    }

    /// The same server, but the client's MCP roots never widen what it reads: for the HTTP
    /// transport, whose clients are on other machines.
    pub fn without_client_roots(&self) -> Self {
        Self {
            client_roots: false,
            ..self.clone()
        }
    }

    /// Tool calls running now, in every session.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Starts shutting down: every wait ends now with the current status.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }
}

// Every handler that awaits more than a few bytes of state runs its body in a `Box::pin`:
// rmcp inlines the futures of all handlers into the one of `handle_request`, which each
// request's task holds, and the session's own task holds one for `initialize` for as long as
// the session lives. Unboxed, the largest handler (reading a resource, an MCP task) made every
// idle HTTP session and every request carry several KB they never use (see
// `size_tests.rs`; issue 24, memory per idle session).
#[tool_handler(router = self.tool_router)]
impl ServerHandler for KlingServer {
    /// Routes a call to its tool, within the caller's limit on concurrent calls; counted in
    /// the metrics (`metered.rs`).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        Box::pin(self.counted_call(request, context)).await
    }

    /// Accepts the client's log level. Logs stay on stderr; the level is only recorded.
    #[allow(
        deprecated,
        reason = "logging is deprecated from protocol 2026-07-28 (SEP-2577); 2025-11-25 clients use it"
    )]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        // Protocol 2026-07-28 removed logging/setLevel (a request asks for logs in its `_meta`).
        if context
            .meta
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
        {
            return Err(rmcp::ErrorData::method_not_found::<
                rmcp::model::SetLevelRequestMethod,
            >());
        }
        tracing::info!(level = ?request.level, "client set the log level");
        Ok(())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, rmcp::ErrorData> {
        let keyed = self.for_caller(&context).map_err(|f| f.into_error_data())?;
        let server = keyed.as_ref().unwrap_or(self);
        Box::pin(server.get_mcp_task(request, context)).await
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        let keyed = self.for_caller(&context).map_err(|f| f.into_error_data())?;
        Box::pin(keyed.as_ref().unwrap_or(self).cancel_mcp_task(&request)).await
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        let keyed = self.for_caller(&context).map_err(|f| f.into_error_data())?;
        keyed.as_ref().unwrap_or(self).update_mcp_task(&request)
    }

    /// The tools; a client that declared MCP Apps also sees the player and icons on them.
    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, rmcp::ErrorData> {
        // The same cache hints the generated `list_tools` gives (rmcp's `tool_handler`).
        let cache_hints = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let tools = match self.wants_player(&context) {
            true => self.tools_with_player(),
            false => self.tool_router.list_all(),
        };
        let mut result = ListToolsResult::with_all_items(tools);
        result.result_type = Some(ResultType::COMPLETE);
        result.ttl_ms = cache_hints.then_some(0);
        result.cache_scope = cache_hints.then_some(CacheScope::Public);
        Ok(result)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, rmcp::ErrorData> {
        let keyed = self.for_caller(&context).map_err(|f| f.into_error_data())?;
        let mut listed = Box::pin(keyed.as_ref().unwrap_or(self).video_resources()).await;
        if self.wants_player(&context) {
            listed.resources.insert(0, Self::player_resource());
        }
        Ok(listed)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, rmcp::ErrorData> {
        if let Some(player) = self.read_player(&request) {
            return player.map(Into::into);
        }
        // A video is read whole into memory: reads count against the same limit as calls.
        let Some(_slot) = self.calls.try_start(&self.caller_of(&context)) else {
            return Err(errors::ToolFailure::too_many_calls(self.calls.max()).into_busy_error());
        };
        let keyed = self.for_caller(&context).map_err(|f| f.into_error_data())?;
        Box::pin(keyed.as_ref().unwrap_or(self).read_video(&request))
            .await
            .map(Into::into)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, rmcp::ErrorData> {
        Ok(prompts::prompts())
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, rmcp::ErrorData> {
        prompts::prompt(&request).map(Into::into)
    }
    #[allow(
        deprecated,
        reason = "logging is deprecated from protocol 2026-07-28 (SEP-2577); 2025-11-25 clients use it"
    )]
    fn get_info(&self) -> ServerConfig {
        let mut instructions = INSTRUCTIONS.replace(
            schema::MAX_WAIT_MARK,
            &jobs::whole_seconds(self.jobs.max_wait()).to_string(),
        );
        if self.simulated {
            instructions.push_str(SIMULATION_NOTE);
        }
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .enable_prompts()
            .enable_logging()
            .build();
        if self.tasks.is_some() {
            // The tasks extension only (SEP-2663 has no `capabilities.tasks` slot).
            let tasks = ServerCapabilities::builder().enable_tasks().build();
            capabilities.extensions = tasks.extensions;
        }
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
                    .with_title("Kling Omni Video (CometAPI)")
                    .with_icons(player::icons()),
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
