//! Named request examples, where one schema example cannot show the choices a request has.

use serde_json::{Value, json};

use crate::api::simulate::wire::SimulateRequest;

pub fn apply(doc: &mut Value) {
    let examples: serde_json::Map<String, Value> = SimulateRequest::examples()
        .into_iter()
        .map(|(name, summary, request)| {
            let value = serde_json::to_value(request).expect("a request serialises");
            (
                name.to_owned(),
                json!({ "summary": summary, "value": value }),
            )
        })
        .collect();
    if let Some(media) = doc
        .pointer_mut("/paths/~1api~1simulate/post/requestBody/content/application~1json")
        .and_then(Value::as_object_mut)
    {
        media.insert("examples".into(), Value::Object(examples));
    }
}
