#!/bin/sh
# Containers have no init system: tell maintainer scripts not to start
# services while packages are installed (exit code 101 = action forbidden).
exit 101
