//! The metrics are process-wide and tests run in parallel: each test uses label values and
//! gauge names of its own. Run: `cargo test --lib metrics::`

use super::*;

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn tool_calls_count_by_tool_and_outcome_and_free_text_is_folded() {
    tool_call("unit_tool_a", "ok");
    tool_call("unit_tool_a", "ok");
    tool_call("unit_tool_a", "invalid_request");
    tool_call("unit_tool_a", "Error: sk-secret in a message");
    let text = render();
    assert_eq!(
        sample(
            &text,
            r#"kling_tool_calls_total{tool="unit_tool_a",outcome="ok"}"#
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"kling_tool_calls_total{tool="unit_tool_a",outcome="invalid_request"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"kling_tool_calls_total{tool="unit_tool_a",outcome="other"}"#
        ),
        Some(1.0)
    );
    assert!(!text.contains("sk-secret"));
    assert!(text.contains("# TYPE kling_tool_calls_total counter"));
}

#[test]
fn upstream_requests_have_a_status_and_a_latency_histogram() {
    upstream(
        Route::Quota,
        UpstreamOutcome::Status(200),
        Duration::from_millis(70),
    );
    upstream(
        Route::Quota,
        UpstreamOutcome::Timeout,
        Duration::from_secs(3),
    );
    upstream(
        Route::Quota,
        UpstreamOutcome::Status(9999),
        Duration::from_millis(1),
    );
    let text = render();
    for (status, count) in [("200", 1.0), ("timeout", 1.0), ("invalid", 1.0)] {
        let series = format!(r#"kling_upstream_requests_total{{route="quota",status="{status}"}}"#);
        assert_eq!(sample(&text, &series), Some(count), "{series}\n{text}");
    }
    assert_eq!(
        sample(
            &text,
            r#"kling_upstream_request_duration_seconds_count{route="quota"}"#
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"kling_upstream_request_duration_seconds_bucket{route="quota",le="0.1"}"#
        ),
        Some(2.0),
        "{text}"
    );
}

#[test]
fn a_registered_gauge_is_read_at_each_scrape_and_replaced_by_name() {
    let value = Arc::new(std::sync::atomic::AtomicI64::new(5));
    let read = value.clone();
    register_gauge("kling_unit_test_gauge", "A test gauge", move || {
        read.load(std::sync::atomic::Ordering::SeqCst)
    });
    assert_eq!(sample(&render(), "kling_unit_test_gauge"), Some(5.0));
    value.store(7, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(sample(&render(), "kling_unit_test_gauge"), Some(7.0));
    register_gauge("kling_unit_test_gauge", "A test gauge", || 9);
    let text = render();
    assert_eq!(sample(&text, "kling_unit_test_gauge"), Some(9.0));
    assert_eq!(
        text.matches("# TYPE kling_unit_test_gauge gauge").count(),
        1
    );
    unregister_gauge("kling_unit_test_gauge");
    assert_eq!(sample(&render(), "kling_unit_test_gauge"), None);
}

#[test]
fn store_operations_and_spend_refusals_are_recorded() {
    store_op("unit_test_op", Duration::from_micros(300));
    spend_refused("unit_test_limit");
    let text = render();
    assert_eq!(
        sample(
            &text,
            r#"kling_store_operation_duration_seconds_count{operation="unit_test_op"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"kling_spend_refusals_total{limit="unit_test_limit"}"#
        ),
        Some(1.0)
    );
}
