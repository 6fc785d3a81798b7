//! The generated types read the examples of the document they were generated from, and a
//! problem document arrives as `types::Problem`.

use std::{fs, path::Path};

use serde::de::DeserializeOwned;
use serde_json::Value;
use trickster_oracle_client::{ByteStream, Error, ResponseValue, problem, types};

fn document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    serde_json::from_str(&fs::read_to_string(path).expect("the document")).expect("JSON")
}

fn reads<T: DeserializeOwned>(example: &Value, what: &str) {
    if let Err(err) = serde_json::from_value::<T>(example.clone()) {
        panic!("{what}: the generated type refuses the document's example: {err}");
    }
}

#[test]
fn every_schema_example_reads_as_its_generated_type() {
    let document = document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    let mut read = 0;
    for (name, schema) in schemas {
        let Some(example) = schema.get("example") else {
            continue;
        };
        match name.as_str() {
            "ApiKeyCreated" => reads::<types::ApiKeyCreated>(example, name),
            "ApiKeyRequest" => reads::<types::ApiKeyRequest>(example, name),
            "Balance" => reads::<types::Balance>(example, name),
            "Catalogue" => reads::<types::Catalogue>(example, name),
            "Grant" => reads::<types::Grant>(example, name),
            "GrantRequest" => reads::<types::GrantRequest>(example, name),
            "Health" => reads::<types::Health>(example, name),
            "LedgerPage" => reads::<types::LedgerPage>(example, name),
            "Problem" => reads::<types::Problem>(example, name),
            "Readiness" => reads::<types::Readiness>(example, name),
            "SimulationResult" => reads::<types::SimulationResult>(example, name),
            "VersionInfo" => reads::<types::VersionInfo>(example, name),
            other => panic!("{other} has an example this test does not read yet"),
        }
        read += 1;
    }
    assert!(read >= 12, "only {read} schema examples found");
}

#[test]
fn both_named_simulation_examples_read_as_the_request_type() {
    let document = document();
    let examples = document
        .pointer("/paths/~1api~1simulate/post/requestBody/content/application~1json/examples")
        .and_then(Value::as_object)
        .expect("the named simulation examples");
    assert_eq!(examples.len(), 2);
    for (name, example) in examples {
        let request: types::SimulateRequest =
            serde_json::from_value(example["value"].clone()).expect(name);
        let expected = if name == "catalogue" {
            "catalogue"
        } else {
            "inline"
        };
        let shape = match request {
            types::SimulateRequest::CatalogueSimulation(_) => "catalogue",
            types::SimulateRequest::InlineSimulation(_) => "inline",
        };
        assert_eq!(shape, expected, "example {name}");
    }
}

#[test]
fn an_error_response_reads_as_a_problem() {
    let example = document()["components"]["schemas"]["Problem"]["example"].clone();
    let body = bytes::Bytes::from(serde_json::to_vec(&example).unwrap());
    let stream = ByteStream::new(Box::pin(futures::stream::iter([Ok(body)])));
    let error = Error::ErrorResponse(ResponseValue::new(
        stream,
        reqwest::StatusCode::PAYMENT_REQUIRED,
        reqwest::header::HeaderMap::new(),
    ));
    let problem = futures::executor::block_on(problem(error)).expect("a problem");
    assert_eq!(problem.code, types::ProblemCode::InsufficientTokens);
    assert_eq!((problem.required, problem.available), (Some(1), Some(0)));
}
