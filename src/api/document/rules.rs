//! Rules the service enforces in code, stated in the document, and the forms client
//! generators expect.
//!
//! - Request objects refuse unknown fields (`additionalProperties: false`).
//! - Bounds that come from settings or constants: `iterations` up to `MAX_ITERATIONS`,
//!   `seed` up to 2^53 − 1, a grant up to `MAX_GRANT`.
//! - Integers use the standard formats `int32`/`int64` with explicit bounds (the derive
//!   writes `uint16`/`uint32`/`uint64`, which generators do not know).
//! - Media types are plain `application/json` (the derive writes `; charset=utf-8`).
//! - `servers` says the document describes the server that serves it.

use serde_json::{Map, Value, json};

use crate::{
    api::{admin::MAX_GRANT, simulate::wire::MAX_SEED},
    config::Settings,
};

/// Request bodies that refuse unknown fields (`deny_unknown_fields` on their types).
const CLOSED_SCHEMAS: [&str; 5] = [
    "CatalogueSimulation",
    "InlineSimulation",
    "EventInput",
    "GrantRequest",
    "ApiKeyRequest",
];

/// The shapes of a simulation request.
const SIMULATION_SHAPES: [&str; 2] = ["CatalogueSimulation", "InlineSimulation"];

pub fn apply(doc: &mut Value, settings: &Settings) {
    bound_fields(doc, settings);
    walk(doc, &mut |node| {
        standard_integer(node);
        plain_json_media_type(node);
    });
    if let Some(request) = doc
        .pointer_mut("/components/schemas/SimulateRequest")
        .and_then(Value::as_object_mut)
    {
        // A choice between two object shapes; the shapes say what they are.
        request.remove("type");
    }
    doc["servers"] = json!([{ "url": "/", "description": "The server that serves this document" }]);
}

fn bound_fields(doc: &mut Value, settings: &Settings) {
    let schemas = &mut doc["components"]["schemas"];
    for name in CLOSED_SCHEMAS {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    for name in SIMULATION_SHAPES {
        let properties = &mut schemas[name]["properties"];
        set(
            &mut properties["iterations"],
            "maximum",
            json!(settings.max_iterations),
        );
        set(&mut properties["seed"], "minimum", json!(0));
        set(&mut properties["seed"], "maximum", json!(MAX_SEED));
    }
    set(
        &mut schemas["GrantRequest"]["properties"]["amount"],
        "maximum",
        json!(MAX_GRANT),
    );
    // A catalogue entry is an event view whose id is always there.
    if let Some(required) = schemas["CatalogueEntry"]["required"].as_array_mut() {
        required.insert(0, json!("event_id"));
    }
}

fn set(node: &mut Value, key: &str, value: Value) {
    if let Some(object) = node.as_object_mut() {
        object.insert(key.into(), value);
    }
}

/// Calls `visit` on every object of the document.
fn walk(node: &mut Value, visit: &mut impl FnMut(&mut Map<String, Value>)) {
    match node {
        Value::Object(object) => {
            visit(object);
            for child in object.values_mut() {
                walk(child, visit);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, visit)),
        _ => {}
    }
}

/// `uint16` → `int32`, `uint32`/`uint64` → `int64`, with the bounds the unsigned type
/// implied (kept when tighter ones are set already), and whole-number bounds written as
/// integers.
fn standard_integer(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) != Some("integer") {
        return;
    }
    let unsigned = match schema.get("format").and_then(Value::as_str) {
        Some("uint16") => Some(("int32", i64::from(u16::MAX))),
        Some("uint32") => Some(("int64", i64::from(u32::MAX))),
        Some("uint64") => Some(("int64", i64::MAX)),
        _ => None,
    };
    if let Some((format, max)) = unsigned {
        schema.insert("format".into(), json!(format));
        schema.entry("minimum").or_insert(json!(0));
        schema.entry("maximum").or_insert(json!(max));
    }
    for bound in ["minimum", "maximum"] {
        if let Some(value) = schema.get(bound).and_then(Value::as_f64)
            && value.fract() == 0.0
        {
            schema.insert(bound.into(), json!(value as i64));
        }
    }
}

fn plain_json_media_type(node: &mut Map<String, Value>) {
    let Some(content) = node.get_mut("content").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(media) = content.remove("application/json; charset=utf-8") {
        content.insert("application/json".into(), media);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_formats_become_standard_ones_with_their_bounds() {
        let mut schema = json!({ "type": "integer", "format": "uint32", "minimum": 100.0 });
        standard_integer(schema.as_object_mut().unwrap());
        assert_eq!(
            schema,
            json!({ "type": "integer", "format": "int64", "minimum": 100, "maximum": 4294967295u64 })
        );
        let mut signed = json!({ "type": "integer", "format": "int64" });
        standard_integer(signed.as_object_mut().unwrap());
        assert_eq!(signed, json!({ "type": "integer", "format": "int64" }));
    }
}
