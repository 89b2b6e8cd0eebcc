//! The stdio input path: one line is decoded as a JSON-RPC message, and a tool call's arguments
//! go through the same parsing and validation the tools use. Never a panic.
#![no_main]

use kling_omni_mcp::server::check_tool_call;
use libfuzzer_sys::fuzz_target;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(message) = serde_json::from_slice::<ClientJsonRpcMessage>(data) else { return };
    if let JsonRpcMessage::Request(request) = message
        && let ClientRequest::CallToolRequest(call) = request.request
    {
        let _ = check_tool_call(&call.params.name, call.params.arguments.unwrap_or_default());
    }
});
