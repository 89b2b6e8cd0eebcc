//! `GET /metrics`: Prometheus text behind the bearer token, with the series an operator needs,
//! scraped from the real binary after calls against the simulator.
//! Run: `cargo test --test it metrics::`

use std::collections::HashMap;

use serde_json::json;

use crate::http::{HttpServer, TOKEN, call, submit};
use crate::support::{TEST_KEY, error_meta, structured};

/// One sample line: its series (name and labels, as written) and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: String,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4) strictly enough to catch a broken scrape: every
/// line is a `# HELP`/`# TYPE` comment or `name{labels} value`, every sample's family has one
/// TYPE declared before it, label values are quoted, values are numbers.
fn parse(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "two TYPE lines for {name}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let labels = rest.strip_suffix('}').expect("labels end with }");
                for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                    let (key, quoted) = pair.split_once('=').expect("label key=value");
                    assert!(
                        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{line}"
                    );
                    assert!(quoted.starts_with('"'), "{line}");
                }
                (name, labels)
            }
            None => (series, ""),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            .unwrap_or(name);
        assert!(types.contains_key(family), "no TYPE before {line}");
        samples.push(Sample {
            name: name.to_owned(),
            labels: labels.to_owned(),
            value,
        });
    }
    samples
}

/// The value of the series `name` whose labels include every one of `labels` (`key="value"`).
fn value(samples: &[Sample], name: &str, labels: &[&str]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|l| s.labels.contains(l)))
        .map(|s| s.value)
}

async fn scrape(server: &HttpServer, auth: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(server.url.replace("/mcp", "/metrics"));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_scrape_after_calls_counts_tools_upstream_store_spend_and_tasks() {
    let server =
        HttpServer::start(&["--max-videos-per-day", "1", "--allow-private-downloads"]).await;
    let client = server.client().await;
    let task_id = submit(&client, json!({"prompt": "a cat", "aspect_ratio": "16:9"})).await;
    let refused = call(
        &client,
        "generate_video",
        json!({"prompt": "a dog", "aspect_ratio": "16:9"}),
    )
    .await;
    assert_eq!(error_meta(&refused)["kind"], "budget_exceeded");
    let done = call(
        &client,
        "get_video_task",
        json!({"task_id": task_id, "wait_seconds": 20, "download": true}),
    )
    .await;
    assert_eq!(structured(&done)["status"], "succeed", "{done:?}");
    let bad = call(&client, "get_video_task", json!({"task_id": "no/such"})).await;
    assert_eq!(bad.is_error, Some(true));
    let bad_kind = error_meta(&bad)["kind"].as_str().unwrap().to_owned();
    // A made-up tool name must not become a label: it counts as `unknown`.
    let made_up = client
        .call_tool(rmcp::model::CallToolRequestParams::new("no_such_tool_4f1c"))
        .await;
    assert!(made_up.is_err());

    let response = scrape(&server, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    let text = response.text().await.unwrap();
    assert!(!text.contains(TEST_KEY) && !text.contains(TOKEN));
    assert!(!text.contains(&task_id), "no task ids in labels");
    let samples = parse(&text);
    assert!(!text.contains("no_such_tool_4f1c"), "{text}");
    assert_eq!(
        value(
            &samples,
            "kling_tool_calls_total",
            &[r#"tool="unknown""#, r#"outcome="protocol_error""#]
        ),
        Some(1.0),
        "{text}"
    );
    let tools = "kling_tool_calls_total";
    let generate = r#"tool="generate_video""#;
    let get = r#"tool="get_video_task""#;
    assert_eq!(
        value(&samples, tools, &[generate, r#"outcome="ok""#]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, tools, &[generate, r#"outcome="budget_exceeded""#]),
        Some(1.0)
    );
    assert_eq!(value(&samples, tools, &[get, r#"outcome="ok""#]), Some(1.0));
    let bad_outcome = format!(r#"outcome="{bad_kind}""#);
    assert_eq!(value(&samples, tools, &[get, &bad_outcome]), Some(1.0));
    assert_eq!(
        value(
            &samples,
            "kling_spend_refusals_total",
            &[r#"limit="videos""#]
        ),
        Some(1.0)
    );
    let upstream = "kling_upstream_requests_total";
    assert_eq!(
        value(
            &samples,
            upstream,
            &[r#"route="submit""#, r#"status="200""#]
        ),
        Some(1.0),
        "{text}"
    );
    let polls = value(&samples, upstream, &[r#"route="poll""#, r#"status="200""#]).unwrap();
    assert!(
        polls >= 2.0,
        "the simulator finishes after 2 polls: {polls}"
    );
    assert_eq!(
        value(
            &samples,
            upstream,
            &[r#"route="download""#, r#"status="200""#]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            "kling_upstream_request_duration_seconds_count",
            &[r#"route="poll""#]
        ),
        Some(polls)
    );
    let store_ops = "kling_store_operation_duration_seconds_count";
    for operation in [
        "insert_submitting_within_limits",
        "set_created",
        "record_status",
    ] {
        let label = format!(r#"operation="{operation}""#);
        assert!(
            value(&samples, store_ops, &[&label]).is_some_and(|n| n >= 1.0),
            "{operation}\n{text}"
        );
    }
    assert_eq!(
        value(&samples, "kling_tasks", &[r#"status="succeed""#]),
        Some(1.0)
    );
    assert_eq!(
        value(&samples, "kling_tasks", &[r#"status="processing""#]),
        Some(0.0)
    );
    assert_eq!(value(&samples, "kling_http_sessions_open", &[]), Some(1.0));
    assert!(value(&samples, "kling_http_connections_open", &[]).is_some_and(|n| n >= 1.0));
    assert_eq!(
        value(&samples, "kling_image_budget_bytes_in_use", &[]),
        Some(0.0)
    );
    // No body is being read while the scrape is answered (a GET has none).
    assert_eq!(
        value(&samples, "kling_http_body_budget_bytes_in_use", &[]),
        Some(0.0)
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn metrics_need_the_same_bearer_token_as_mcp() {
    let server = HttpServer::start(&[]).await;
    for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
        let response = scrape(&server, auth).await;
        assert_eq!(response.status(), 401, "{auth:?}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("kling_"), "{body}");
    }
    // A page on a rebinding name that resolves here is refused, token or not.
    let rebound = reqwest::Client::new()
        .get(server.url.replace("/mcp", "/metrics"))
        .header("host", "rebind.evil.example")
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let response = scrape(&server, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status(), 200);
    // A fresh server: every series parses, and the task gauges read the (empty) store.
    let samples = parse(&response.text().await.unwrap());
    assert_eq!(
        value(&samples, "kling_tasks", &[r#"status="submitting""#]),
        Some(0.0)
    );
}
