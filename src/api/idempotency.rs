//! The `Idempotency-Key` request header: read, validated and documented once, for every
//! operation that accepts it.

use poem::Request;
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaParamIn, MetaSchema, MetaSchemaRef},
};
use serde::Serialize;

use super::error::ApiError;
use crate::{
    config::Settings,
    store::idempotency::{IdempotencyClaim, IdempotencyMode, Operation},
};

/// Header names accepted for the key, in order of preference.
const HEADERS: [&str; 2] = ["idempotency-key", "x-idempotency-key"];
const MAX_LEN: usize = 255;
/// Printable ASCII: safe to hash, log and compare byte for byte.
const PATTERN: &str = r"^[\x20-\x7e]+$";

/// The client's idempotency key, if it sent one (`Idempotency-Key`, or
/// `X-Idempotency-Key`): 1–255 printable ASCII characters. Use it as an operation parameter
/// named `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

fn parse(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = HEADERS.iter().find_map(|name| req.headers().get(*name)) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if (1..=MAX_LEN).contains(&key.len())
                && key.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::invalid(format!(
            "Idempotency-Key: must be 1-{MAX_LEN} printable ASCII characters"
        ))),
    }
}

impl<'a> ApiExtractor<'a> for IdempotencyKey {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: Some(1),
            max_length: Some(MAX_LEN),
            pattern: Some(PATTERN.to_owned()),
            ..MetaSchema::new("string")
        })))
    }

    fn param_raw_type(&self) -> Option<&String> {
        self.0.as_ref()
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut poem::RequestBody,
        _options: ExtractParamOptions<String>,
    ) -> poem::Result<Self> {
        parse(request).map(IdempotencyKey).map_err(Into::into)
    }
}

impl IdempotencyKey {
    /// A claim on this key for `operation` with the request's canonical `body` (its hash
    /// decides whether a repeated key is the same request), or `None` without a key.
    pub fn claim<B: Serialize>(
        &self,
        settings: &Settings,
        operation: Operation,
        body: &B,
        mode: IdempotencyMode,
    ) -> Result<Option<IdempotencyClaim>, ApiError> {
        let Some(key) = &self.0 else {
            return Ok(None);
        };
        // Only plain structs are serialised here, which cannot fail; if one ever does, the
        // request must not run with a hash of nothing.
        let canonical = serde_json::to_string(body).map_err(|err| {
            tracing::error!(error = %err, "cannot serialise a request body for its hash");
            ApiError::internal()
        })?;
        Ok(Some(IdempotencyClaim::new(
            operation,
            key,
            &canonical,
            settings.idempotency_ttl_seconds,
            mode,
        )))
    }

    /// The claim of a request that will run: its lease is `IDEMPOTENCY_LEASE_SECONDS`.
    pub fn claim_to_run<B: Serialize>(
        &self,
        settings: &Settings,
        operation: Operation,
        body: &B,
    ) -> Result<Option<IdempotencyClaim>, ApiError> {
        let lease_ms = settings.idempotency_lease_seconds * 1000;
        self.claim(
            settings,
            operation,
            body,
            IdempotencyMode::Claim { lease_ms },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder();
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.finish()
    }

    #[test]
    fn either_header_name_is_read_and_the_standard_one_wins() {
        assert_eq!(parse(&with(&[])).unwrap(), None);
        assert_eq!(
            parse(&with(&[("X-Idempotency-Key", "b")])).unwrap(),
            Some("b".into())
        );
        assert_eq!(
            parse(&with(&[
                ("X-Idempotency-Key", "b"),
                ("Idempotency-Key", "a")
            ]))
            .unwrap(),
            Some("a".into())
        );
    }

    #[test]
    fn keys_outside_printable_ascii_or_too_long_are_refused() {
        assert!(parse(&with(&[("Idempotency-Key", "")])).is_err());
        assert!(parse(&with(&[("Idempotency-Key", &"k".repeat(256))])).is_err());
        assert!(parse(&with(&[("Idempotency-Key", "tab\there")])).is_err());
        assert!(parse(&with(&[("Idempotency-Key", &"k".repeat(255))])).is_ok());
    }
}
