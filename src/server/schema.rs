//! Tool schemas, generated from the Rust types and then made compact: an agent pays for every
//! byte of `tools/list`. Only noise is removed — `$schema`, number `format`s, and the `null`
//! that optional fields get (they are omitted, never sent as `null`); meaning is kept.

use std::sync::Arc;

use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde_json::Value;

/// The compact input schema of a tool whose arguments are `T`.
///
/// `schema_for_input` only fails for a type whose schema is not an object, which the schema
/// snapshot test would catch; falling back to an open object keeps the server up regardless.
pub(crate) fn input_schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    let schema = schema_for_input::<T>().unwrap_or_else(|err| {
        tracing::error!(%err, type_name = std::any::type_name::<T>(), "bad input schema");
        let mut open = JsonObject::new();
        open.insert("type".into(), "object".into());
        Arc::new(open)
    });
    compact(&schema)
}

/// The compact output schema of a tool whose `structuredContent` is `T`.
pub(crate) fn output_schema<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    compact(&schema_for_output::<T>())
}

/// Where tool texts name the longest wait one call may ask for: filled in from `--max-wait`
/// when the server is built, so the texts never disagree with the configuration.
pub(crate) const MAX_WAIT_MARK: &str = "{max-wait}";

/// Fills [`MAX_WAIT_MARK`] in every tool's description and input schema with `seconds`.
pub(crate) fn fill_max_wait<S>(router: &mut ToolRouter<S>, seconds: u64) {
    let seconds = seconds.to_string();
    for route in router.map.values_mut() {
        let tool = &mut route.attr;
        if let Some(description) = tool
            .description
            .as_mut()
            .filter(|d| d.contains(MAX_WAIT_MARK))
        {
            *description = description.replace(MAX_WAIT_MARK, &seconds).into();
        }
        let mut schema = Value::Object(tool.input_schema.as_ref().clone());
        replace_in_strings(&mut schema, &seconds);
        if let Value::Object(schema) = schema {
            tool.input_schema = Arc::new(schema);
        }
    }
}

fn replace_in_strings(value: &mut Value, seconds: &str) {
    match value {
        Value::String(text) if text.contains(MAX_WAIT_MARK) => {
            *text = text.replace(MAX_WAIT_MARK, seconds);
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace_in_strings(item, seconds)),
        Value::Object(fields) => fields
            .values_mut()
            .for_each(|field| replace_in_strings(field, seconds)),
        _ => {}
    }
}

fn compact(schema: &JsonObject) -> Arc<JsonObject> {
    let mut value = Value::Object(schema.clone());
    strip(&mut value);
    match value {
        Value::Object(object) => Arc::new(object),
        _ => Arc::new(schema.clone()),
    }
}

fn strip(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("$schema");
            object.remove("format");
            if let Some(Value::Array(types)) = object.get("type") {
                let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if let [only] = kept.as_slice() {
                    object.insert("type".into(), only.clone());
                }
            }
            if let Some(Value::Array(values)) = object.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            // `Option<Struct>` becomes `anyOf: [{$ref}, {type: null}]`: keep the `$ref`.
            if let Some(Value::Array(options)) = object.get("anyOf") {
                let kept: Vec<Value> = options
                    .iter()
                    .filter(|o| o.get("type") != Some(&Value::from("null")))
                    .cloned()
                    .collect();
                if let [only] = kept.as_slice() {
                    object.remove("anyOf");
                    if let Value::Object(inner) = only {
                        for (key, inner_value) in inner {
                            object
                                .entry(key.clone())
                                .or_insert_with(|| inner_value.clone());
                        }
                    }
                }
            }
            object.values_mut().for_each(strip);
        }
        Value::Array(items) => items.iter_mut().for_each(strip),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nullability_and_noise_are_removed_meaning_is_kept() {
        let Value::Object(schema) = json!({
            "$schema": "x",
            "type": "object",
            "properties": {
                "a": {"type": ["string", "null"], "description": "kept"},
                "b": {"type": ["integer", "null"], "format": "int64", "minimum": 1},
                "c": {"type": ["string", "null"], "enum": ["x", "y", null]},
                "d": {"anyOf": [{"$ref": "#/$defs/D"}, {"type": "null"}], "description": "d"}
            }
        }) else {
            unreachable!()
        };
        let compacted = Value::Object((*compact(&schema)).clone());
        assert_eq!(
            compacted,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": "string", "description": "kept"},
                    "b": {"type": "integer", "minimum": 1},
                    "c": {"type": "string", "enum": ["x", "y"]},
                    "d": {"$ref": "#/$defs/D", "description": "d"}
                }
            })
        );
    }
}
