//! Who is calling: the actor (header or API-key mode), the anonymous client address, and
//! the administrator. The security schemes here document the credentials in OpenAPI (so
//! Swagger UI's *Authorize* works); the checks themselves read the request, because which
//! credential counts depends on `AUTH_MODE`, and disabled admin routes must answer 404
//! rather than 401.

use poem::{Request, web::RemoteAddr};
use poem_openapi::{
    SecurityScheme,
    auth::{ApiKey, Bearer},
};
use sha2::{Digest, Sha256};

use super::{context::RequestContext, error::ApiError};
use crate::{
    config::{AuthMode, Settings},
    domain::digest::sha256_hex,
    store::{Slot, Store},
};

/// Length of an API key's public id (hexadecimal digits).
pub const KEY_ID_LEN: usize = 16;

/// `X-Actor-ID` header (`AUTH_MODE=header`).
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "X-Actor-ID", key_in = "header")]
pub struct ActorHeader(pub ApiKey);

/// `Authorization: Bearer <API key>` (`AUTH_MODE=api_key`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct ApiKeyBearer(pub Bearer);

/// The caller's credential; which one counts depends on `AUTH_MODE` (the gate checks it
/// before the operation runs, see `api::gate`).
#[derive(SecurityScheme)]
pub enum CallerAuth {
    ApiKey(ApiKeyBearer),
    Actor(ActorHeader),
}

/// `Authorization: Bearer <ADMIN_TOKEN>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct AdminBearer(pub Bearer);

/// The administrator's credential (checked by the gate before the operation runs).
#[derive(SecurityScheme)]
pub enum AdminAuth {
    Token(AdminBearer),
}

/// `[A-Za-z0-9._:-]{1,64}`: safe in logs and inside Redis key names.
pub fn is_valid_actor(actor: &str) -> bool {
    (1..=64).contains(&actor.len())
        && actor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Compares secrets without leaking where they differ (both sides hashed to equal length).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// A new API key: `tok_<key id>_<secret>`, the key id being public (for revocation).
pub fn new_api_key() -> (String, String) {
    let key_id = uuid::Uuid::new_v4().simple().to_string()[..KEY_ID_LEN].to_owned();
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let key = format!("tok_{key_id}_{secret}");
    (key_id, key)
}

/// Whether `text` has the shape of a key id.
pub fn is_key_id(text: &str) -> bool {
    text.len() == KEY_ID_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn key_id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("tok_")?;
    let (key_id, secret) = rest.split_once('_')?;
    (is_key_id(key_id) && !secret.is_empty()).then_some(key_id)
}

const ACTOR_SCHEME: &str = "X-Actor-ID";
const KEY_SCHEME: &str = "Bearer realm=\"trickster-oracle\"";

/// The credential a caller presents, checked for shape only (no Redis): the actor in
/// header mode, or the API key (with its id) in API-key mode.
enum Presented<'a> {
    Actor(&'a str),
    Key { key: &'a str, key_id: &'a str },
}

fn presented<'a, const D: u32>(
    settings: &Settings,
    req: &'a Request,
) -> Result<Presented<'a>, ApiError<D>> {
    match settings.auth_mode {
        AuthMode::Header => match req.header("x-actor-id") {
            Some(actor) if is_valid_actor(actor) => Ok(Presented::Actor(actor)),
            Some(_) => Err(ApiError::unauthorized(
                "X-Actor-ID must be 1-64 characters from A-Z a-z 0-9 . _ : -",
                ACTOR_SCHEME,
            )),
            None => Err(ApiError::unauthorized(
                "The X-Actor-ID header identifies the caller and is required.",
                ACTOR_SCHEME,
            )),
        },
        AuthMode::ApiKey => {
            let Some(key) = bearer(req) else {
                return Err(ApiError::unauthorized(
                    "An API key is required: Authorization: Bearer <key>.",
                    KEY_SCHEME,
                ));
            };
            match key_id_of(key) {
                Some(key_id) => Ok(Presented::Key { key, key_id }),
                None => Err(ApiError::unauthorized(
                    "This API key is not valid.",
                    KEY_SCHEME,
                )),
            }
        }
    }
}

/// Whether the request carries a credential of the right shape for `AUTH_MODE` — the check
/// made before anything else (see `api::gate`); whose it is, [`caller`] finds out.
pub fn check_presented<const D: u32>(
    settings: &Settings,
    req: &Request,
) -> Result<(), ApiError<D>> {
    presented::<D>(settings, req).map(|_| ())
}

/// The actor making an `/api/*` call, by `AUTH_MODE`. In API-key mode this is one Redis
/// read (the key record); `X-Actor-ID` is ignored there.
pub async fn caller<const D: u32>(
    settings: &Settings,
    store: &Store,
    req: &Request,
) -> Result<String, ApiError<D>> {
    let actor = match presented(settings, req)? {
        Presented::Actor(actor) => actor.to_owned(),
        Presented::Key { key, key_id } => match store.api_key_get(key_id).await? {
            Some(r) if !r.revoked && constant_time_eq(&sha256_hex(key), &r.key_hash) => r.actor_id,
            Some(r) if r.revoked => {
                return Err(ApiError::unauthorized(
                    "This API key has been revoked.",
                    KEY_SCHEME,
                ));
            }
            _ => {
                return Err(ApiError::unauthorized(
                    "This API key is not valid.",
                    KEY_SCHEME,
                ));
            }
        },
    };
    RequestContext::of(req).note_actor(&actor);
    Ok(actor)
}

/// The client's address: the socket peer, or behind `TRUSTED_PROXY_HOPS` proxies the
/// address the outermost of them saw — the N-th `X-Forwarded-For` entry from the right, over
/// all header lines together (entries further left are the client's own claims). A request
/// with fewer entries did not come through the whole chain, so only its peer is trusted.
pub fn client_address(hops: usize, req: &Request) -> Option<std::net::IpAddr> {
    let peer = match req.remote_addr() {
        RemoteAddr(poem::Addr::SocketAddr(addr)) => Some(addr.ip()),
        _ => None,
    };
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect();
    match entries.len().checked_sub(hops) {
        Some(index) => entries[index].parse().ok(),
        None => peer,
    }
}

/// The rate-limit slot of a caller without an actor: its address.
pub fn client_slot(settings: &Settings, req: &Request) -> Slot {
    let address = client_address(settings.trusted_proxy_hops, req);
    Slot::Ip(address.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()))
}

/// The slot of the actor if the request names a valid one, else of the client address
/// (for routes where identifying is optional).
pub fn optional_actor_slot(settings: &Settings, req: &Request) -> Slot {
    match settings.auth_mode {
        AuthMode::Header => match req.header("x-actor-id") {
            Some(actor) if is_valid_actor(actor) => Slot::Actor(actor.to_owned()),
            _ => client_slot(settings, req),
        },
        AuthMode::ApiKey => client_slot(settings, req),
    }
}

/// Admin routes: 404 when no `ADMIN_TOKEN` is configured, 401 without the right token.
pub fn require_admin<const D: u32>(settings: &Settings, req: &Request) -> Result<(), ApiError<D>> {
    let Some(expected) = settings.admin_token.as_deref() else {
        return Err(ApiError::not_found("No resource exists at this path."));
    };
    let scheme = "Bearer realm=\"trickster-oracle-admin\"";
    match bearer(req) {
        Some(token) if constant_time_eq(token, expected) => {
            RequestContext::of(req).note_actor("admin");
            Ok(())
        }
        Some(_) => Err(ApiError::unauthorized(
            "The admin token is not valid.",
            scheme,
        )),
        None => Err(ApiError::unauthorized(
            "Admin routes need Authorization: Bearer <ADMIN_TOKEN>.",
            scheme,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_ids_follow_the_allowed_alphabet() {
        assert!(is_valid_actor("alice.smith:42_x-y"));
        assert!(!is_valid_actor(""));
        assert!(!is_valid_actor("has space"));
        assert!(!is_valid_actor("{tag}"));
        assert!(!is_valid_actor(&"a".repeat(65)));
    }

    #[test]
    fn new_keys_carry_their_id() {
        let (key_id, key) = new_api_key();
        assert_eq!(key_id_of(&key), Some(key_id.as_str()));
        assert_eq!(key_id_of("tok_short_x"), None);
        assert_eq!(key_id_of("not-a-key"), None);
    }

    fn forwarded(lines: &[&str]) -> Request {
        let mut builder = Request::builder();
        for line in lines {
            builder = builder.header("x-forwarded-for", *line);
        }
        builder.finish()
    }

    #[test]
    fn the_trusted_hop_is_counted_from_the_right_over_every_header_line() {
        let spoofed = forwarded(&["6.6.6.6, 1.1.1.1", "10.0.0.2"]);

        assert_eq!(client_address(1, &spoofed), Some([10, 0, 0, 2].into()));
        assert_eq!(client_address(2, &spoofed), Some([1, 1, 1, 1].into()));
        assert_eq!(client_address(3, &spoofed), Some([6, 6, 6, 6].into()));
    }

    #[test]
    fn a_chain_shorter_than_the_trusted_hops_is_not_believed() {
        let direct = forwarded(&["6.6.6.6"]);

        assert_eq!(client_address(2, &direct), None, "the peer, not the header");
        assert_eq!(client_address(0, &direct), None);
        assert_eq!(client_address(1, &forwarded(&["not-an-ip"])), None);
    }

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq("secret-token-123", "secret-token-123"));
        assert!(!constant_time_eq("secret-token-123", "secret-token-124"));
        assert!(!constant_time_eq("a", "ab"));
    }
}
