//! `GET /api/simulations/{fingerprint}`: a stored result by its fingerprint — what a shared
//! link opens. Free (no token), rate limited like the other reads, and cacheable by anyone:
//! a result is a pure function of its fingerprint, so its `ETag` is the fingerprint and it
//! is `immutable`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::{ApiResponse, OpenApi, param::Path};

use super::{
    ApiTags, admission, auth,
    context::RequestContext,
    error::{ApiError, doc},
    json::RenderedJson,
    simulate::{
        CacheStatus,
        local::{Cached, LocalResults},
        respond,
        wire::SimulationResult,
    },
};
use crate::{config::Settings, store::Store};

const ERRORS: u32 = doc::BASE | doc::NOT_FOUND | doc::INVALID | doc::RATE_LIMITED;

pub struct SimulationsApi {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub local: LocalResults,
}

#[derive(ApiResponse)]
pub enum StoredResponse {
    /// The result, in the shape of a `POST /api/simulate` answer; `meta` describes this
    /// request (`cache_hit: true`, `cost_tokens: 0`).
    #[oai(status = 200)]
    Ok(
        RenderedJson<SimulationResult>,
        /// The fingerprint, quoted.
        #[oai(header = "ETag")]
        String,
        /// `public, max-age=<CACHE_TTL_SECONDS>, immutable`.
        #[oai(header = "Cache-Control")]
        String,
        /// `trickster-oracle; hit`.
        #[oai(header = "Cache-Status")]
        String,
    ),
    /// The result is the one whose fingerprint was sent in `If-None-Match` (it never
    /// changes).
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "ETag")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

#[OpenApi(tag = "ApiTags::Simulation")]
impl SimulationsApi {
    /// A stored simulation by its fingerprint (free; what a shared link opens).
    ///
    /// Answers as long as the result is cached (`CACHE_TTL_SECONDS`); after that, a 404 —
    /// the same inputs and seed sent to `POST /api/simulate` compute the same numbers again.
    #[oai(
        path = "/api/simulations/:fingerprint",
        method = "get",
        operation_id = "getSimulation"
    )]
    async fn stored(
        &self,
        req: &Request,
        /// `meta.fingerprint` of a result: 64 hexadecimal digits.
        #[oai(validator(pattern = r"^[0-9a-f]{64}$"))]
        fingerprint: Path<String>,
    ) -> Result<StoredResponse, ApiError<ERRORS>> {
        let fingerprint = fingerprint.0;
        let slot = auth::optional_actor_slot(&self.settings, req);
        let store = self.store.for_request();
        admission::admit(req, &self.settings, &store, &slot, true, None).await?;
        let tag = format!("\"{fingerprint}\"");
        let cache_control = format!(
            "public, max-age={}, immutable",
            self.settings.cache_ttl_seconds
        );
        if super::etag::not_modified(req, &tag) {
            return Ok(StoredResponse::NotModified(tag, cache_control));
        }
        let stored = match self.local.get(&fingerprint) {
            Some(copy) => Some(copy),
            None => store.cache_get(&fingerprint).await?.map(|stored| {
                self.local.insert(&fingerprint, &stored);
                Arc::from(stored)
            }),
        };
        let Some(stored) = stored else {
            return Err(ApiError::not_found(format!(
                "fingerprint: no result {fingerprint} is stored (results are kept for {} s); \
                 send the same inputs and seed to POST /api/simulate to compute the same numbers again",
                self.settings.cache_ttl_seconds
            )));
        };
        let cached = Cached::read(&stored)?;
        let ctx = RequestContext::of(req);
        ctx.note_cache_hit(true);
        let body = respond(ctx, cached.event, &fingerprint, cached.numbers, None)?;
        Ok(StoredResponse::Ok(
            RenderedJson::new(body),
            tag,
            cache_control,
            CacheStatus::Hit.header().into(),
        ))
    }
}
