//! Administration: token grants and API keys. Not rate limited; answers 404 when no
//! `ADMIN_TOKEN` is configured.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::Path,
    payload::Json,
    types::{Example, ToJSON},
};
use serde::{Deserialize, Serialize};

use super::{
    ApiTags,
    admission::{self, Admitted},
    auth,
    context::RequestContext,
    error::{ApiError, ProblemCode, doc},
    idempotency::IdempotencyKey,
    json::Validated,
    rfc3339_ms,
};
use crate::{
    config::Settings,
    domain::digest::sha256_hex,
    store::{
        Slot, Store,
        apikeys::ApiKeyRecord,
        idempotency::{ClaimEnd, IdempotencyClaim, Operation},
        ledger::{GrantOutcome, GrantRequest as Credit},
    },
};

const BASE: u32 = doc::BASE | doc::UNAUTHORIZED | doc::NOT_FOUND;
const GRANT_ERRORS: u32 = BASE | doc::BODY | doc::IN_FLIGHT | doc::KEY_MISMATCH;
const KEY_ERRORS: u32 = BASE | doc::BODY;
/// The largest grant (the document states it too, see `api::document`).
pub const MAX_GRANT: i64 = 1_000_000_000;
/// Longest `reason` of a grant, in characters.
const MAX_REASON: usize = 200;
/// Longest `label` of an API key, in characters.
const MAX_LABEL: usize = 100;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct AdminApi {
    pub settings: Arc<Settings>,
    pub store: Store,
}

/// Tokens to credit to an actor.
#[derive(Debug, Clone, Object, Deserialize, Serialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The actor to credit (`[A-Za-z0-9._:-]{1,64}`).
    #[oai(validator(pattern = r"^[A-Za-z0-9._:-]{1,64}$"))]
    pub actor_id: String,
    /// Tokens to add, 1 to 1 000 000 000.
    #[oai(validator(minimum(value = "1")))]
    pub amount: i64,
    /// Why (shown in the actor's ledger); at most 200 characters.
    #[oai(validator(max_length = 200))]
    pub reason: Option<String>,
}

impl Example for GrantRequest {
    fn example() -> Self {
        Self {
            actor_id: "alice".into(),
            amount: 10,
            reason: Some("course enrolment".into()),
        }
    }
}

/// The grant as applied.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
pub struct Grant {
    pub actor_id: String,
    pub amount: i64,
    /// The actor's balance right after the grant.
    pub balance: i64,
    /// Id of the `grant` ledger entry.
    pub entry_id: String,
    /// Whether this response is a replay of an earlier request with the same idempotency key.
    pub idempotency_replay: bool,
}

impl Example for Grant {
    fn example() -> Self {
        Self {
            actor_id: "alice".into(),
            amount: 10,
            balance: 15,
            entry_id: "1767268800000-0".into(),
            idempotency_replay: false,
        }
    }
}

#[derive(ApiResponse)]
pub enum GrantResponse {
    /// Tokens credited (or, for a repeated idempotency key, the original result).
    #[oai(status = 201)]
    Created(Json<Grant>),
}

/// A key to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(deny_unknown_fields, example)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    /// The actor the key authenticates as (`[A-Za-z0-9._:-]{1,64}`).
    #[oai(validator(pattern = r"^[A-Za-z0-9._:-]{1,64}$"))]
    pub actor_id: String,
    /// A note for administrators, at most 100 characters.
    #[oai(validator(max_length = 100))]
    pub label: Option<String>,
}

impl Example for ApiKeyRequest {
    fn example() -> Self {
        Self {
            actor_id: "alice".into(),
            label: Some("alice's laptop".into()),
        }
    }
}

/// A new API key. The `key` is shown only in this response; only its SHA-256 is stored.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ApiKeyCreated {
    /// Public id, used to revoke the key.
    pub key_id: String,
    pub actor_id: String,
    /// The secret: send it as `Authorization: Bearer <key>`.
    pub key: String,
    pub label: String,
    pub created_at: String,
}

impl Example for ApiKeyCreated {
    fn example() -> Self {
        Self {
            key_id: "3f9a1c2b7d4e5f60".into(),
            actor_id: "alice".into(),
            key: "tok_3f9a1c2b7d4e5f60_<64 hex characters, shown once>".into(),
            label: "alice's laptop".into(),
            created_at: "2026-01-01T12:00:00.000Z".into(),
        }
    }
}

#[derive(ApiResponse)]
pub enum ApiKeyResponse {
    /// The key was created.
    #[oai(status = 201)]
    Created(Json<ApiKeyCreated>),
}

#[derive(ApiResponse)]
pub enum RevokeResponse {
    /// The key is revoked; requests with it now get 401.
    #[oai(status = 204)]
    Revoked,
}

fn validate_actor<const D: u32>(actor: &str) -> Result<(), ApiError<D>> {
    if auth::is_valid_actor(actor) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "actor_id: must be 1-64 characters from A-Z a-z 0-9 . _ : -",
        ))
    }
}

impl AdminApi {
    /// Drops a claim whose grant failed, so a retry runs again. If that fails too, the claim
    /// ends with its lease; the retry meanwhile gets 409 and then runs.
    async fn forget(&self, claim: Option<&IdempotencyClaim>) {
        let Some(claim) = claim else { return };
        if let Err(err) = self
            .store
            .idempotency_finish(&Slot::Admin, claim, &ClaimEnd::Forget)
            .await
        {
            tracing::warn!(error = %err, "could not release the idempotency claim of a failed grant");
        }
    }
}

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminApi {
    /// Credit tokens to an actor (idempotent with `Idempotency-Key`).
    #[oai(
        path = "/api/admin/grants",
        method = "post",
        operation_id = "createGrant"
    )]
    async fn grant(
        &self,
        req: &Request,
        _auth: auth::AdminAuth,
        /// Makes retries safe: the same key and body return the first result.
        #[oai(name = "Idempotency-Key")]
        key: IdempotencyKey,
        body: Json<Validated<GrantRequest>>,
    ) -> Result<GrantResponse, ApiError<GRANT_ERRORS>> {
        auth::require_admin(&self.settings, req)?;
        let grant = body.0.into_inner();
        validate_actor(&grant.actor_id)?;
        if !(1..=MAX_GRANT).contains(&grant.amount) {
            return Err(ApiError::invalid(format!(
                "amount: must be from 1 to {MAX_GRANT}"
            )));
        }
        let reason = grant.reason.clone().unwrap_or_else(|| "admin grant".into());
        if reason.chars().count() > MAX_REASON {
            return Err(ApiError::invalid(format!(
                "reason: at most {MAX_REASON} characters"
            )));
        }

        let claim = key
            .claim_to_run(&self.settings, Operation::Grant, &grant)
            .map_err(ApiError::recast)?;
        let admitted = admission::admit(
            req,
            &self.settings,
            &self.store,
            &Slot::Admin,
            false,
            claim.as_ref(),
        )
        .await?;
        if let Admitted::Replay { body, .. } = admitted {
            let mut replay: Grant =
                serde_json::from_str(&body).map_err(|_| ApiError::internal())?;
            replay.idempotency_replay = true;
            return Ok(GrantResponse::Created(Json(replay)));
        }

        // With a key, the grant id is derived from it, so even a retry after a crash between
        // the grant and the stored response credits once.
        let grant_id = claim.as_ref().map_or_else(
            || uuid::Uuid::new_v4().simple().to_string(),
            |c| c.key_hash.clone(),
        );
        let credit = Credit {
            actor: &grant.actor_id,
            amount: grant.amount,
            reason: &reason,
            request_id: &RequestContext::of(req).request_id,
            grant_id: &grant_id,
            marker_ttl_seconds: self.settings.idempotency_ttl_seconds,
            request_hash: claim.as_ref().map_or("", |c| c.body_hash.as_str()),
        };
        let outcome = match self.store.grant(&credit).await {
            Ok(outcome) => outcome,
            Err(err) => {
                self.forget(claim.as_ref()).await;
                return Err(err.into());
            }
        };
        // A key whose claim was dropped after a grant that did happen (its reply was lost)
        // finds that grant again: answer what it credited, or refuse another body.
        let (balance, entry_id, amount) = match outcome {
            GrantOutcome::Granted {
                balance,
                entry_id,
                amount,
            }
            | GrantOutcome::Duplicate {
                balance,
                entry_id,
                amount,
            } => (balance, entry_id, amount),
            GrantOutcome::Mismatch { .. } => {
                self.forget(claim.as_ref()).await;
                return Err(ApiError::new(
                    ProblemCode::IdempotencyKeyMismatch,
                    "This idempotency key already granted tokens with a different request body.",
                ));
            }
        };
        let result = Grant {
            actor_id: grant.actor_id,
            amount,
            balance,
            entry_id,
            idempotency_replay: false,
        };
        if let Some(claim) = &claim {
            let body = result.to_json_string();
            let end = ClaimEnd::Store {
                status: 201,
                body: &body,
            };
            self.store
                .idempotency_finish(&Slot::Admin, claim, &end)
                .await?;
        }
        Ok(GrantResponse::Created(Json(result)))
    }

    /// Create an API key for an actor (the key is shown once).
    #[oai(
        path = "/api/admin/api-keys",
        method = "post",
        operation_id = "createApiKey"
    )]
    async fn create_api_key(
        &self,
        req: &Request,
        _auth: auth::AdminAuth,
        body: Json<Validated<ApiKeyRequest>>,
    ) -> Result<ApiKeyResponse, ApiError<KEY_ERRORS>> {
        auth::require_admin(&self.settings, req)?;
        let request = body.0.into_inner();
        validate_actor(&request.actor_id)?;
        let label = request.label.unwrap_or_default();
        if label.chars().count() > MAX_LABEL {
            return Err(ApiError::invalid(format!(
                "label: at most {MAX_LABEL} characters"
            )));
        }
        let (key_id, key) = auth::new_api_key();
        let created_ms = now_ms();
        self.store
            .api_key_create(&ApiKeyRecord {
                key_id: key_id.clone(),
                actor_id: request.actor_id.clone(),
                key_hash: sha256_hex(&key),
                label: label.clone(),
                created_ms,
                revoked: false,
            })
            .await?;
        Ok(ApiKeyResponse::Created(Json(ApiKeyCreated {
            key_id,
            actor_id: request.actor_id,
            key,
            label,
            created_at: rfc3339_ms(created_ms),
        })))
    }

    /// Revoke an API key.
    #[oai(
        path = "/api/admin/api-keys/:key_id",
        method = "delete",
        operation_id = "revokeApiKey"
    )]
    async fn revoke_api_key(
        &self,
        req: &Request,
        _auth: auth::AdminAuth,
        /// The key's public id (16 hexadecimal digits).
        #[oai(validator(pattern = r"^[0-9a-f]{16}$"))]
        key_id: Path<String>,
    ) -> Result<RevokeResponse, ApiError<{ BASE | doc::INVALID }>> {
        auth::require_admin(&self.settings, req)?;
        let valid = auth::is_key_id(&key_id.0);
        if valid && self.store.api_key_revoke(&key_id.0, now_ms()).await? {
            Ok(RevokeResponse::Revoked)
        } else {
            Err(ApiError::not_found(format!(
                "key_id: no API key {:?}",
                key_id.0
            )))
        }
    }
}
