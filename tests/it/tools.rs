//! The tool definitions are an API: snapshot them, and check what clients rely on.

use serde_json::{Value, json};

use crate::support::Harness;

/// Sorts object keys recursively so the snapshot does not depend on map order.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[tokio::test]
async fn tools_list_matches_the_snapshot() {
    let h = Harness::start().await;
    let mut tools = h.client.list_all_tools().await.unwrap();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    let value = sorted(serde_json::to_value(&tools).unwrap());
    insta::assert_json_snapshot!("tools_list", value);
    h.stop().await;
}

#[tokio::test]
async fn annotations_say_what_each_tool_does_to_the_world() {
    let h = Harness::start().await;
    let tools = h.client.list_all_tools().await.unwrap();
    let annotations = |name: &str| {
        let tool = tools.iter().find(|t| t.name == name).unwrap();
        serde_json::to_value(tool.annotations.as_ref().unwrap()).unwrap()
    };
    let generate = annotations("generate_video");
    assert_eq!(generate["readOnlyHint"], false);
    assert_eq!(generate["idempotentHint"], false);
    assert_eq!(generate["openWorldHint"], true);
    assert_eq!(generate["destructiveHint"], false);
    let get = annotations("get_video_task");
    assert_eq!(get["readOnlyHint"], true);
    assert_eq!(get["idempotentHint"], true);
    let list = annotations("list_video_tasks");
    assert_eq!(list["readOnlyHint"], true);
    assert_eq!(
        list["openWorldHint"], false,
        "it reads the local task store only"
    );
    h.stop().await;
}

#[tokio::test]
async fn input_and_output_schemas_carry_the_contract_fields() {
    let h = Harness::start().await;
    let tools = h.client.list_all_tools().await.unwrap();
    let generate = tools.iter().find(|t| t.name == "generate_video").unwrap();
    let input = serde_json::to_value(&*generate.input_schema).unwrap();
    for field in [
        "prompt",
        "model_name",
        "image_list",
        "element_list",
        "video_list",
        "mode",
        "aspect_ratio",
        "duration",
        "callback_url",
        "external_task_id",
        "sound",
        "multi_shot",
        "shot_type",
        "multi_prompt",
    ] {
        assert!(input["properties"].get(field).is_some(), "{field}");
    }
    // `prompt` may be left out for a v3 `customize` storyboard; validation names it otherwise.
    assert_eq!(input["required"], Value::Null);
    assert_eq!(input["properties"]["sound"]["type"], "boolean");
    let duration = &input["properties"]["duration"];
    assert_eq!(
        (&duration["minimum"], &duration["maximum"]),
        (&json!(3), &json!(15))
    );
    assert_eq!(
        duration["type"], "integer",
        "the tool takes an integer, sent upstream as a string"
    );
    for tool in tools
        .iter()
        .filter(|t| !["list_video_tasks", "get_balance"].contains(&t.name.as_ref()))
    {
        let output = serde_json::to_value(tool.output_schema.as_deref().unwrap()).unwrap();
        assert_eq!(output["type"], "object");
        assert!(
            output["properties"]["task_id"]["type"]
                .to_string()
                .contains("string")
        );
        let statuses = output["properties"]["status"]["enum"].as_array().unwrap();
        for status in ["submitted", "processing", "succeed", "failed"] {
            assert!(statuses.contains(&json!(status)), "{}: {status}", tool.name);
        }
    }
    // Only a dry run has no task; a poll always has one.
    let get = tools.iter().find(|t| t.name == "get_video_task").unwrap();
    let required = &get.output_schema.as_deref().unwrap()["required"];
    assert!(required.as_array().unwrap().contains(&json!("task_id")));
    h.stop().await;
}

#[tokio::test]
async fn initialize_explains_the_workflow() {
    let h = Harness::start().await;
    let info = h.client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().unwrap().name, "kling-omni-mcp");
    let instructions = info.instructions.clone().unwrap();
    assert!(instructions.contains("generate_video") && instructions.contains("get_video_task"));
    assert!(instructions.contains("1-5 minutes"));
    assert!(
        !instructions.contains("SIMULATION"),
        "only said in --simulate mode"
    );
    assert!(info.capabilities.tools.is_some());
    h.stop().await;
}

#[tokio::test]
async fn the_make_video_prompt_turns_an_idea_into_a_plan() {
    let h = Harness::start().await;
    let prompts = h.client.list_all_prompts().await.unwrap();
    assert_eq!(
        prompts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["make_video"]
    );
    let mut args = serde_json::Map::new();
    args.insert("idea".into(), json!("a paper boat in the rain"));
    args.insert("format".into(), json!("vertical"));
    let prompt = h
        .client
        .get_prompt(rmcp::model::GetPromptRequestParams::new("make_video").with_arguments(args))
        .await
        .unwrap();
    let text = serde_json::to_string(&prompt.messages).unwrap();
    assert!(
        text.contains("a paper boat in the rain")
            && text.contains("9:16")
            && text.contains("dry_run"),
        "{text}"
    );
    let missing = h
        .client
        .get_prompt(rmcp::model::GetPromptRequestParams::new("make_video"))
        .await;
    assert!(missing.is_err(), "idea is required");
    h.stop().await;
}

/// The model-visible part of `tools/list` (names, descriptions, input schemas; compact JSON):
/// every agent pays for it in context on every session.
#[tokio::test]
async fn the_tool_text_stays_under_its_budget() {
    let h = Harness::start().await;
    let tools = h.client.list_all_tools().await.unwrap();
    let bytes: usize = tools
        .iter()
        .map(|tool| {
            let visible = json!({
                "name": tool.name,
                "description": tool.description,
                "inputSchema": &*tool.input_schema,
            });
            serde_json::to_string(&visible).unwrap().len()
        })
        .sum();
    println!("model-visible tools/list: {bytes} bytes");
    assert!(bytes < 7_000, "{bytes} bytes");
    h.stop().await;
}
