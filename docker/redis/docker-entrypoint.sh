#!/bin/sh
# Entrypoint of the locally built redis:7.0 image (trickster-local/redis:7.0).
# It follows the official redis image's entrypoint so docker-compose files and
# the tests behave the same with either image:
#   - `docker run redis:7.0 --appendonly yes` means `redis-server --appendonly yes`
#   - started as root, redis-server drops to the `redis` user (uid/gid 999)
#     after taking ownership of the working directory (/data)
# Difference to the official image: Debian's redis-server keeps the upstream
# default `protected-mode yes`, which refuses clients from the Docker bridge
# when no password is set. The official image changes that compiled default
# to `no`; here `--protected-mode no` is added unless the command line or the
# given config file sets protected-mode itself.
set -e

# first arg is `-f` or `--some-option`, or a `something.conf` file
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ]; then
	need_flag=1
	for arg in "$@"; do
		case "$arg" in
			--protected-mode*) need_flag=0 ;;
		esac
	done
	if [ "$need_flag" = 1 ] && [ $# -ge 2 ] && [ "${2#-}" = "$2" ] && [ -f "$2" ] \
		&& grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
		need_flag=0
	fi
	if [ "$need_flag" = 1 ]; then
		shift
		if [ $# -ge 1 ] && [ "${1#-}" = "$1" ]; then
			# keep the config file first; later options override this default
			conf="$1"
			shift
			set -- redis-server "$conf" --protected-mode no "$@"
		else
			set -- redis-server --protected-mode no "$@"
		fi
	fi
fi

# allow the container to be started with `--user`
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# set an appropriate umask (if one isn't set already)
um="$(umask)"
if [ "$um" = '0022' ]; then
	umask 0077
fi

exec "$@"
