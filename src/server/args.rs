//! Tool arguments that fail to deserialize become tool errors the model can act on, not
//! JSON-RPC `-32602` errors (MCP 2025-11-25: input errors are tool execution errors).

use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::JsonObject;
use serde::de::DeserializeOwned;

/// The arguments of a tool call: parsed, or the reason they could not be.
pub(crate) struct ToolArgs<T>(pub(crate) Result<T, ArgumentError>);

/// A tool's argument type: how to read it from the call's JSON object.
pub(crate) trait ToolInput: Sized {
    /// Parses the arguments, naming the field at fault on failure.
    fn from_arguments(arguments: JsonObject) -> Result<Self, ArgumentError>;
}

/// Why a tool's arguments were refused: the JSON path of the field and serde's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArgumentError {
    /// JSON path such as `image_list[1].type`; `None` when the problem is the whole object.
    pub(crate) field: Option<String>,
    /// What is wrong.
    pub(crate) reason: String,
}

impl<S, T: ToolInput> FromContextPart<ToolCallContext<'_, S>> for ToolArgs<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Self(T::from_arguments(arguments)))
    }
}

/// Takes a whole number of seconds out of `arguments` (absent = 0; a numeric string is fine).
pub(crate) fn take_seconds(arguments: &mut JsonObject, name: &str) -> Result<u32, ArgumentError> {
    let invalid = |value: &serde_json::Value| ArgumentError {
        field: Some(name.to_owned()),
        reason: format!("invalid value {value}, expected whole seconds (0 or more)"),
    };
    match arguments.remove(name) {
        None | Some(serde_json::Value::Null) => Ok(0),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.ceil() as u64))
            .map(|s| u32::try_from(s).unwrap_or(u32::MAX))
            .ok_or_else(|| invalid(&serde_json::Value::Number(n))),
        Some(serde_json::Value::String(text)) => text
            .trim()
            .parse()
            .map_err(|_| invalid(&serde_json::Value::String(text))),
        Some(other) => Err(invalid(&other)),
    }
}

/// Takes a boolean control argument out of `arguments` (absent = false; `"true"` accepted).
pub(crate) fn take_flag(arguments: &mut JsonObject, name: &str) -> Result<bool, ArgumentError> {
    match arguments.remove(name) {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(flag)) => Ok(flag),
        Some(serde_json::Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(serde_json::Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(ArgumentError {
            field: Some(name.to_owned()),
            reason: format!("invalid value {other}, expected true or false"),
        }),
    }
}

/// Refuses a top-level field the tool's input schema does not list, naming every field it
/// does: serde's own message would list only the fields of the request type, not the control
/// flags taken out before it (`dry_run`, `wait_seconds`, `download`).
pub(crate) fn refuse_unknown_fields(
    arguments: &JsonObject,
    schema: &JsonObject,
) -> Result<(), ArgumentError> {
    let Some(known) = schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
    else {
        return Ok(());
    };
    match arguments.keys().find(|key| !known.contains_key(*key)) {
        None => Ok(()),
        Some(unknown) => {
            let accepted: Vec<String> = known.keys().map(|k| format!("`{k}`")).collect();
            Err(ArgumentError {
                field: Some(unknown.clone()),
                reason: format!(
                    "unknown field `{unknown}`; the accepted fields are {}",
                    accepted.join(", ")
                ),
            })
        }
    }
}

/// Deserializes arguments, keeping the path of the first field that failed.
pub(crate) fn parse_arguments<T: DeserializeOwned>(
    arguments: JsonObject,
) -> Result<T, ArgumentError> {
    let value = serde_json::Value::Object(arguments);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        ArgumentError {
            field: (path != ".").then_some(path),
            reason: err.into_inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::comet::CreateTaskRequest;

    fn parse(value: serde_json::Value) -> Result<CreateTaskRequest, ArgumentError> {
        let serde_json::Value::Object(map) = value else {
            unreachable!()
        };
        parse_arguments(map)
    }

    #[test]
    fn wrong_enum_values_name_the_json_path_and_the_allowed_values() {
        let err = parse(json!({"prompt": "p", "image_list": [
            {"image_url": "https://example.com/a.png"},
            {"image_url": "https://example.com/b.png", "type": "last_frame"}
        ]}))
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("image_list[1].type"));
        assert_eq!(
            err.reason,
            "unknown variant `last_frame`, expected `first_frame` or `end_frame`"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields() {
        let err = parse(json!({"prompt": 5})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("prompt"));
        assert!(
            err.reason
                .starts_with("invalid type: integer `5`, expected a string")
        );

        // `prompt` may be absent (a v3 storyboard has none; validation names it otherwise), but
        // a shot's may not.
        let err = parse(json!({"multi_prompt": [{"duration": 2}]})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("multi_prompt[0]"));
        assert_eq!(err.reason, "missing field `prompt`");
    }

    #[test]
    fn an_unknown_field_is_named_with_every_accepted_one_control_flags_included() {
        let schema =
            super::super::schema::input_schema::<super::super::generate_video::GenerateVideoArgs>();
        let serde_json::Value::Object(arguments) =
            json!({"prompt": "p", "dry_run": true, "negative_prompt": "blur"})
        else {
            unreachable!()
        };
        let err = refuse_unknown_fields(&arguments, &schema).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("negative_prompt"));
        for field in [
            "prompt",
            "model_name",
            "callback_url",
            "dry_run",
            "wait_seconds",
            "download",
        ] {
            assert!(err.reason.contains(&format!("`{field}`")), "{}", err.reason);
        }
        let serde_json::Value::Object(fine) = json!({"prompt": "p", "wait_seconds": 3}) else {
            unreachable!()
        };
        assert!(refuse_unknown_fields(&fine, &schema).is_ok());
    }

    #[test]
    fn the_request_schema_is_an_object() {
        let schema = rmcp::handler::server::common::schema_for_input::<CreateTaskRequest>();
        assert!(schema.is_ok());
        assert_eq!(
            super::super::schema::input_schema::<CreateTaskRequest>()["type"],
            json!("object")
        );
    }
}
