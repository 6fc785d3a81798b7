//! Container image names. One variable, `TRICKSTER_IMAGE_PREFIX`, says where the images come
//! from: unset or empty means Docker Hub's names (`redis:7.0`); `scripts/build-images.sh`
//! prints `trickster-local/` when it had to build them without a registry, and the scripts
//! export that. docker-compose.yml and the Dockerfile read the same variable.

/// The variable holding the prefix put in front of every image name.
pub const PREFIX_VAR: &str = "TRICKSTER_IMAGE_PREFIX";

/// The Redis image, without prefix.
pub const REDIS: &str = "redis:7.0";

/// `name` with the configured prefix.
pub fn with_prefix(name: &str) -> String {
    format!("{}{name}", std::env::var(PREFIX_VAR).unwrap_or_default())
}

/// The project's Redis image (`redis:7.0`, or e.g. `trickster-local/redis:7.0`).
pub fn redis() -> String {
    with_prefix(REDIS)
}
