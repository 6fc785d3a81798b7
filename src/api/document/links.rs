//! Links between operations (OpenAPI `links`): where a value one response returns is the
//! parameter of another operation. Swagger UI shows them; stateful testers follow them.

use serde_json::{Value, json};

pub fn apply(doc: &mut Value) {
    if let Some(response) = doc
        .pointer_mut("/paths/~1api~1simulate/post/responses/200")
        .and_then(Value::as_object_mut)
    {
        response.insert(
            "links".into(),
            json!({
                "getSimulation": {
                    "operationId": "getSimulation",
                    "parameters": { "fingerprint": "$response.body#/meta/fingerprint" },
                    "description": "The same result again, free, while it is cached: `GET /api/simulations/{fingerprint}` with `meta.fingerprint`."
                }
            }),
        );
    }
}
