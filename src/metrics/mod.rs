//! Process-wide operational metrics, served as Prometheus text at `GET /metrics` (HTTP mode).
//!
//! A leaf module: any layer records in one line ([`tool_call`], [`upstream`], [`store_op`],
//! [`spend_refused`]) and a value that lives elsewhere joins the scrape through
//! [`register_gauge`] (a function read at each scrape; e.g. a request-body budget registers
//! `kling_http_body_budget_bytes_in_use` where it is created). Every label takes values from a closed
//! set (tool names, error kinds, routes, status codes, statement names): never a task id, a
//! caller or a token, so the number of series stays bounded however the server is used.

mod sampled;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use self::sampled::SampledGauges;

/// The `Content-Type` of [`render`]'s text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A CometAPI route, for the upstream request series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST …/omni-video`: a create.
    Submit,
    /// `GET …/omni-video/{id}`: a status query.
    Poll,
    /// A result video fetched from its CDN URL.
    Download,
    /// The balance query.
    Quota,
}

impl Route {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Poll => "poll",
            Self::Download => "download",
            Self::Quota => "quota",
        }
    }
}

/// How an upstream request ended: an HTTP status, or no status at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamOutcome {
    /// The server answered with this status.
    Status(u16),
    /// The request timed out before an answer.
    Timeout,
    /// No answer: connection refused, reset, TLS or DNS failure.
    Network,
}

impl UpstreamOutcome {
    fn label(self) -> String {
        match self {
            // Statuses outside 100-599 are folded so a broken upstream cannot add series.
            Self::Status(code @ 100..=599) => code.to_string(),
            Self::Status(_) => "invalid".to_owned(),
            Self::Timeout => "timeout".to_owned(),
            Self::Network => "network".to_owned(),
        }
    }
}

/// Counts a finished tool call: `tool` is a tool this server has (the caller folds unknown
/// names into `unknown`), `outcome` is `ok`, `task`, or an error kind (`invalid_request`, …).
pub fn tool_call(tool: &str, outcome: &str) {
    let outcome = if is_label_word(outcome) {
        outcome
    } else {
        "other"
    };
    metrics()
        .tool_calls
        .get_or_create(&ToolCall {
            tool: tool.to_owned(),
            outcome: outcome.to_owned(),
        })
        .inc();
}

/// Records one upstream request on `route`: how it ended and how long it took.
pub fn upstream(route: Route, outcome: UpstreamOutcome, elapsed: Duration) {
    let m = metrics();
    m.upstream_requests
        .get_or_create(&UpstreamRequest {
            route: route.as_str(),
            status: outcome.label(),
        })
        .inc();
    m.upstream_seconds
        .get_or_create(&RouteLabel {
            route: route.as_str(),
        })
        .observe(elapsed.as_secs_f64());
}

/// Records how long one task-store operation (`operation`, a statement's name) took.
pub fn store_op(operation: &'static str, elapsed: Duration) {
    metrics()
        .store_seconds
        .get_or_create(&OperationLabel { operation })
        .observe(elapsed.as_secs_f64());
}

/// Counts a request refused by a daily spend limit (`limit`: `videos` or `seconds`).
pub fn spend_refused(limit: &'static str) {
    metrics()
        .spend_refusals
        .get_or_create(&LimitLabel { limit })
        .inc();
}

/// Sets the number of stored tasks in each status (computed at scrape time by the caller).
/// Statuses not listed keep their last value; list every status, zeros included.
pub fn set_tasks_by_status<'a>(counts: impl IntoIterator<Item = (&'static str, i64)> + 'a) {
    let m = metrics();
    for (status, count) in counts {
        m.tasks.get_or_create(&StatusLabel { status }).set(count);
    }
}

/// Adds (or replaces, by `name`) a gauge whose value `read` gives at each scrape: for values
/// kept elsewhere, such as open connections or a memory budget in use. `name` must be a
/// Prometheus metric name (`kling_…`); `help` one sentence.
pub fn register_gauge(
    name: &'static str,
    help: &'static str,
    read: impl Fn() -> i64 + Send + Sync + 'static,
) {
    metrics().sampled.register(name, help, Arc::new(read));
}

/// Removes the gauge `name` added by [`register_gauge`] (its owner stopped).
pub fn unregister_gauge(name: &str) {
    metrics().sampled.unregister(name);
}

/// Every series, in the Prometheus text format ([`CONTENT_TYPE`]).
pub fn render() -> String {
    let mut text = String::new();
    // Writing into a String cannot fail; an encoding error would leave a shorter scrape.
    if let Err(err) =
        prometheus_client::encoding::prometheus_text::encode(&mut text, &metrics().registry)
    {
        tracing::warn!(%err, "encoding the metrics failed");
    }
    text
}

/// Histogram buckets for upstream requests, in seconds (a query takes ~0.1-1 s; a create or a
/// download up to a minute).
const UPSTREAM_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Histogram buckets for store operations, in seconds (SQLite: well under 1 ms; PostgreSQL: a
/// network round trip; anything near the 10 s call timeout is trouble).
const STORE_BUCKETS: [f64; 12] = [
    0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolCall {
    tool: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamRequest {
    route: &'static str,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    tool_calls: Family<ToolCall, Counter>,
    upstream_requests: Family<UpstreamRequest, Counter>,
    upstream_seconds: HistogramFamily<RouteLabel>,
    store_seconds: HistogramFamily<OperationLabel>,
    spend_refusals: Family<LimitLabel, Counter>,
    tasks: Family<StatusLabel, Gauge>,
    sampled: Arc<SampledGauges>,
}

/// The one set of metrics of this process, built on first use.
fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let tool_calls = Family::<ToolCall, Counter>::default();
        registry.register(
            "kling_tool_calls",
            "Tool calls finished, by tool and outcome (ok, task, or the error kind)",
            tool_calls.clone(),
        );
        let upstream_requests = Family::<UpstreamRequest, Counter>::default();
        registry.register(
            "kling_upstream_requests",
            "Requests to CometAPI and its video CDN, by route and HTTP status (or timeout, network)",
            upstream_requests.clone(),
        );
        let upstream_seconds: HistogramFamily<RouteLabel> =
            Family::new_with_constructor(|| Histogram::new(UPSTREAM_BUCKETS));
        registry.register(
            "kling_upstream_request_duration_seconds",
            "Time of a request to CometAPI or its video CDN, by route",
            upstream_seconds.clone(),
        );
        let store_seconds: HistogramFamily<OperationLabel> =
            Family::new_with_constructor(|| Histogram::new(STORE_BUCKETS));
        registry.register(
            "kling_store_operation_duration_seconds",
            "Time of a task-store operation, by operation",
            store_seconds.clone(),
        );
        let spend_refusals = Family::<LimitLabel, Counter>::default();
        registry.register(
            "kling_spend_refusals",
            "Submits refused by a daily spend limit (budget_exceeded), by limit",
            spend_refusals.clone(),
        );
        let tasks = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "kling_tasks",
            "Tasks in the task store, by status (read at scrape time)",
            tasks.clone(),
        );
        let sampled = Arc::new(SampledGauges::default());
        registry.register_collector(Box::new(sampled.clone()));
        Self {
            registry,
            tool_calls,
            upstream_requests,
            upstream_seconds,
            store_seconds,
            spend_refusals,
            tasks,
            sampled,
        }
    }
}

/// A short lower-case word (`invalid_request`): what error kinds look like. Anything else is
/// folded into `other`, so a label never carries free text.
fn is_label_word(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 40
        && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

#[cfg(test)]
mod tests;
