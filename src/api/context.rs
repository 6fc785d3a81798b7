//! What a request carries through the service: its id, its path, and the facts handlers learn
//! on the way (the caller, a cache hit, headers for the final response).
//!
//! The envelope creates one [`RequestContext`] per request and puts it in the request's
//! extensions; handlers read it from the request they are given ([`RequestContext::of`]) and
//! the envelope reads the facts back when the response is complete — whatever the response
//! is, success or problem.

use std::sync::{Arc, LazyLock, Mutex};

use poem::Request;

use super::trace::TraceContext;

/// The request being served.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: String,
    /// The request path (a problem's `instance`).
    pub path: String,
    /// The request's place in a distributed trace.
    pub trace: TraceContext,
    facts: Arc<Mutex<Facts>>,
}

/// Facts a handler learns: the access-log line reports them, and the envelope adds the
/// headers to whatever response the request ends with.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub actor: Option<String>,
    pub cache_hit: Option<bool>,
    pub headers: Vec<(&'static str, String)>,
}

impl RequestContext {
    pub fn new(request_id: String, path: String, trace: TraceContext) -> Self {
        Self {
            request_id,
            path,
            trace,
            facts: Arc::default(),
        }
    }

    /// The context the envelope gave `req` (an empty one for a request that did not pass
    /// through it, such as a unit test calling an endpoint directly).
    pub fn of(req: &Request) -> &RequestContext {
        static OUTSIDE: LazyLock<RequestContext> = LazyLock::new(RequestContext::default);
        req.extensions()
            .get::<RequestContext>()
            .unwrap_or_else(|| &OUTSIDE)
    }

    fn update(&self, update: impl FnOnce(&mut Facts)) {
        // A poisoned lock only means another thread panicked mid-update; the facts are
        // still the best we have.
        let mut facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        update(&mut facts);
    }

    /// Notes the caller's identity for the access log. (Kept out of the span on purpose: the
    /// JSON formatter re-renders a span's fields on every `record`, a measurable cost per
    /// request; the request id in every line already ties them together.)
    pub fn note_actor(&self, actor: &str) {
        self.update(|facts| facts.actor = Some(actor.to_owned()));
    }

    /// Notes whether the response came from the cache.
    pub fn note_cache_hit(&self, hit: bool) {
        self.update(|facts| facts.cache_hit = Some(hit));
    }

    /// Adds a header to the final response of this request, whatever its status.
    pub fn note_header(&self, name: &'static str, value: String) {
        self.update(|facts| facts.headers.push((name, value)));
    }

    /// The headers noted so far, handed over once (to the response).
    pub fn take_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        self.update(|facts| std::mem::swap(&mut headers, &mut facts.headers));
        headers
    }

    /// The facts noted so far.
    pub fn facts(&self) -> Facts {
        self.facts
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}
