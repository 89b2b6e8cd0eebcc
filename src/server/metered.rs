//! Routing a tool call, counting it in the metrics by tool and outcome, and the task counts a
//! metrics scrape reads.

use rmcp::RoleServer;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolRequestParams, CallToolResponse};
use rmcp::service::RequestContext;

use super::KlingServer;
use super::caller::InFlight;
use super::errors::{ERROR_META_KEY, ToolFailure};
use crate::store::{StoreError, StoredStatus};

impl KlingServer {
    /// Runs a call within the caller's limit on concurrent calls, and counts how it ended.
    pub(super) async fn counted_call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let tool = tool_label(&self.tool_router, &request.name);
        let response = self.route_call(request, context).await;
        crate::metrics::tool_call(tool, outcome(&response));
        response
    }

    /// Routes a call to its tool, within the caller's limit on concurrent calls.
    async fn route_call(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, rmcp::ErrorData> {
        let Some(_slot) = self.calls.try_start(&self.caller_of(&context)) else {
            return Ok(ToolFailure::too_many_calls(self.calls.max())
                .into_result()
                .into());
        };
        let _running = InFlight::start(&self.in_flight);
        let keyed = match self.for_caller(&context) {
            Ok(keyed) => keyed,
            Err(failure) => return Ok(failure.into_result().into()),
        };
        let server = keyed.as_ref().unwrap_or(self);
        server
            .tool_router
            .call(ToolCallContext::new(server, request, context))
            .await
    }
}

impl KlingServer {
    /// How many stored tasks are in each status (every status listed): one grouped query.
    pub async fn task_counts(&self) -> Result<Vec<(StoredStatus, i64)>, StoreError> {
        self.jobs.store().count_by_status().await
    }
}

/// The tool's name when this server has it, else `unknown`: a label never takes a name a
/// client made up.
fn tool_label<'a>(router: &'a ToolRouter<KlingServer>, name: &str) -> &'a str {
    router
        .map
        .get_key_value(name)
        .map_or("unknown", |(known, _)| known.as_ref())
}

/// `ok`, `task` (an MCP task was created), the error kind of a failed call, or
/// `protocol_error` (a JSON-RPC error instead of a result).
fn outcome(response: &Result<CallToolResponse, rmcp::ErrorData>) -> &str {
    let result = match response {
        Ok(CallToolResponse::Complete(result)) => result,
        Ok(CallToolResponse::Task(_)) => return "task",
        Ok(CallToolResponse::InputRequired(_)) => return "input_required",
        // A future kind of response (the enum is non-exhaustive).
        Ok(_) => return "other",
        Err(_) => return "protocol_error",
    };
    if result.is_error != Some(true) {
        return "ok";
    }
    result
        .meta
        .as_ref()
        .and_then(|meta| meta.0.get(ERROR_META_KEY))
        .and_then(|error| error.get("kind"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("error")
}
