//! Settings from maps: defaults, bad values named, contradictions and production guards.

use super::*;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
    let map = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_map(&map)
}

#[test]
fn defaults_match_the_contract() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.redis_key_prefix, "to");
    assert_eq!(s.max_iterations, 1_000_000);
    assert_eq!(s.max_body_bytes, 65_536);
    assert_eq!(s.daily_tokens, 5);
    assert_eq!(s.simulation_cost, 1);
    assert_eq!(s.rate_limit_per_minute, 10);
    assert_eq!(s.rate_limit_burst, 15);
    assert_eq!(s.cache_ttl_seconds, 3_600);
    assert_eq!(s.idempotency_ttl_seconds, 86_400);
    assert_eq!(s.auth_mode, AuthMode::Header);
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.trusted_proxy_hops, 0);
}

#[test]
fn a_bad_number_names_its_variable() {
    let err = settings(&[("PORT", "eighty")]).unwrap_err();
    assert_eq!(err.variables(), ["PORT"]);
    assert!(err.to_string().contains("PORT"), "{err}");
    assert_eq!(
        settings(&[("MAX_ITERATIONS", "5")])
            .unwrap_err()
            .first()
            .variable,
        "MAX_ITERATIONS"
    );
}

#[test]
fn a_bad_choice_lists_the_options() {
    let err = settings(&[("LOG_FORMAT", "xml")]).unwrap_err();
    assert_eq!(err.variables(), ["LOG_FORMAT"]);
    assert!(err.first().reason.contains("json, pretty"), "{err}");
}

#[test]
fn a_prefix_with_braces_is_refused() {
    assert_eq!(
        settings(&[("REDIS_KEY_PREFIX", "{x}")])
            .unwrap_err()
            .first()
            .variable,
        "REDIS_KEY_PREFIX"
    );
}

#[test]
fn a_non_redis_url_is_refused() {
    assert_eq!(
        settings(&[("REDIS_URL", "http://localhost")])
            .unwrap_err()
            .first()
            .variable,
        "REDIS_URL"
    );
    assert!(settings(&[("REDIS_URL", "rediss://:secret@cache.example:6380/0")]).is_ok());
}

#[test]
fn production_defaults_to_api_keys_and_needs_an_admin_token() {
    let err = settings(&[("ENV", "production")]).unwrap_err();
    assert_eq!(err.variables(), ["ADMIN_TOKEN"]);
    let s = settings(&[("ENV", "production"), ("ADMIN_TOKEN", "0123456789abcdef0")]).unwrap();
    assert_eq!(s.auth_mode, AuthMode::ApiKey);
}

#[test]
fn production_refuses_a_wildcard_origin() {
    let err = settings(&[
        ("ENV", "production"),
        ("ADMIN_TOKEN", "0123456789abcdef0"),
        ("CORS_ORIGINS", "*"),
    ])
    .unwrap_err();
    assert_eq!(err.variables(), ["CORS_ORIGINS"]);
}

#[test]
fn production_refuses_header_auth_unless_allowed() {
    let base = [
        ("ENV", "production"),
        ("ADMIN_TOKEN", "0123456789abcdef0"),
        ("AUTH_MODE", "header"),
    ];
    assert_eq!(settings(&base).unwrap_err().first().variable, "AUTH_MODE");
    let mut allowed = base.to_vec();
    allowed.push(("ALLOW_HEADER_AUTH", "true"));
    assert!(settings(&allowed).is_ok());
}

#[test]
fn a_missing_or_non_pem_ca_file_is_refused() {
    assert_eq!(
        settings(&[("REDIS_TLS_CA_FILE", "/nonexistent/ca.pem")])
            .unwrap_err()
            .first()
            .variable,
        "REDIS_TLS_CA_FILE"
    );
    assert_eq!(
        settings(&[("REDIS_TLS_CA_FILE", "Cargo.toml")])
            .unwrap_err()
            .first()
            .variable,
        "REDIS_TLS_CA_FILE"
    );
}

#[test]
fn cluster_urls_select_the_cluster_client() {
    let s = settings(&[(
        "REDIS_CLUSTER_URLS",
        "redis://127.0.0.1:7000, redis://127.0.0.1:7001",
    )])
    .unwrap();
    assert_eq!(
        s.redis,
        RedisTarget::Cluster(vec![
            "redis://127.0.0.1:7000".into(),
            "redis://127.0.0.1:7001".into()
        ])
    );
}

#[test]
fn sentinel_urls_and_a_master_name_select_the_sentinel_client() {
    let s = settings(&[
        (
            "REDIS_SENTINEL_URLS",
            "redis://:pw@10.0.0.1:26379, redis://:pw@10.0.0.2:26379",
        ),
        ("REDIS_SENTINEL_MASTER", "trickster"),
    ])
    .unwrap();

    assert_eq!(
        s.redis,
        RedisTarget::Sentinel {
            urls: vec![
                "redis://:pw@10.0.0.1:26379".into(),
                "redis://:pw@10.0.0.2:26379".into()
            ],
            master: "trickster".into(),
        }
    );
    assert_eq!(s.redis.mode(), "sentinel");
}

#[test]
fn sentinel_and_cluster_settings_that_contradict_each_other_are_refused() {
    let both = settings(&[
        ("REDIS_CLUSTER_URLS", "redis://127.0.0.1:7000"),
        ("REDIS_SENTINEL_URLS", "redis://127.0.0.1:26379"),
        ("REDIS_SENTINEL_MASTER", "trickster"),
    ])
    .unwrap_err();
    let no_master = settings(&[("REDIS_SENTINEL_URLS", "redis://127.0.0.1:26379")]).unwrap_err();
    let no_sentinels = settings(&[("REDIS_SENTINEL_MASTER", "trickster")]).unwrap_err();
    let empty = settings(&[
        ("REDIS_SENTINEL_URLS", " , "),
        ("REDIS_SENTINEL_MASTER", "trickster"),
    ])
    .unwrap_err();

    assert_eq!(both.variables(), ["REDIS_SENTINEL_URLS"]);
    assert_eq!(no_master.variables(), ["REDIS_SENTINEL_MASTER"]);
    assert_eq!(no_sentinels.variables(), ["REDIS_SENTINEL_MASTER"]);
    assert_eq!(empty.variables(), ["REDIS_SENTINEL_URLS"]);
}

#[test]
fn sentinel_urls_must_agree_on_how_the_primary_is_reached() {
    let err = settings(&[
        (
            "REDIS_SENTINEL_URLS",
            "rediss://:pw@10.0.0.1:26379,redis://:pw@10.0.0.2:26379",
        ),
        ("REDIS_SENTINEL_MASTER", "trickster"),
    ])
    .unwrap_err();
    let bad_name = settings(&[
        ("REDIS_SENTINEL_URLS", "redis://10.0.0.1:26379"),
        ("REDIS_SENTINEL_MASTER", "my master"),
    ])
    .unwrap_err();

    assert_eq!(err.variables(), ["REDIS_SENTINEL_URLS"]);
    assert!(err.first().reason.contains("same scheme"), "{err}");
    assert_eq!(bad_name.variables(), ["REDIS_SENTINEL_MASTER"]);
}

#[test]
fn replica_acks_default_to_none_and_are_bounded() {
    assert_eq!(settings(&[]).unwrap().redis_min_replica_acks, 0);
    let one = settings(&[("REDIS_MIN_REPLICA_ACKS", "1")]).unwrap();
    assert_eq!(one.redis_min_replica_acks, 1);
    assert_eq!(
        settings(&[("REDIS_MIN_REPLICA_ACKS", "17")])
            .unwrap_err()
            .variables(),
        ["REDIS_MIN_REPLICA_ACKS"]
    );
}

#[test]
fn every_bad_variable_is_reported_at_once() {
    let err = settings(&[
        ("PORT", "eighty"),
        ("MAX_ITERATIONS", "5"),
        ("LOG_FORMAT", "xml"),
        ("TRUST_PROXY", "maybe"),
    ])
    .unwrap_err();

    assert_eq!(
        err.variables(),
        ["PORT", "TRUST_PROXY", "LOG_FORMAT", "MAX_ITERATIONS"]
    );
    assert_eq!(err.to_string().lines().count(), 4, "{err}");
}

#[test]
fn a_request_may_not_outlive_its_claim_or_its_hold() {
    let err = settings(&[
        ("CACHE_WAIT_MS", "120000"),
        ("IDEMPOTENCY_LEASE_SECONDS", "1"),
        ("HOLD_LEASE_SECONDS", "1"),
    ])
    .unwrap_err();

    assert_eq!(
        err.variables(),
        [
            "CACHE_WAIT_MS",
            "IDEMPOTENCY_LEASE_SECONDS",
            "HOLD_LEASE_SECONDS"
        ]
    );
    assert!(settings(&[("REQUEST_TIMEOUT_MS", "5000"), ("CACHE_WAIT_MS", "4000")]).is_ok());
}

#[test]
fn a_connection_waiting_for_its_answer_is_not_idle() {
    let err = settings(&[("HTTP_IDLE_TIMEOUT_MS", "20000")]).unwrap_err();
    assert_eq!(err.variables(), ["HTTP_IDLE_TIMEOUT_MS"]);
}

#[test]
fn trust_proxy_is_one_trusted_hop_and_may_not_contradict_the_hop_count() {
    assert_eq!(settings(&[]).unwrap().trusted_proxy_hops, 0);
    assert_eq!(
        settings(&[("TRUST_PROXY", "true")])
            .unwrap()
            .trusted_proxy_hops,
        1
    );
    assert_eq!(
        settings(&[("TRUSTED_PROXY_HOPS", "2")])
            .unwrap()
            .trusted_proxy_hops,
        2
    );
    let err = settings(&[("TRUST_PROXY", "true"), ("TRUSTED_PROXY_HOPS", "2")]).unwrap_err();
    assert_eq!(err.variables(), ["TRUST_PROXY"]);
}

#[test]
fn the_build_commit_falls_back_to_the_one_render_provides() {
    let render = settings(&[("RENDER_GIT_COMMIT", "abc1234")]).unwrap();
    let both = settings(&[
        ("RENDER_GIT_COMMIT", "abc1234"),
        ("BUILD_COMMIT", "def5678"),
    ])
    .unwrap();

    assert_eq!(render.build_commit, "abc1234");
    assert_eq!(both.build_commit, "def5678");
}
