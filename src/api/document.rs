//! The OpenAPI document as served, and the Swagger UI page built from it.
//!
//! poem-openapi derives most of the document from the types. A few rules live in code the
//! derive cannot see, and are added here so the document states every rule the service
//! enforces (clients and fuzzers can then trust it): bodies refuse unknown fields, a
//! simulation names exactly one of `event_id` or `event`, `iterations` is capped by
//! `MAX_ITERATIONS`, and `seed` is an unsigned 64-bit integer. The same document gives each
//! path's template (the route label of logs and metrics) and methods (the `Allow` header of
//! a 405).

use std::collections::HashMap;

use poem_openapi::{OpenApi, OpenApiService, Webhook};
use serde_json::{Value, json};

use crate::{api::admin::MAX_GRANT, config::Settings};

/// Request bodies that refuse unknown fields (`deny_unknown_fields` on their types).
const CLOSED_SCHEMAS: [&str; 4] = [
    "SimulateRequest",
    "EventInput",
    "GrantRequest",
    "ApiKeyRequest",
];

/// One path of the document.
#[derive(Debug, Clone)]
pub struct PathInfo {
    /// The OpenAPI template, e.g. `/api/admin/api-keys/{key_id}`.
    pub template: String,
    /// Its methods, for the `Allow` header of a 405.
    pub allow: String,
}

pub struct Document {
    /// The OpenAPI document (`/openapi.json`).
    pub json: String,
    /// The Swagger UI page with the document inlined (`/docs`).
    pub swagger_html: String,
    /// Path shape (`/api/admin/api-keys/{}`, see [`shape_of`]) → what the document says of it.
    pub paths: HashMap<String, PathInfo>,
}

pub fn build<T: OpenApi, W: Webhook>(
    service: &OpenApiService<T, W>,
    settings: &Settings,
) -> Document {
    let generated = service.spec();
    let mut doc: Value = serde_json::from_str(&generated).expect("poem-openapi emits JSON");
    refine(&mut doc, settings);
    let json = serde_json::to_string_pretty(&doc).expect("a JSON value serialises");
    let swagger_html = service.swagger_ui_html().replace(&generated, &json);
    let paths = doc["paths"]
        .as_object()
        .map(|paths| {
            paths
                .iter()
                .map(|(path, operations)| {
                    let mut methods: Vec<String> = operations
                        .as_object()
                        .map(|ops| ops.keys().map(|m| m.to_ascii_uppercase()).collect())
                        .unwrap_or_default();
                    methods.sort();
                    let info = PathInfo {
                        template: path.clone(),
                        allow: methods.join(", "),
                    };
                    (shape_of(path), info)
                })
                .collect()
        })
        .unwrap_or_default();
    Document {
        json,
        swagger_html,
        paths,
    }
}

fn refine(doc: &mut Value, settings: &Settings) {
    let schemas = &mut doc["components"]["schemas"];
    // The bound the handler enforces, from its one definition.
    if let Some(amount) = schemas
        .pointer_mut("/GrantRequest/properties/amount")
        .and_then(Value::as_object_mut)
    {
        amount.insert("maximum".into(), json!(MAX_GRANT as f64));
    }
    for name in CLOSED_SCHEMAS {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    if let Some(request) = schemas
        .get_mut("SimulateRequest")
        .and_then(Value::as_object_mut)
    {
        request.insert(
            "oneOf".into(),
            json!([{ "required": ["event_id"] }, { "required": ["event"] }]),
        );
        if let Some(iterations) = request
            .get_mut("properties")
            .and_then(|p| p.get_mut("iterations"))
            .and_then(Value::as_object_mut)
        {
            iterations.insert("maximum".into(), json!(settings.max_iterations));
        }
        // `format: uint64` alone does not bound the value for every client; the exact
        // bounds do (written as integers, which an f64 validator could not).
        if let Some(seed) = request
            .get_mut("properties")
            .and_then(|p| p.get_mut("seed"))
            .and_then(Value::as_object_mut)
        {
            seed.insert("minimum".into(), json!(0));
            seed.insert("maximum".into(), json!(u64::MAX));
        }
    }
}

/// A path with every parameter segment replaced by `{}`, so an OpenAPI template
/// (`/x/{key_id}`) and the route pattern poem reports for it (`/x/:param0`) agree.
pub fn shape_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with(':') || (segment.starts_with('{') && segment.ends_with('}')) {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_and_templates_have_the_same_shape() {
        assert_eq!(
            shape_of("/api/admin/api-keys/:param0"),
            shape_of("/api/admin/api-keys/{key_id}")
        );
        assert_eq!(shape_of("/health"), "/health");
    }
}
