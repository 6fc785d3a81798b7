//! Generates the client from the committed OpenAPI document (`docs/openapi.json`, the document
//! the service serves) into `$OUT_DIR/client.rs`. A shape progenitor cannot generate fails the
//! build with its message.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let document = manifest.join("../../docs/openapi.json");
    println!("cargo:rerun-if-changed={}", document.display());

    let text = fs::read_to_string(&document)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", document.display()));
    let spec = serde_json::from_str(&text).unwrap_or_else(|err| {
        panic!(
            "{} is not an OpenAPI 3.0 document: {err}",
            document.display()
        )
    });

    let mut generator = progenitor::Generator::default();
    let tokens = generator
        .generate_tokens(&spec)
        .unwrap_or_else(|err| panic!("progenitor cannot generate a client: {err}"));
    let file = syn::parse2(tokens).expect("progenitor emits Rust");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo")).join("client.rs");
    fs::write(&out, prettyplease::unparse(&file))
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
}
