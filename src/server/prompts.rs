//! The `make_video` prompt: turns an idea into a good `generate_video` call.

use rmcp::ErrorData;
use rmcp::model::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, Prompt, PromptArgument,
    PromptMessage, Role,
};

/// The one prompt this server offers.
const PROMPT_NAME: &str = "make_video";

/// The prompt list.
pub(super) fn prompts() -> ListPromptsResult {
    let arguments = vec![
        PromptArgument::new("idea")
            .with_description("What the video should show")
            .with_required(true),
        PromptArgument::new("format")
            .with_description("landscape, vertical or square (default landscape)")
            .with_required(false),
    ];
    let prompt = Prompt::new(
        PROMPT_NAME,
        Some(
            "Plan and make a short Kling video from an idea: writes the prompt, checks it with a dry run, submits, and waits for the result.",
        ),
        Some(arguments),
    );
    ListPromptsResult::with_all_items(vec![prompt])
}

/// The `make_video` prompt, filled in.
pub(super) fn prompt(request: &GetPromptRequestParams) -> Result<GetPromptResult, ErrorData> {
    if request.name != PROMPT_NAME {
        return Err(ErrorData::invalid_params(
            format!(
                "unknown prompt {:?}; the only prompt is {PROMPT_NAME}",
                request.name
            ),
            None,
        ));
    }
    let argument = |name: &str| {
        request
            .arguments
            .as_ref()
            .and_then(|args| args.get(name))
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let idea = argument("idea")
        .ok_or_else(|| ErrorData::invalid_params("the `idea` argument is required", None))?;
    let aspect = match argument("format").map(str::to_ascii_lowercase).as_deref() {
        Some("vertical" | "portrait" | "9:16") => "9:16",
        Some("square" | "1:1") => "1:1",
        _ => "16:9",
    };
    let text = format!(
        "Make a short video of: {idea}\n\n\
         1. Write one vivid Kling prompt (under 2500 characters): subject, action, setting, camera movement, lighting and style. If it needs sound or distinct shots, add model_name \"kling-v3-omni\" with sound: true, or multi_shot: true, shot_type \"customize\" and multi_prompt [{{prompt, duration}}] whose durations add up to duration (3-15).\n\
         2. Call generate_video with that prompt, aspect_ratio \"{aspect}\", duration 5, and dry_run: true; fix anything it reports.\n\
         3. Call generate_video again without dry_run (this costs money), then get_video_task with the task_id and wait_seconds: 50 until the status is succeed or failed.\n\
         4. Give me the video URL (it expires in about 30 days), or the reason it failed."
    );
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        text,
    )]))
}
