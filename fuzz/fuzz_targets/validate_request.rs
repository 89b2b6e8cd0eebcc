//! Request parsing, validation and serialisation: any JSON, never a panic; a valid request
//! serialises and parses back to the same request.
#![no_main]

use kling_omni_mcp::comet::CreateTaskRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<CreateTaskRequest>(data) else { return };
    if let Ok(valid) = request.validate() {
        let body = serde_json::to_vec(valid.body()).expect("a valid request serialises");
        let again: CreateTaskRequest = serde_json::from_slice(&body).expect("and parses back");
        assert_eq!(&again, valid.body());
    }
});
