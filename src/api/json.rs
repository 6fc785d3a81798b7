//! Request bodies parsed with serde, so a type error names the field that caused it
//! (`event.home_rating: invalid type: string "x", expected f64`) instead of the schema type.
//!
//! [`Validated<T>`] takes its OpenAPI schema from `T`'s `Object` derive and its parsing from
//! `T`'s `Deserialize` derive; both derives sit on the same struct, so they cannot drift.
//! `Validated<T, S>` takes the schema from another type `S` (a request documented as a
//! choice of two shapes but parsed as one); a test sends every example of the document
//! through the parser, which keeps the two in step.

use std::{borrow::Cow, marker::PhantomData};

use poem::{IntoResponse, Response};
use poem_openapi::{
    payload::{Json, Payload},
    registry::{MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, Type},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON request body parsed into `T`, documented as `S` (by default `T` itself).
#[derive(Debug, Clone)]
pub struct Validated<T, S = T>(pub T, PhantomData<fn() -> S>);

impl<T, S> Validated<T, S> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Send + Sync, S: Type> Type for Validated<T, S> {
    const IS_REQUIRED: bool = S::IS_REQUIRED;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        S::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<T: Send + Sync + DeserializeOwned, S: Type> ParseFromJSON for Validated<T, S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        if !value.is_object() {
            return Err(ParseError::custom("the body must be a JSON object"));
        }
        // The schema has no nullable fields: an explicit null is refused rather than read
        // as "absent", so what the document promises and what the service accepts agree.
        if has_null(&value)
            && let Some(path) = first_null(&value, String::new())
        {
            return Err(ParseError::custom(format!("{path}: must not be null")));
        }
        // The common case, a valid body, without tracking paths; a failure is parsed again
        // with them, for a message that names the field.
        if let Ok(parsed) = T::deserialize(&value) {
            return Ok(Validated(parsed, PhantomData));
        }
        serde_path_to_error::deserialize::<_, T>(value)
            .map(|parsed| Validated(parsed, PhantomData))
            .map_err(|err| {
                let path = err.path().to_string();
                let inner = err.into_inner();
                if path == "." {
                    ParseError::custom(inner.to_string())
                } else {
                    ParseError::custom(format!("{path}: {inner}"))
                }
            })
    }
}

/// Whether `value` holds a `null` anywhere (without building any path).
fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.values().any(has_null),
        Value::Array(items) => items.iter().any(has_null),
        _ => false,
    }
}

/// The path of the first `null` inside `value`, if any.
fn first_null(value: &Value, path: String) -> Option<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Null => Some(path),
        Value::Object(map) => map.iter().find_map(|(k, v)| first_null(v, join(k))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_null(v, format!("{path}[{i}]"))),
        _ => None,
    }
}

/// A JSON response body rendered ahead of time, documented in OpenAPI as `T`.
///
/// The hot path of `POST /api/simulate` serves the cached analysis as stored text with this
/// request's `event` and `meta` spliced in; going through `Json<T>` would rebuild the same
/// bytes from a tree of values on every cache hit.
pub struct RenderedJson<T> {
    body: String,
    schema: PhantomData<fn() -> T>,
}

impl<T> RenderedJson<T> {
    pub fn new(body: String) -> Self {
        Self {
            body,
            schema: PhantomData,
        }
    }
}

impl<T: Type> Payload for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T> IntoResponse for RenderedJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(<Json<Value> as Payload>::CONTENT_TYPE)
            .body(self.body)
    }
}

/// `{"event":…,"meta":…,` + the fields of `object` (a JSON object with at least one field).
pub fn splice_object(head: &[(&str, &str)], object: &str) -> Option<String> {
    let rest = object.strip_prefix('{')?;
    if !rest.ends_with('}') || rest.trim_start().starts_with('}') {
        return None;
    }
    let mut body = String::with_capacity(object.len() + 512);
    body.push('{');
    for (name, value) in head {
        body.push('"');
        body.push_str(name);
        body.push_str("\":");
        body.push_str(value);
        body.push(',');
    }
    body.push_str(rest);
    Some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_spliced_into_an_object() {
        let body = splice_object(&[("event", "{\"a\":1}"), ("meta", "2")], "{\"x\":3}").unwrap();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({ "event": { "a": 1 }, "meta": 2, "x": 3 })
        );
        assert!(splice_object(&[], "{}").is_none());
        assert!(splice_object(&[], "[1]").is_none());
    }

    #[test]
    fn nulls_are_found_with_their_path() {
        let value = serde_json::json!({ "event": { "sport": null }, "seed": 1 });
        assert_eq!(
            first_null(&value, String::new()).as_deref(),
            Some("event.sport")
        );
        assert_eq!(
            first_null(&serde_json::json!({ "a": [1, 2] }), String::new()),
            None
        );
    }
}
