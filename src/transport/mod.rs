//! The transports that serve the MCP handler ([`crate::server::KlingServer`]) to clients: MCP
//! over stdin/stdout ([`serve_stdio`]) and streamable HTTP ([`serve_http`], with its connection
//! cap, request guard and graceful shutdown). Sits beside `server/`: it uses the handler, the
//! handler knows nothing of it.

mod http;
mod stdio;

pub use http::{
    ConnectionLimits, HttpError, HttpOptions, LOOPBACK_HOSTS, LOOPBACK_ORIGINS, serve_http,
};
pub use stdio::{StdioError, serve_stdio};
