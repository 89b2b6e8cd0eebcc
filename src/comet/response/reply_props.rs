//! Property tests: no reply body, however odd, makes the parsers panic, and every error they
//! return has a kind and a message.

use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("success"),
            Just("SUCCESS"),
            Just("succeed"),
            Just("failed"),
            Just("IN_PROGRESS"),
            Just("http://x/v.mp4")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("code"),
                    Just("message"),
                    Just("data"),
                    Just("task_id"),
                    Just("task_status"),
                    Just("status"),
                    Just("task_result"),
                    Just("videos"),
                    Just("url"),
                    Just("duration"),
                    Just("error"),
                    Just("fail_reason"),
                    Just("progress"),
                    Just("created_at"),
                    Just("task_info"),
                ]
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_json(value in json_value(), status in prop_oneof![Just(200u16), Just(400), Just(401), Just(429), Just(500), Just(502)]) {
        let body = serde_json::to_vec(&value).unwrap();
        for result in [parse_query(status, "u", &body).map(|_| ()), parse_create(status, "u", &body).map(|_| ())] {
            if let Err(err) = result {
                prop_assert!(!err.kind().as_str().is_empty());
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn parsers_never_panic_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512), status in 100u16..600) {
        let _ = parse_query(status, "u", &body);
        let _ = parse_create(status, "u", &body);
    }

    #[test]
    fn a_parsed_task_is_never_invented(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        if let Ok(task) = parse_query(200, "u", &body) {
            prop_assert!(!task.task_id.as_str().is_empty());
            for video in &task.videos {
                prop_assert!(!video.url.trim().is_empty());
            }
        }
    }
}
