use super::*;
use crate::comet::ReplyShape;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/comet/", $name, ".json")).as_slice()
    };
}

const URL: &str = "http://127.0.0.1:9/kling/v1/videos/omni-video";

#[test]
fn create_ok_gives_the_task_and_echoed_external_id() {
    let created = parse_create(200, URL, fixture!("create_ok")).unwrap();
    assert_eq!(created.task_id, "881245093716582431");
    assert_eq!(created.status, TaskStatus::Submitted);
    assert_eq!(
        created.external_task_id.as_deref(),
        Some("kmcp-3f9a1c7e5b2d4a60")
    );
    assert_eq!(created.created_at_ms, Some(1_782_290_112_345));
    assert_eq!(
        created.request_id.as_deref(),
        Some("6b0e2f7a-91c4-4d3e-8a5b-7c2d19e4f053")
    );
}

#[test]
fn create_ok_without_external_id_and_with_another_message() {
    let created = parse_create(200, URL, fixture!("create_ok_no_external")).unwrap();
    assert_eq!(created.task_id, "881246310958247716");
    assert_eq!(created.external_task_id, None);
}

#[test]
fn create_tolerates_numeric_ids_and_top_level_task_id() {
    let numeric = br#"{"code":0,"data":{"task_id":881245093716582431}}"#;
    assert_eq!(
        parse_create(200, URL, numeric).unwrap().task_id,
        "881245093716582431"
    );
    let flat = br#"{"task_id":"42","task_status":"submitted"}"#;
    assert_eq!(parse_create(200, URL, flat).unwrap().task_id, "42");
    let empty = br#"{"code":0,"data":{"task_id":""}}"#;
    assert_eq!(
        parse_create(200, URL, empty).unwrap_err().kind(),
        ErrorKind::MalformedResponse
    );
}

#[test]
fn native_query_statuses() {
    let cases = [
        (fixture!("query_submitted"), TaskStatus::Submitted),
        (fixture!("query_processing"), TaskStatus::Processing),
        (fixture!("query_succeed"), TaskStatus::Succeed),
        (fixture!("query_failed"), TaskStatus::Failed),
    ];
    for (body, status) in cases {
        let task = parse_query(200, URL, body).unwrap();
        assert_eq!(task.status, status);
        assert_eq!(task.shape, ReplyShape::Native);
        assert_eq!(task.videos.is_empty(), status != TaskStatus::Succeed);
    }
}

#[test]
fn native_succeed_keeps_the_duration_text_and_ignores_extra_fields() {
    let task = parse_query(200, URL, fixture!("query_succeed")).unwrap();
    assert_eq!(task.task_id, "881245093716582431");
    assert_eq!(task.status_message, None);
    assert_eq!(
        task.external_task_id.as_deref(),
        Some("kmcp-3f9a1c7e5b2d4a60")
    );
    assert_eq!(task.updated_at_ms, Some(1_782_290_231_874));
    assert_eq!(task.units, Some(8.0), "final_unit_deduction is kept");
    let video = &task.videos[0];
    assert_eq!(
        video.url,
        "https://example.com/kling/outputs/881245093716582431.mp4"
    );
    assert_eq!(video.duration.as_deref(), Some("5.041"));
    assert_eq!(video.duration_seconds(), Some(5.041));
    assert_eq!(
        video.id.as_deref(),
        Some("a3f0c2d8-5e71-4b9a-8c16-2f4e9d07b531")
    );
}

#[test]
fn native_failed_carries_the_reason() {
    let task = parse_query(200, URL, fixture!("query_failed")).unwrap();
    assert!(
        task.status_message
            .unwrap()
            .starts_with("Generation blocked by content-safety")
    );
}

#[test]
fn wrapper_shapes_normalise() {
    let running = parse_query(200, URL, fixture!("wrapper_in_progress")).unwrap();
    assert_eq!(running.status, TaskStatus::Processing);
    assert_eq!(running.shape, ReplyShape::Wrapper);
    assert_eq!(running.progress_percent, Some(30));
    assert_eq!(running.created_at_ms, Some(1_782_288_005_210));

    for body in [
        fixture!("wrapper_success"),
        fixture!("wrapper_success_url_in_fail_reason"),
    ] {
        let done = parse_query(200, URL, body).unwrap();
        assert_eq!(done.status, TaskStatus::Succeed);
        assert_eq!(
            done.status_message, None,
            "a URL in fail_reason is not an error"
        );
        assert_eq!(done.videos.len(), 1);
        assert_eq!(
            done.videos[0].url,
            "https://example.com/kling/outputs/880917362540128837.mp4"
        );
        assert_eq!(done.videos[0].duration_seconds(), Some(5.0));
    }

    let failed = parse_query(200, URL, fixture!("wrapper_failure")).unwrap();
    assert_eq!(failed.status, TaskStatus::Failed);
    assert!(failed.status_message.unwrap().contains("HTTP 403"));
}

#[test]
fn wrapper_url_only_in_fail_reason_is_used_on_success() {
    let body = br#"{"code":"success","data":{"task_id":"7","status":"SUCCESS",
        "fail_reason":"https://example.com/v.mp4","progress":"100%"}}"#;
    let task = parse_query(200, URL, body).unwrap();
    assert_eq!(task.videos[0].url, "https://example.com/v.mp4");
    assert_eq!(task.videos[0].duration, None);
}

#[test]
fn wrapper_outer_status_wins_over_nested() {
    let body = br#"{"code":"success","data":{"task_id":"7","status":"IN_PROGRESS","progress":"95%",
        "data":{"code":0,"data":{"task_id":"7","task_status":"succeed",
        "task_result":{"videos":[{"url":"https://example.com/v.mp4"}]}}}}}"#;
    assert_eq!(
        parse_query(200, URL, body).unwrap().status,
        TaskStatus::Processing
    );
}

#[test]
fn unknown_and_odd_statuses() {
    let body = br#"{"code":0,"data":{"task_id":"1","task_status":"rendering"}}"#;
    assert_eq!(
        parse_query(200, URL, body).unwrap().status,
        TaskStatus::Processing
    );
    let body = br#"{"code":0,"data":{"task_id":"1","task_status":"SUCCEEDED","created_at":0}}"#;
    let task = parse_query(200, URL, body).unwrap();
    assert_eq!(task.status, TaskStatus::Succeed);
    assert_eq!(task.created_at_ms, None);
    assert!(task.videos.is_empty(), "never invent URLs");
}

#[test]
fn error_fixtures_map_to_kinds() {
    let cases = [
        (
            fixture!("error_gateway_invalid_token"),
            401,
            ErrorKind::Auth,
            None,
        ),
        (
            fixture!("error_relay_quota_not_enough"),
            403,
            ErrorKind::InsufficientBalance,
            Some("quota_not_enough"),
        ),
        (
            fixture!("error_kling_1102_balance"),
            429,
            ErrorKind::InsufficientBalance,
            Some("1102"),
        ),
        (
            fixture!("error_kling_1200_invalid_param"),
            400,
            ErrorKind::InvalidRequest,
            Some("1200"),
        ),
        (
            fixture!("error_kling_1301_content_safety"),
            400,
            ErrorKind::ContentRejected,
            Some("1301"),
        ),
        (
            fixture!("error_kling_1303_concurrency"),
            429,
            ErrorKind::RateLimited,
            Some("1303"),
        ),
        (
            fixture!("error_kling_5000_server"),
            500,
            ErrorKind::UpstreamUnavailable,
            Some("5000"),
        ),
    ];
    for (body, status, kind, code) in cases {
        for err in [
            parse_query(status, URL, body).unwrap_err(),
            parse_create(status, URL, body).unwrap_err(),
            // A Kling-shaped error may also arrive with HTTP 200 (§6.1).
        ] {
            assert_eq!(err.kind(), kind, "{}", String::from_utf8_lossy(body));
            assert_eq!(err.code(), code);
            assert_eq!(err.status(), Some(status));
        }
    }
    let err = parse_query(200, URL, fixture!("error_kling_1102_balance")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsufficientBalance);
    assert_eq!(
        err.request_id(),
        Some("2a7c9e15-6b3d-4f08-8e41-d5c0b7a3f926")
    );
}

#[test]
fn html_and_empty_bodies_show_status_and_first_bytes() {
    let html = b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>";
    let err = parse_query(404, URL, html).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    let text = err.to_string();
    assert!(
        text.contains("HTTP 404") && text.contains("<!DOCTYPE html> <html>"),
        "{text}"
    );
    assert!(text.contains(URL), "{text}");

    let err = parse_create(200, URL, b"").unwrap_err();
    assert!(err.to_string().contains("empty body"));
    assert!(err.retryable(), "a 2xx with a bad body may be retried once");

    let err = parse_query(502, URL, b"<html>Bad Gateway</html>").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
}

#[test]
fn long_bodies_are_cut() {
    let body = vec![b'x'; 5000];
    let text = parse_query(200, URL, &body).unwrap_err().to_string();
    assert!(text.len() < 400, "{}", text.len());
}

#[test]
fn unrecognised_json_is_malformed() {
    let err = parse_query(200, URL, br#"{"hello":"world"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    assert!(err.to_string().contains("unrecognised"));
}

#[test]
fn replies_naming_a_task_id_that_is_no_path_segment_are_malformed() {
    for id in ["../omni-video", "a/b", "..", "a b"] {
        let create = format!(r#"{{"code":0,"data":{{"task_id":"{id}"}}}}"#);
        let err = parse_create(200, URL, create.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedResponse, "{id}");
        let query = format!(r#"{{"code":0,"data":{{"task_id":"{id}","task_status":"succeed"}}}}"#);
        let err = parse_query(200, URL, query.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedResponse, "{id}");
    }
    // Surrounding spaces from a liberal upstream are dropped, not refused.
    let spaced = br#"{"code":0,"data":{"task_id":" 42 "}}"#;
    assert_eq!(parse_create(200, URL, spaced).unwrap().task_id, "42");
}
