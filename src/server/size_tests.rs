//! How much memory each request and each session holds for the handler's futures. rmcp
//! inlines every handler's future into the one of `handle_request`: each request's task holds
//! one, and each session's task holds one (for `initialize`) for as long as the session lives,
//! so one large handler made every idle HTTP session carry its size (issue 24: 1,000 idle
//! sessions, 96-100 MB). The handlers box their bodies; these bounds keep it that way. Sizes
//! are of the debug build (`cargo test`), where futures are largest.
//!
//! Run with `cargo test --lib server::size_tests`.

use std::future::Future;

use rmcp::model::{
    CallToolRequestParams, CancelTaskParams, ClientRequest, GetTaskParams, PaginatedRequestParams,
    ReadResourceRequestParams,
};
use rmcp::service::{RequestContext, Service};
use rmcp::{RoleServer, ServerHandler};

use super::KlingServer;

/// The size of the future `f` returns, without calling it (no server or request is needed).
fn future_size<A, B, Fut: Future>(_: impl FnOnce(&'static KlingServer, A, B) -> Fut) -> usize {
    size_of::<Fut>()
}

type Context = RequestContext<RoleServer>;

/// Before the boxing, reading a resource took 6,264 bytes, listing them 6,144, an MCP task's
/// status 6,008 and cancelling one 5,112.
#[test]
fn every_handler_future_is_small() {
    let handlers = [
        (
            "call_tool",
            future_size(|s, r: CallToolRequestParams, c: Context| {
                ServerHandler::call_tool(s, r, c)
            }),
        ),
        (
            "read_resource",
            future_size(|s, r: ReadResourceRequestParams, c: Context| {
                ServerHandler::read_resource(s, r, c)
            }),
        ),
        (
            "list_resources",
            future_size(|s, r: Option<PaginatedRequestParams>, c: Context| {
                ServerHandler::list_resources(s, r, c)
            }),
        ),
        (
            "get_task",
            future_size(|s, r: GetTaskParams, c: Context| ServerHandler::get_task(s, r, c)),
        ),
        (
            "cancel_task",
            future_size(|s, r: CancelTaskParams, c: Context| ServerHandler::cancel_task(s, r, c)),
        ),
        (
            "list_tools",
            future_size(|s, r: Option<PaginatedRequestParams>, c: Context| {
                ServerHandler::list_tools(s, r, c)
            }),
        ),
    ];
    for (name, size) in handlers {
        assert!(size <= 2048, "{name}'s future is {size} bytes");
    }
}

/// Before the boxing, 8,224 bytes a request (and a session).
#[test]
fn a_request_holds_a_few_kb_for_its_handler() {
    let size = future_size(|s, r: ClientRequest, c: Context| {
        Service::<RoleServer>::handle_request(s, r, c)
    });
    assert!(size <= 5 * 1024, "handle_request's future is {size} bytes");
}
