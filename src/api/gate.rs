//! Authorisation before anything else: the gate stands between the request envelope and the
//! routes, and refuses a protected operation's request before its body or parameters are
//! read. Which operations are protected, and how, comes from the security requirements the
//! OpenAPI document states for them — one source for the document and the check.
//!
//! - Admin operations: without `ADMIN_TOKEN` the whole path answers the same 404 as an
//!   unknown path, whatever the method or body; without the right token, 401.
//! - Caller operations: a missing or malformed credential is a 401 (whether an API key of
//!   the right shape exists is the handler's one Redis read, made concurrently with its own).
//!
//! A caller refused for its credentials is rate limited by its address first, so guessing
//! credentials, or flooding without any, costs the caller its bucket like any other request.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::{
    admission, auth,
    document::{PathInfo, Protection},
    error::ProblemCode,
};
use crate::{config::Settings, store::Store};

#[derive(Clone)]
pub struct AuthGate {
    pub settings: Arc<Settings>,
    pub store: Store,
    /// The document's paths.
    pub paths: Arc<Vec<PathInfo>>,
}

impl<E: Endpoint> Middleware<E> for AuthGate {
    type Output = AuthGateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AuthGateEndpoint {
            inner,
            gate: self.clone(),
        }
    }
}

pub struct AuthGateEndpoint<E> {
    inner: E,
    gate: AuthGate,
}

impl<E: Endpoint> Endpoint for AuthGateEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let gate = &self.gate;
        let protection = gate
            .paths
            .iter()
            .find(|p| p.matches(req.uri().path()))
            .map_or(Protection::Open, |p| p.protection);
        let verdict = match protection {
            Protection::Open => Ok(()),
            Protection::Caller => auth::check_presented::<0>(&gate.settings, &req),
            Protection::Admin => auth::require_admin::<0>(&gate.settings, &req),
        };
        match verdict {
            Ok(()) => self.inner.call(req).await.map(IntoResponse::into_response),
            Err(refused) if refused.code == ProblemCode::Unauthorized => {
                let slot = auth::client_slot(&gate.settings, &req);
                let limited =
                    admission::admit::<0>(&req, &gate.settings, &gate.store, &slot, true, None)
                        .await;
                Ok(match limited {
                    Ok(_) => refused.into_response(),
                    Err(err) => err.into_response(),
                })
            }
            Err(refused) => Ok(refused.into_response()),
        }
    }
}
