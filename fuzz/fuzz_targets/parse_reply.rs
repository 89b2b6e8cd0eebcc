//! Reply parsing, both shapes and every error body: any bytes, any status, never a panic.
#![no_main]

use kling_omni_mcp::comet::{parse_create, parse_query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let status = [200u16, 201, 301, 400, 401, 403, 404, 429, 500, 502, 503, 504][usize::from(first) % 12];
    if let Ok(task) = parse_query(status, "http://fuzz", body) {
        assert!(!task.task_id.is_empty());
    }
    let _ = parse_create(status, "http://fuzz", body);
});
