//! Rules the service enforces in code, stated in the document, and the forms client
//! generators expect.
//!
//! - Request objects refuse unknown fields (`additionalProperties: false`).
//! - Bounds that come from settings or constants: `iterations` up to `MAX_ITERATIONS`,
//!   `seed` up to 2^53 − 1, a grant up to `MAX_GRANT`.
//! - Integers use the standard formats `int32`/`int64` with explicit bounds (the derive
//!   writes `uint16`/`uint32`/`uint64`, which generators do not know).
//! - Media types are plain `application/json` (the derive writes `; charset=utf-8`).
//! - A described reference is `allOf` over the reference alone, the description beside it
//!   (the derive writes `allOf: [{$ref}, {description}]`, which generators read as a merge).
//! - `servers` says the document describes the server that serves it.
//! - The slug of `/problems/{slug}` is one of the problem types' (`enum`).

use serde_json::{Map, Value, json};

use crate::{
    api::{admin::MAX_GRANT, problem::ProblemCode, simulate::wire::MAX_SEED},
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
        described_reference(node);
    });
    if let Some(request) = doc
        .pointer_mut("/components/schemas/SimulateRequest")
        .and_then(Value::as_object_mut)
    {
        // A choice between two object shapes; the shapes say what they are.
        request.remove("type");
    }
    doc["servers"] = json!([{ "url": "/", "description": "The server that serves this document" }]);
    problem_slugs(doc);
}

/// The pages of `/problems/{slug}` are the problem types: the slug is one of theirs (any
/// other answers 404), which Swagger UI offers as a list and generators as an enum.
fn problem_slugs(doc: &mut Value) {
    let slugs: Vec<&str> = ProblemCode::ALL
        .iter()
        .filter_map(|code| code.type_uri().strip_prefix("/problems/"))
        .collect();
    let Some(parameters) = doc
        .pointer_mut("/paths/~1problems~1{slug}/get/parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters {
        if parameter["name"] == "slug" {
            set(&mut parameter["schema"], "enum", json!(slugs));
        }
    }
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

/// A field whose doc comment sits on a `$ref` comes out of the derive as
/// `allOf: [{$ref}, {description}]` (OpenAPI 3.0 ignores siblings of `$ref`). Generators read
/// `allOf` as a merge of object schemas: openapi-python-client refuses it when the reference
/// is an enum or a number and drops the schema with everything that uses it (`Problem`,
/// `Risk`, `SimulationResult`). An `allOf` of the reference alone is read as that reference
/// by every generator, and the description stays beside it for Swagger UI.
fn described_reference(schema: &mut Map<String, Value>) {
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
        return;
    };
    let is_reference = |part: &Value| {
        part.as_object()
            .is_some_and(|p| p.len() == 1 && p.contains_key("$ref"))
    };
    let description_only = |part: &Value| {
        part.as_object()
            .is_some_and(|p| p.keys().all(|k| k == "description"))
    };
    let [first, second] = parts.as_slice() else {
        return;
    };
    let (reference, description) = match (is_reference(first), is_reference(second)) {
        (true, false) if description_only(second) => {
            (first.clone(), second.get("description").cloned())
        }
        (false, true) if description_only(first) => {
            (second.clone(), first.get("description").cloned())
        }
        _ => return,
    };
    schema.insert("allOf".into(), Value::Array(vec![reference]));
    if let Some(description) = description {
        schema.entry("description").or_insert(description);
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

    #[test]
    fn a_described_reference_is_an_all_of_over_the_reference_alone() {
        let mut field = json!({
            "allOf": [{ "$ref": "#/components/schemas/RiskBand" }, { "description": "The band." }]
        });
        described_reference(field.as_object_mut().unwrap());
        assert_eq!(
            field,
            json!({ "allOf": [{ "$ref": "#/components/schemas/RiskBand" }], "description": "The band." })
        );
        let merge = json!({
            "allOf": [{ "$ref": "#/components/schemas/A" }, { "type": "object", "properties": {} }]
        });
        let mut kept = merge.clone();
        described_reference(kept.as_object_mut().unwrap());
        assert_eq!(kept, merge);
    }
}
