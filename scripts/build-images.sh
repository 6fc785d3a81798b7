#!/usr/bin/env bash
# Provide the container images this project uses, under one name prefix:
#
#   redis:7.0             Redis for the integration tests, scripts/serve and compose
#   debian:bookworm-slim  base of the service's runtime image (Dockerfile)
#   haproxy:2.6           load balancer in front of several service instances (compose)
#   prom/prometheus:v2.42.0  Prometheus of the compose profile `observability`
#
# The tests, scripts/serve, docker-compose.yml and the Dockerfile name these images through
# one variable, TRICKSTER_IMAGE_PREFIX: empty means Docker Hub's names; `trickster-local/`
# means the private copies this script makes. A developer's own `redis:7.0` is therefore
# never shadowed by a local build. With --print-prefix the script prints the prefix to use
# on standard output (everything else goes to standard error); scripts/test, scripts/serve
# and scripts/stack-check.sh export it.
#
# Which prefix (unless TRICKSTER_IMAGE_PREFIX is set, which is then used as given):
#   1. every selected image present under Docker Hub's name: empty prefix, nothing to do;
#   2. every one present under trickster-local/ (made here before): trickster-local/;
#   3. the missing ones can be pulled: empty prefix;
#   4. a pull failed (its error is shown): trickster-local/, and each missing private image
#      is a copy (`docker tag`) of the official one when that is present, otherwise built
#      locally as below. Only then does anything get built.
#
# Building without a registry (air-gapped CI: only a Debian package mirror reachable), from
# Debian bookworm packages, following the official images' conventions:
#
#   1. debootstrap a minimal bookworm root filesystem (the same "minbase"
#      set the official debian images use) and apply security updates;
#   2. for redis/haproxy/prometheus, install Debian's redis-server / haproxy /
#      prometheus packages into a copy of it with chroot + apt-get (Redis 7.0.x,
#      HAProxy 2.6.x, Prometheus 2.42.x: the versions the tags promise);
#   3. strip apt lists, docs, man pages and translations;
#   4. `docker import` the tree and add, with docker/<image>/rootfs.Dockerfile,
#      the same entrypoint/CMD/user/workdir/ports as the official image. The
#      result is a single-layer image.
#
# The Debian mirror is the host's own: its apt sources for bookworm and bookworm-security
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and *.sources), unless
# DEBIAN_MIRROR / DEBIAN_SECURITY_MIRROR say otherwise.
#
# Nothing runs inside containers while building, so the build needs neither
# a registry nor network access from the Docker bridge; only the host talks
# to the Debian mirror. Support files (entrypoints, dpkg/apt settings, image
# metadata) live in the repository's docker/ directory.
#
# More images: add the name and its tag to IMAGE_TAG and ALL_IMAGES below, write a
# build_<name> function and docker/<name>/rootfs.Dockerfile.
#
# Images whose tag already exists are left alone unless --force is given.

set -euo pipefail

readonly SUITE=bookworm
# Empty: the host's apt source for the suite, looked up when a build needs it.
DEBIAN_MIRROR="${DEBIAN_MIRROR:-}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-}"
readonly PULL_TIMEOUT="${PULL_TIMEOUT:-20}"
readonly LOCAL_PREFIX=trickster-local/

# The images by short name, and the order they are provided in (debian first: the others
# are built from its tree).
declare -A IMAGE_TAG=(
	[debian]=debian:bookworm-slim
	[redis]=redis:7.0
	[haproxy]=haproxy:2.6
	[prometheus]=prom/prometheus:v2.42.0
)
readonly ALL_IMAGES=(debian redis haproxy prometheus)
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd)"
SUPPORT_DIR="$REPO_ROOT/docker"
readonly SCRIPT_DIR REPO_ROOT SUPPORT_DIR

usage() {
	local names="${ALL_IMAGES[*]}"
	cat <<EOF
Usage: ${0##*/} [--force] [--no-pull] [--print-prefix] [${names// /|} ...]

Provide the images ${IMAGE_TAG[*]} (default: all) under one name prefix, and say which:
Docker Hub's names when they are present or can be pulled (timeout ${PULL_TIMEOUT}s),
otherwise private copies named ${LOCAL_PREFIX}<image>, built locally from Debian
${SUITE} packages when missing (needs root; debootstrap is installed with apt-get).

  --force         replace existing images (pull again, or rebuild locally)
  --no-pull       do not try the registry; use (and make) the private names
  --print-prefix  print the prefix to use as TRICKSTER_IMAGE_PREFIX on standard output
  -h, --help      show this help

Environment: TRICKSTER_IMAGE_PREFIX (when set, used as given),
             DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR (default: the host's apt sources),
             PULL_TIMEOUT (seconds, default 20), TMPDIR (work space, ~1 GB).
EOF
}

log() { printf '%s\n' "$*" >&2; }
progress() { printf '  %s\n' "$*" >&2; }
die() {
	printf 'build-images: error: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------
FORCE=0
PULL=1
PRINT_PREFIX=0
SELECTED=()
while [ $# -gt 0 ]; do
	case "$1" in
		-h | --help)
			usage
			exit 0
			;;
		-f | --force) FORCE=1 ;;
		--no-pull) PULL=0 ;;
		--print-prefix) PRINT_PREFIX=1 ;;
		*)
			chosen=""
			for name in "${ALL_IMAGES[@]}"; do
				if [ "$1" = "$name" ] || [ "$1" = "${IMAGE_TAG[$name]}" ]; then
					chosen="$name"
				fi
			done
			if [ -z "$chosen" ]; then
				printf 'Usage: %s [--force] [--no-pull] [--print-prefix] [image ...] (see --help)\n' \
					"${0##*/}" >&2
				die "unknown argument: $1"
			fi
			SELECTED+=("$chosen")
			;;
	esac
	shift
done
if [ ${#SELECTED[@]} -eq 0 ]; then
	SELECTED=("${ALL_IMAGES[@]}")
fi

command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker daemon (is it running, are you allowed to use it?)"

# One run at a time (the test and serve scripts call this one too): a second
# run waits, then finds the images present.
if command -v flock >/dev/null && { exec 9>>"${TMPDIR:-/tmp}/build-images.lock"; } 2>/dev/null; then
	if ! flock -n 9; then
		progress "waiting for another build-images.sh run to finish ..."
		flock 9
	fi
fi

# ---------------------------------------------------------------------------
# Work space (removed on exit)
# ---------------------------------------------------------------------------
WORK=""
TMP_TAGS=()
cleanup() {
	local t
	for t in "${TMP_TAGS[@]}"; do
		docker image rm "$t" >/dev/null 2>&1 || true
	done
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		# Never delete through a mount point that a chroot step may have left
		# behind (none is created on purpose, this is only a safety net).
		if grep -qF " $WORK/" /proc/mounts; then
			printf 'build-images: warning: mounts left under %s, not removing it\n' "$WORK" >&2
		else
			rm -rf -- "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOG=/dev/null
ensure_workdir() {
	if [ -z "$WORK" ]; then
		WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/build-images.XXXXXX")"
		LOG="$WORK/build.log"
		: >"$LOG"
	fi
}

# Run a command with its output going to the build log; on failure show the
# end of the log and stop.
run() {
	if ! "$@" >>"$LOG" 2>&1; then
		printf 'build-images: command failed: %s\n--- last lines of the build log ---\n' "$*" >&2
		tail -n 40 "$LOG" >&2
		exit 1
	fi
}

# ---------------------------------------------------------------------------
# Host prerequisites
# ---------------------------------------------------------------------------
APT_UPDATED=0
# wait for a concurrent apt/dpkg run (e.g. unattended-upgrades) instead of failing
readonly APT_LOCK_WAIT=(-o DPkg::Lock::Timeout=300)
host_apt_install() {
	local missing=() pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	progress "installing host packages: ${missing[*]}"
	if [ "$APT_UPDATED" = 1 ] ||
		! DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y --no-install-recommends \
			"${missing[@]}" >>"$LOG" 2>&1; then
		# package lists missing or stale: refresh them (once) and retry
		if [ "$APT_UPDATED" = 0 ]; then
			APT_UPDATED=1
			run apt-get "${APT_LOCK_WAIT[@]}" update
		fi
		run env DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y \
			--no-install-recommends "${missing[@]}"
	fi
}

# The URI of the host's apt source for a suite, from one-line sources
# (/etc/apt/sources.list, sources.list.d/*.list) and deb822 ones (sources.list.d/*.sources);
# the first match.
host_apt_uri() {
	local suite="$1" f
	{
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] || continue
			sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
				awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
		done
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -f "$f" ] || continue
			awk -v s="$suite" '
				function flush() {
					if (index(" " types " ", " deb ") && enabled != "no" &&
						index(" " suites " ", " " s " ")) {
						split(uris, u, " ")
						if (u[1] != "") print u[1]
					}
					types = ""; uris = ""; suites = ""; enabled = "yes"
				}
				BEGIN { enabled = "yes" }
				/^[[:space:]]*#/ { next }
				/^[[:space:]]*$/ { flush(); next }
				{
					key = tolower($1)
					$1 = ""
					if (key == "types:") types = $0
					else if (key == "uris:") uris = $0
					else if (key == "suites:") suites = $0
					else if (key == "enabled:") enabled = tolower($2)
				}
				END { flush() }' "$f"
		done
	} | head -n 1
}

resolve_mirrors() {
	if [ -z "$DEBIAN_MIRROR" ]; then
		DEBIAN_MIRROR="$(host_apt_uri "$SUITE")"
		[ -n "$DEBIAN_MIRROR" ] ||
			die "no apt source for Debian $SUITE in /etc/apt/sources.list or /etc/apt/sources.list.d/; set DEBIAN_MIRROR (and DEBIAN_SECURITY_MIRROR)"
	fi
	if [ -z "$DEBIAN_SECURITY_MIRROR" ]; then
		DEBIAN_SECURITY_MIRROR="$(host_apt_uri "$SUITE-security")"
		[ -n "$DEBIAN_SECURITY_MIRROR" ] ||
			die "no apt source for $SUITE-security in /etc/apt/sources.list or /etc/apt/sources.list.d/; set DEBIAN_SECURITY_MIRROR"
	fi
	progress "Debian mirrors: $DEBIAN_MIRROR and $DEBIAN_SECURITY_MIRROR"
}

PREREQS_DONE=0
ensure_prereqs() {
	[ "$PREREQS_DONE" = 1 ] && return 0
	resolve_mirrors
	[ "$(id -u)" = 0 ] || die "building images locally needs root (debootstrap/chroot); run with sudo"
	command -v apt-get >/dev/null || die "local builds need a Debian/Ubuntu host (apt-get, debootstrap)"
	for f in debian/dpkg-slim.cfg debian/apt-docker.conf debian/policy-rc.d \
		debian/rootfs.Dockerfile redis/rootfs.Dockerfile haproxy/rootfs.Dockerfile \
		prometheus/rootfs.Dockerfile redis/docker-entrypoint.sh haproxy/docker-entrypoint.sh; do
		[ -f "$SUPPORT_DIR/$f" ] || die "missing support file $SUPPORT_DIR/$f"
	done
	ensure_workdir
	host_apt_install debootstrap debian-archive-keyring
	PREREQS_DONE=1
}

# ---------------------------------------------------------------------------
# Root filesystem helpers
# ---------------------------------------------------------------------------

# Run a command inside a root filesystem with a clean environment.
in_root() {
	local root="$1"
	shift
	run env -i PATH="$DEFAULT_PATH" HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive \
		chroot "$root" "$@"
}

# Let apt inside the tree resolve the mirror the same way the host does.
use_host_resolver() {
	local root="$1"
	rm -f "$root/etc/resolv.conf" "$root/etc/hosts"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	cp -L /etc/hosts "$root/etc/hosts"
}

# The bootstrapped, updated tree every image starts from. Built once per run
# (about 30 s) and copied for each image.
BASE=""
ensure_base() {
	[ -n "$BASE" ] && return 0
	ensure_prereqs
	local root="$WORK/base"
	progress "bootstrapping Debian $SUITE from $DEBIAN_MIRROR ..."
	run debootstrap --variant=minbase --include=ca-certificates \
		"$SUITE" "$root" "$DEBIAN_MIRROR"

	# apt sources as in the official image, including security updates
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $DEBIAN_SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	install -m 0644 "$SUPPORT_DIR/debian/dpkg-slim.cfg" "$root/etc/dpkg/dpkg.cfg.d/docker-slim"
	install -m 0644 "$SUPPORT_DIR/debian/apt-docker.conf" "$root/etc/apt/apt.conf.d/docker"
	install -m 0755 "$SUPPORT_DIR/debian/policy-rc.d" "$root/usr/sbin/policy-rc.d"
	use_host_resolver "$root"

	in_root "$root" apt-get update
	in_root "$root" apt-get -y --no-install-recommends dist-upgrade
	in_root "$root" apt-get clean
	BASE="$root"
}

# Fresh copy of the base tree for one image, in $ROOT.
ROOT=""
new_root() {
	ensure_base
	ROOT="$WORK/$1"
	rm -rf -- "$ROOT"
	cp -a "$BASE" "$ROOT"
}

# Remove everything an image does not need, and host-specific files.
slim_root() {
	local root="${1:?}"
	# only ever clean trees inside our own work space
	case "$root" in "$WORK"/?*) ;; *) die "refusing to clean $root" ;; esac
	in_root "$root" apt-get clean
	rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/* \
		"${root:?}"/var/cache/debconf/*-old "${root:?}"/var/lib/dpkg/*-old \
		"${root:?}"/var/cache/ldconfig/aux-cache
	find "$root/var/log" -type f -delete
	# documentation except copyright files, man/info pages, translations
	find "$root/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	rm -rf "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* "${root:?}"/usr/share/groff/* \
		"${root:?}"/usr/share/lintian/* "${root:?}"/usr/share/linda/* "${root:?}"/usr/share/locale/*
	# runtime files Docker provides (or that must not leak from the host)
	rm -rf "${root:?}"/tmp/* "${root:?}"/var/tmp/* "${root:?}"/dev/* \
		"${root:?}"/run/adduser "${root:?}"/run/mount
	: >"$root/etc/resolv.conf"
	: >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	chmod 1777 "$root/tmp" "$root/var/tmp"
}

# Turn a tree into a single-layer image: `docker import` it under a temporary
# name, then build docker/<name>/rootfs.Dockerfile on top, which only adds
# metadata (entrypoint, CMD, user, ...; `docker import --change` cannot set
# all of them, e.g. STOPSIGNAL). Neither step needs a registry.
image_from_root() {
	local name="$1" root="$2" tag="$3" rootfs_tag old new
	rootfs_tag="build-images-rootfs:$name-$$"
	TMP_TAGS+=("$rootfs_tag")
	tar -C "$root" --numeric-owner -cf - . | run docker import - "$rootfs_tag"
	rm -rf -- "$root"
	old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
	mkdir -p "$WORK/context"
	run docker build --no-cache --build-arg "ROOTFS_IMAGE=$rootfs_tag" -t "$tag" \
		-f "$SUPPORT_DIR/$name/rootfs.Dockerfile" "$WORK/context"
	docker image rm "$rootfs_tag" >/dev/null 2>&1 || true
	new="$(docker image inspect -f '{{.Id}}' "$tag")"
	# drop the image that --force replaced, unless something still uses it
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		docker image rm "$old" >/dev/null 2>&1 || true
	fi
}

# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------

# debian:bookworm-slim: minbase + security updates, like the official image,
# plus ca-certificates (which the official slim image lacks) so the service's
# runtime image has them even when its build cannot reach a package mirror.
# passwd (useradd/groupadd) and adduser are included; apt is configured for
# the Debian mirror.
build_debian() {
	new_root debian
	local root="$ROOT"
	slim_root "$root"
	image_from_root debian "$root" "$1"
}

# redis:7.0: Debian's redis-server 7.0.x; user redis with uid/gid 999 as in the
# official image; binaries in /usr/bin; entrypoint as in the official image.
build_redis() {
	new_root redis
	local root="$ROOT"
	in_root "$root" groupadd --system --gid 999 redis
	in_root "$root" useradd --system --gid redis --uid 999 --home-dir /var/lib/redis \
		--no-create-home --shell /usr/sbin/nologin redis
	in_root "$root" apt-get install -y --no-install-recommends redis-server
	install -m 0755 "$SUPPORT_DIR/redis/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
	mkdir -p "$root/data"
	chown 999:999 "$root/data"
	chmod 0755 "$root/data"
	slim_root "$root"
	image_from_root redis "$root" "$1"
}

# haproxy:2.6: Debian's haproxy 2.6.x laid out like the official image:
# config expected at /usr/local/etc/haproxy/haproxy.cfg, error pages in
# /usr/local/etc/haproxy/errors, runs as user haproxy (uid/gid 99), graceful
# stop on SIGUSR1.
build_haproxy() {
	new_root haproxy
	local root="$ROOT"
	in_root "$root" apt-get install -y --no-install-recommends haproxy
	# The package creates user/group haproxy with a dynamic system id (its
	# postinst rejects a pre-created uid 99, which is below Debian's system
	# range); renumber them to the official image's 99:99.
	local uid gid
	uid="$(chroot "$root" id -u haproxy)"
	gid="$(chroot "$root" id -g haproxy)"
	in_root "$root" groupmod --gid 99 haproxy
	in_root "$root" usermod --uid 99 --gid 99 haproxy
	find "$root" -xdev \( -uid "$uid" -o -gid "$gid" \) -exec chown -h 99:99 {} +
	install -m 0755 "$SUPPORT_DIR/haproxy/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
	ln -sf /usr/sbin/haproxy "$root/usr/local/sbin/haproxy"
	mkdir -p "$root/usr/local/etc/haproxy/errors" "$root/var/lib/haproxy"
	cp -a "$root"/etc/haproxy/errors/. "$root/usr/local/etc/haproxy/errors/"
	chown 99:99 "$root/var/lib/haproxy"
	slim_root "$root"
	image_from_root haproxy "$root" "$1"
}

# prom/prometheus:v2.42.0: Debian's prometheus 2.42.x (the release the tag names) laid out
# like the official image: /bin/prometheus as the entrypoint, configuration in
# /etc/prometheus, data in the volume /prometheus, user nobody (65534). Debian's package
# also brings the JavaScript libraries of its web pages; its service is never started
# (policy-rc.d), the container runs the binary directly.
build_prometheus() {
	new_root prometheus
	local root="$ROOT"
	in_root "$root" apt-get install -y --no-install-recommends prometheus
	# Time-zone data of a JavaScript library the package's web pages depend on: 210 MB that
	# neither the server nor its HTTP API reads (the official image has no such copy).
	rm -rf "$root/usr/share/javascript/moment-timezone"
	mkdir -p "$root/prometheus"
	chown 65534:65534 "$root/prometheus"
	slim_root "$root"
	image_from_root prometheus "$root" "$1"
}

# ---------------------------------------------------------------------------
# Main: choose the prefix, then provide every selected image under it
# ---------------------------------------------------------------------------
present() { docker image inspect "$1" >/dev/null 2>&1; }

declare -A PULLED=()
PULL_ERROR=""
# pull TAG: true when pulled; otherwise the reason is shown and kept in PULL_ERROR.
pull() {
	local out rc=0
	out="$(timeout "$PULL_TIMEOUT" docker pull -q "$1" 2>&1)" || rc=$?
	if [ "$rc" = 0 ]; then
		PULLED[$1]=1
		log "$1: pulled"
		return 0
	fi
	if [ "$rc" = 124 ]; then
		PULL_ERROR="no answer within ${PULL_TIMEOUT}s${out:+ ($out)}"
	else
		PULL_ERROR="${out:-docker pull exited with status $rc}"
	fi
	log "$1: pull failed: $PULL_ERROR"
	return 1
}

all_present() { # all_present PREFIX
	local name
	for name in "${SELECTED[@]}"; do
		present "$1${IMAGE_TAG[$name]}" || return 1
	done
}

PREFIX=""
choose_prefix() {
	local name tag
	if [ "${TRICKSTER_IMAGE_PREFIX+set}" = set ]; then
		PREFIX="$TRICKSTER_IMAGE_PREFIX"
		return 0
	fi
	if [ "$PULL" = 0 ]; then
		PREFIX="$LOCAL_PREFIX"
		return 0
	fi
	if [ "$FORCE" = 0 ]; then
		if all_present ""; then
			PREFIX=""
			return 0
		fi
		# Made here before: use them rather than wait for a registry on every run.
		if all_present "$LOCAL_PREFIX"; then
			PREFIX="$LOCAL_PREFIX"
			return 0
		fi
	fi
	for name in "${SELECTED[@]}"; do
		tag="${IMAGE_TAG[$name]}"
		if [ "$FORCE" = 0 ] && present "$tag"; then
			continue
		fi
		if ! pull "$tag"; then
			PREFIX="$LOCAL_PREFIX"
			return 0
		fi
	done
	PREFIX=""
}

provide() { # provide NAME
	local name="$1" official="${IMAGE_TAG[$1]}" tag="$PREFIX${IMAGE_TAG[$1]}" start
	if [ -n "${PULLED[$tag]:-}" ] || { [ "$FORCE" = 0 ] && present "$tag"; }; then
		log "$tag: present"
		return 0
	fi
	if [ "$PREFIX" != "$LOCAL_PREFIX" ]; then
		# Docker Hub's names, or another registry's prefix: only a pull provides them.
		if [ "$PULL" = 1 ] && pull "$tag"; then
			return 0
		fi
		die "$tag is missing and cannot be pulled${PULL_ERROR:+: $PULL_ERROR}"
	fi
	if [ "$FORCE" = 0 ] && present "$official"; then
		docker tag "$official" "$tag"
		log "$tag: a copy of $official"
		return 0
	fi
	start=$SECONDS
	"build_$name" "$tag"
	log "$tag: built locally ($((SECONDS - start))s, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

choose_prefix
declare -A DONE=()
for name in "${ALL_IMAGES[@]}"; do
	for wanted in "${SELECTED[@]}"; do
		if [ "$wanted" = "$name" ] && [ -z "${DONE[$name]:-}" ]; then
			DONE[$name]=1
			provide "$name"
		fi
	done
done
if [ "$PRINT_PREFIX" = 1 ]; then
	printf '%s\n' "$PREFIX"
else
	log "images ready: TRICKSTER_IMAGE_PREFIX=$PREFIX"
fi
