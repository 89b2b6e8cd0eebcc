//! The fuzz target's way in: a tool call's arguments parsed and validated exactly as the
//! tools do, without running anything.

use super::args::{self, ToolInput};
use super::{GenerateVideoArgs, GetVideoTaskArgs, ListVideoTasksArgs};

/// Parses and validates a tool call's arguments exactly as the tools do, without running it:
/// `Ok` with the tool's name, or the error text the tool would return. (For fuzzing the input
/// path; no network, no files beyond what validation reads.) Built only for cargo-fuzz and
/// this crate's own tests.
#[cfg(any(fuzzing, test))]
pub fn check_tool_call(tool: &str, arguments: rmcp::model::JsonObject) -> Result<(), String> {
    let refused = |err: args::ArgumentError| format!("{err:?}");
    match tool {
        "generate_video" => {
            let args = GenerateVideoArgs::from_arguments(arguments).map_err(refused)?;
            args.request
                .validate()
                .map(|_| ())
                .map_err(|v| format!("{v:?}"))
        }
        "get_video_task" => GetVideoTaskArgs::from_arguments(arguments)
            .map(|_| ())
            .map_err(refused),
        "list_video_tasks" => ListVideoTasksArgs::from_arguments(arguments)
            .map(|_| ())
            .map_err(refused),
        other => Err(format!("unknown tool {other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::check_tool_call;

    #[test]
    fn the_fuzzed_input_path_checks_arguments_like_the_tools() {
        let object = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let ok = json!({"prompt": "p", "aspect_ratio": "1:1"});
        assert!(check_tool_call("generate_video", object(ok)).is_ok());
        let missing = check_tool_call("generate_video", object(json!({"prompt": "p"})));
        assert!(missing.unwrap_err().contains("aspect_ratio"));
        assert!(check_tool_call("get_video_task", object(json!({"task_id": 5}))).is_ok());
        assert!(check_tool_call("list_video_tasks", object(json!({"bogus": 1}))).is_err());
        assert!(check_tool_call("nope", object(json!({}))).is_err());
    }
}
