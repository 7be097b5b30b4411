#!/bin/sh
# As in the official node image: no arguments, an option, or a script (anything that
# is not a runnable command) means node.
set -e
if [ $# -eq 0 ]; then
  set -- node
elif [ "${1#-}" != "$1" ] || ! command -v -- "$1" >/dev/null 2>&1 || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
