# Sourced by scripts/test and .ci/run: makes `redis-server` and `redis-cli` available on the
# PATH, for the tests that run Redis as local processes (Sentinel groups, replicas, the
# cluster). Debian's redis-server package adds only a system service (started on install)
# and the name redis-server for the binary redis-tools ships as redis-check-rdb (Redis picks
# its role from the name it runs under); rather than install a service, the binary gets that
# name in target/host-bin. Installs redis-tools with apt-get when missing and running as root.
# Needs the repository root as the working directory.

host_redis_ensure() {
  local have_server=0
  if command -v redis-server >/dev/null || command -v redis-check-rdb >/dev/null; then
    have_server=1
  fi
  if ! command -v redis-cli >/dev/null || [ "$have_server" -eq 0 ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
      echo "redis-server and redis-cli are needed (Debian: apt-get install redis-tools)" >&2
      return 1
    fi
    echo "installing redis-tools (apt-get)" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      redis-tools >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        redis-tools >/dev/null
    fi
  fi
  if ! command -v redis-server >/dev/null; then
    mkdir -p target/host-bin
    ln -sf "$(command -v redis-check-rdb)" target/host-bin/redis-server
    PATH="$PWD/target/host-bin:$PATH"
    export PATH
  fi
  redis-server --version >/dev/null
}
