//! Checks across settings: values that are each valid but contradict each other, and the
//! guards that keep an unsafe configuration out of production.

use std::time::Duration;

use super::{AuthMode, Environment, Settings, source::Source};

impl Settings {
    /// Records every contradiction and every production guard that fails.
    pub(super) fn check<F: Fn(&str) -> Option<String>>(&self, src: &Source<F>) {
        self.check_lifetimes(src);
        self.check_production(src);
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
