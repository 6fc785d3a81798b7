//! Checks across settings: values that are each valid but contradict each other, and the
//! guards that keep an unsafe configuration out of production.

use std::time::Duration;

use super::{AuthMode, Environment, RedisTarget, Settings, source::Source};

impl Settings {
    /// Records every contradiction and every production guard that fails.
    pub(super) fn check<F: Fn(&str) -> Option<String>>(&self, src: &Source<F>) {
        self.check_redis(src);
        self.check_lifetimes(src);
        self.check_production(src);
    }

    /// One way to find the primary; Sentinels with the name they know it by; and one way to
    /// reach it (the Sentinel URLs give the primary's scheme, credentials and database).
    fn check_redis<F: Fn(&str) -> Option<String>>(&self, src: &Source<F>) {
        let cluster = src.raw("REDIS_CLUSTER_URLS").is_some();
        let sentinels = src.raw("REDIS_SENTINEL_URLS").is_some();
        let master = src.raw("REDIS_SENTINEL_MASTER").is_some();
        if cluster && sentinels {
            src.fail(
                "REDIS_SENTINEL_URLS",
                "set together with REDIS_CLUSTER_URLS; a deployment uses Sentinel or Cluster, not both",
            );
        }
        if sentinels && !master {
            src.fail(
                "REDIS_SENTINEL_MASTER",
                "required with REDIS_SENTINEL_URLS: the name the Sentinels know the primary by",
            );
        }
        if master && !sentinels {
            src.fail(
                "REDIS_SENTINEL_MASTER",
                "set without REDIS_SENTINEL_URLS; list the Sentinels, or unset it",
            );
        }
        if let RedisTarget::Sentinel { urls, .. } = &self.redis {
            let access = |url: &String| {
                redis::parse_redis_url(url).map(|u| {
                    (
                        u.scheme().to_owned(),
                        u.username().to_owned(),
                        u.password().map(str::to_owned),
                        u.path().trim_matches('/').to_owned(),
                    )
                })
            };
            let first = urls.first().map(access);
            if urls.iter().map(access).any(|a| Some(a) != first) {
                src.fail(
                    "REDIS_SENTINEL_URLS",
                    "every Sentinel URL must give the same scheme, user name, password and database: the primary is reached with them",
                );
            }
        }
    }

    /// A request must end before anything it holds can be taken from it: a request that
    /// outlives its idempotency claim would run (and charge) again on a retry, one that
    /// outlives its hold would keep tokens that were already given back.
    fn check_lifetimes<F: Fn(&str) -> Option<String>>(&self, src: &Source<F>) {
        let ms = |d: Duration| d.as_millis();
        let request = self.request_timeout;
        // After its work the request still settles: one more Redis call.
        let longest = request + self.redis_timeout;
        if self.cache_wait >= request {
            src.fail(
                "CACHE_WAIT_MS",
                format!(
                    "{} must be below REQUEST_TIMEOUT_MS ({}): a request waiting for another instance's computation must stop waiting before its own time is up",
                    ms(self.cache_wait),
                    ms(request)
                ),
            );
        }
        for (variable, seconds) in [
            ("IDEMPOTENCY_LEASE_SECONDS", self.idempotency_lease_seconds),
            ("HOLD_LEASE_SECONDS", self.hold_lease_seconds),
        ] {
            if Duration::from_secs(seconds) <= longest {
                src.fail(
                    variable,
                    format!(
                        "{seconds} s must exceed REQUEST_TIMEOUT_MS + REDIS_TIMEOUT_MS ({} ms): a lease may not end while its request still runs",
                        ms(longest)
                    ),
                );
            }
        }
        if self.http.idle_timeout <= request {
            src.fail(
                "HTTP_IDLE_TIMEOUT_MS",
                format!(
                    "{} must exceed REQUEST_TIMEOUT_MS ({}): a connection waiting for its answer is not idle",
                    ms(self.http.idle_timeout),
                    ms(request)
                ),
            );
        }
    }

    fn check_production<F: Fn(&str) -> Option<String>>(&self, src: &Source<F>) {
        if self.environment != Environment::Production {
            return;
        }
        if self.cors_origins.iter().any(|o| o == "*") {
            src.fail(
                "CORS_ORIGINS",
                "\"*\" is refused in production; list the allowed origins",
            );
        }
        if self.admin_token.is_none() {
            src.fail(
                "ADMIN_TOKEN",
                "required in production (admin routes would be unprotected or unusable)",
            );
        }
        if self.auth_mode == AuthMode::Header && !self.allow_header_auth {
            src.fail(
                "AUTH_MODE",
                "header mode trusts X-Actor-ID from any caller; refused in production unless ALLOW_HEADER_AUTH=true",
            );
        }
    }
}
