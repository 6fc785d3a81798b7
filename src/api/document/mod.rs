//! The OpenAPI document as served, and the Swagger UI page built from it.
//!
//! poem-openapi derives most of the document from the types. What the derive cannot say is
//! added afterwards: the rules the service enforces in code (`rules`), so clients and fuzzers
//! can trust the document, the forms client generators expect (`rules`), the response
//! headers and examples (`headers`, `examples`), and the links between operations
//! (`links`). The same document gives each path's template (the route label of logs and
//! metrics), its methods (the `Allow` header of a 405) and its protection (checked by the
//! gate before anything else).

mod examples;
mod headers;
mod links;
mod rules;

use std::collections::HashMap;

use poem_openapi::{OpenApi, OpenApiService, Webhook};
use serde_json::Value;

use crate::config::Settings;

/// Who may call an operation, from the security requirements the document states for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    Open,
    /// A caller's credential (`X-Actor-ID` or an API key, by `AUTH_MODE`).
    Caller,
    /// The admin token.
    Admin,
}

impl Protection {
    fn of(operation: &Value) -> Self {
        let schemes: Vec<&str> = operation["security"]
            .as_array()
            .map(|alternatives| {
                alternatives
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|requirement| requirement.keys().map(String::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if schemes.contains(&"AdminBearer") {
            Self::Admin
        } else if schemes
            .iter()
            .any(|s| ["ActorHeader", "ApiKeyBearer"].contains(s))
        {
            Self::Caller
        } else {
            Self::Open
        }
    }
}

/// One path of the document.
#[derive(Debug, Clone)]
pub struct PathInfo {
    /// The OpenAPI template, e.g. `/api/admin/api-keys/{key_id}`.
    pub template: String,
    /// Its methods, for the `Allow` header of a 405.
    pub allow: String,
    /// The strictest protection of its operations (a path is protected whatever the
    /// method: a disabled admin path answers 404 to every method).
    pub protection: Protection,
}

impl PathInfo {
    /// Whether a request path falls under this template (`{…}` matches one segment).
    pub fn matches(&self, path: &str) -> bool {
        let (mut template, mut actual) = (self.template.split('/'), path.split('/'));
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return true,
                (Some(t), Some(a)) if t.starts_with('{') && t.ends_with('}') && !a.is_empty() => {}
                (Some(t), Some(a)) if t == a => {}
                _ => return false,
            }
        }
    }
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
    rules::apply(&mut doc, settings);
    headers::apply(&mut doc);
    examples::apply(&mut doc);
    links::apply(&mut doc);
    let json = serde_json::to_string_pretty(&doc).expect("a JSON value serialises");
    let swagger_html = service.swagger_ui_html().replace(&generated, &json);
    let paths = doc["paths"]
        .as_object()
        .map(|paths| {
            paths
                .iter()
                .map(|(path, operations)| {
                    let operations = operations.as_object().cloned().unwrap_or_default();
                    let mut methods: Vec<String> =
                        operations.keys().map(|m| m.to_ascii_uppercase()).collect();
                    methods.sort();
                    let protection = operations
                        .values()
                        .map(Protection::of)
                        .max_by_key(|p| match p {
                            Protection::Open => 0,
                            Protection::Caller => 1,
                            Protection::Admin => 2,
                        })
                        .unwrap_or(Protection::Open);
                    let info = PathInfo {
                        template: path.clone(),
                        allow: methods.join(", "),
                        protection,
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
    use serde_json::json;

    use super::*;

    #[test]
    fn a_template_matches_paths_with_one_segment_per_parameter() {
        let info = PathInfo {
            template: "/api/admin/api-keys/{key_id}".into(),
            allow: "DELETE".into(),
            protection: Protection::Admin,
        };
        assert!(info.matches("/api/admin/api-keys/zz"));
        assert!(!info.matches("/api/admin/api-keys/"));
        assert!(!info.matches("/api/admin/api-keys/a/b"));
        assert!(!info.matches("/api/admin/api-keys"));
    }

    #[test]
    fn protection_follows_the_documented_security_schemes() {
        let admin = json!({ "security": [{ "AdminBearer": [] }, {}] });
        let caller = json!({ "security": [{ "ApiKeyBearer": [] }, { "ActorHeader": [] }] });
        assert_eq!(Protection::of(&admin), Protection::Admin);
        assert_eq!(Protection::of(&caller), Protection::Caller);
        assert_eq!(Protection::of(&json!({})), Protection::Open);
    }

    #[test]
    fn route_patterns_and_templates_have_the_same_shape() {
        assert_eq!(
            shape_of("/api/admin/api-keys/:param0"),
            shape_of("/api/admin/api-keys/{key_id}")
        );
        assert_eq!(shape_of("/health"), "/health");
    }
}
