#!/bin/sh
# Entrypoint of the locally built haproxy:2.6 image, same behaviour as the
# official haproxy image's entrypoint: `haproxy ...` runs in master-worker
# mode (-W, reload with SIGUSR2) in the foreground (-db), and a command that
# starts with an option is passed to haproxy.
set -e

# first arg is `-f` or `--some-option`
if [ "${1#-}" != "$1" ]; then
	set -- haproxy "$@"
fi

if [ "$1" = 'haproxy' ]; then
	shift # "haproxy"
	set -- haproxy -W -db "$@"
fi

exec "$@"
