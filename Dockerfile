# Container image of the Trickster Oracle API.
#
# Default target (`docker build .`): compile the release binary in a Rust
# builder stage, then copy it into a small Debian runtime image.
#
#   docker build --build-arg BUILD_COMMIT="$(git rev-parse --short HEAD)" \
#     -t trickster-oracle:local .
# (BUILD_VERSION and SOURCE_URL complete the image's OCI labels, see runtime-base.)
#
# Target `runtime-prebuilt`: the same runtime image around a binary built on
# the host, for machines that cannot pull the Rust builder image. The binary
# must be at dist/trickster-oracle in the build context:
#
#   cargo build --release --locked
#   mkdir -p dist && cp target/release/trickster-oracle dist/
#   docker build --target runtime-prebuilt -t trickster-oracle:local .
#
# Stage order matters for the classic (non-BuildKit) builder, which builds
# every stage up to the selected one: the prebuilt stages come before the Rust
# stage, so selecting runtime-prebuilt never needs the Rust image; the default
# target is the last stage.
#
# Base images: TRICKSTER_IMAGE_PREFIX (build argument, default empty = Docker Hub's
# debian:bookworm-slim) selects where the runtime base comes from; scripts/build-images.sh
# prints `trickster-local/` when it had to build the base without a registry:
#
#   docker build --build-arg TRICKSTER_IMAGE_PREFIX=trickster-local/ --target runtime-prebuilt ...
#
# The binary links only glibc and libgcc_s (both in debian:bookworm-slim). TLS
# to Redis (rediss://) uses rustls with the Mozilla roots compiled into the
# binary (webpki-roots), so the image needs no ca-certificates package.

# ---------------------------------------------------------------------------
# Runtime base: user, settings and metadata shared by both runtime targets.
# ---------------------------------------------------------------------------
ARG TRICKSTER_IMAGE_PREFIX=

FROM ${TRICKSTER_IMAGE_PREFIX}debian:bookworm-slim AS runtime-base

RUN groupadd --system --gid 10001 trickster \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin trickster \
    && mkdir -p /app \
    && chown 10001:10001 /app

# Build identity as OCI image annotations, from build arguments (scripts/stack-check.sh and
# docker-compose.yml pass them):
#   docker build --build-arg BUILD_COMMIT="$(git rev-parse HEAD)" \
#     --build-arg BUILD_VERSION=0.1.0 --build-arg SOURCE_URL=https://example.org/trickster.git .
# Read them back with `docker image inspect -f '{{json .Config.Labels}}' IMAGE`. Declared
# after the RUN above, so a new commit rebuilds only this metadata.
ARG BUILD_COMMIT=unknown
ARG BUILD_VERSION=unknown
ARG SOURCE_URL=
LABEL org.opencontainers.image.title="trickster-oracle" \
      org.opencontainers.image.description="Educational Elo + Monte Carlo analysis of football matches: a stateless HTTP API backed by Redis" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${BUILD_COMMIT}" \
      org.opencontainers.image.version="${BUILD_VERSION}"

# Every setting is an environment variable (see .env.example); these two are
# the container's listening address. A .env file mounted at /app/.env is read.
ENV HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app
EXPOSE 8000

# Asks the instance's own /health (liveness, no Redis call); the image has no
# curl, the binary does the request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["trickster-oracle", "healthcheck"]

# SIGTERM: stop accepting, drain in-flight requests (SHUTDOWN_GRACE_SECONDS).
STOPSIGNAL SIGTERM
ENTRYPOINT ["trickster-oracle"]

# ---------------------------------------------------------------------------
# Target runtime-prebuilt: binary built on the host (dist/trickster-oracle).
# ---------------------------------------------------------------------------
FROM ${TRICKSTER_IMAGE_PREFIX}debian:bookworm-slim AS prebuilt-binary
# Cargo.toml is listed only so that this COPY also succeeds when dist/ is
# absent: the classic builder runs this stage during a default build too.
COPY Cargo.toml dist/trickster-oracle* /tmp/context/
RUN mkdir -p /out \
    && if [ -f /tmp/context/trickster-oracle ]; then \
        install -m 0755 /tmp/context/trickster-oracle /out/trickster-oracle; \
    else \
        echo "note: no dist/trickster-oracle in the build context (only the runtime-prebuilt target needs it)" >&2; \
    fi

FROM runtime-base AS runtime-prebuilt
COPY --from=prebuilt-binary /out/ /usr/local/bin/
ARG BUILD_COMMIT=unknown
ENV BUILD_COMMIT=${BUILD_COMMIT}
USER 10001:10001

# ---------------------------------------------------------------------------
# Build stage: release binary from the locked dependency set.
# ---------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# Dependencies first, against stub sources, so this layer stays cached while
# only the service's own code changes. (Cargo.toml declares a bench target by
# name, so benches/ is needed for the manifest to parse, and tools/ holds a
# member of the workspace.) If the stubs ever do not fit the manifest, the
# warm-up is skipped and the real build below does all the work.
COPY Cargo.toml Cargo.lock ./
COPY benches ./benches
COPY tools ./tools
RUN mkdir -p src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && (cargo build --release --locked \
        || echo "dependency warm-up skipped; the full build follows") \
    && rm -rf src

COPY src ./src
COPY lua ./lua
COPY docs ./docs
# Newer than the stub build, whatever the mtimes in the build context are.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -m 0755 target/release/trickster-oracle /usr/local/bin/trickster-oracle

# ---------------------------------------------------------------------------
# Default target: runtime image with the binary from the build stage.
# ---------------------------------------------------------------------------
FROM runtime-base AS runtime

COPY --from=build /usr/local/bin/trickster-oracle /usr/local/bin/trickster-oracle

ARG BUILD_COMMIT=unknown
ENV BUILD_COMMIT=${BUILD_COMMIT}
USER 10001:10001
