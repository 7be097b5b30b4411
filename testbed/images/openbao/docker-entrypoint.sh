#!/usr/bin/dumb-init /bin/sh
# The official OpenBao image's entrypoint contract, written for Debian (dash, setpriv):
#   - PID 1 is dumb-init, which reaps zombies and forwards signals;
#   - BAO_REDIRECT_INTERFACE / BAO_CLUSTER_INTERFACE put that interface's IPv4 address
#     into BAO_REDIRECT_ADDR / BAO_CLUSTER_ADDR (keeping their scheme and port);
#   - BAO_LOCAL_CONFIG is written to /openbao/config/local.json;
#   - "server ..." runs `bao server -config=/openbao/config` (plus the dev flags'
#     BAO_DEV_ROOT_TOKEN_ID, BAO_DEV_LISTEN_ADDRESS); a leading option, "version" or
#     any bao subcommand runs bao; anything else runs as given;
#   - as root: chown the /openbao dirs (unless SKIP_CHOWN), setcap IPC_LOCK on bao
#     (unless SKIP_SETCAP), then drop to user openbao.
set -e
ulimit -c 0

# interface_addr IFACE URI: URI with its host replaced by IFACE's first IPv4 address.
interface_addr() {
  ip=$(ip -o -4 addr show dev "$1" | awk '{ split($4, a, "/"); print a[1]; exit }')
  [ -n "$ip" ] || { echo "docker-entrypoint.sh: no IPv4 address on $1" >&2; exit 1; }
  echo "$2" | sed -E "s#^([a-z]+://)[^:/]+(:[0-9]+)?#\\1$ip\\2#"
}
if [ -n "${BAO_REDIRECT_INTERFACE:-}" ]; then
  BAO_REDIRECT_ADDR=$(interface_addr "$BAO_REDIRECT_INTERFACE" "${BAO_REDIRECT_ADDR:-http://0.0.0.0:8200}")
  export BAO_REDIRECT_ADDR
  echo "Using $BAO_REDIRECT_INTERFACE for BAO_REDIRECT_ADDR: $BAO_REDIRECT_ADDR"
fi
if [ -n "${BAO_CLUSTER_INTERFACE:-}" ]; then
  BAO_CLUSTER_ADDR=$(interface_addr "$BAO_CLUSTER_INTERFACE" "${BAO_CLUSTER_ADDR:-https://0.0.0.0:8201}")
  export BAO_CLUSTER_ADDR
  echo "Using $BAO_CLUSTER_INTERFACE for BAO_CLUSTER_ADDR: $BAO_CLUSTER_ADDR"
fi

config_dir=/openbao/config
if [ -n "${BAO_LOCAL_CONFIG:-}" ]; then
  echo "$BAO_LOCAL_CONFIG" > "$config_dir/local.json"
fi

case "${1:-}" in
  -*) set -- bao "$@" ;;
  server)
    shift
    set -- bao server -config="$config_dir" -dev-root-token-id="${BAO_DEV_ROOT_TOKEN_ID:-}" \
      -dev-listen-address="${BAO_DEV_LISTEN_ADDRESS:-0.0.0.0:8200}" "$@" ;;
  version) set -- bao "$@" ;;
  bao | '') ;;
  *) if bao --help "$1" 2>&1 | grep -q "bao $1"; then set -- bao "$@"; fi ;;
esac

if [ "${1:-}" = bao ]; then
  if [ "$(id -u)" = 0 ] && [ -z "${SKIP_CHOWN:-}" ]; then
    for dir in /openbao/config /openbao/logs /openbao/file; do
      if [ "$(stat -c %u "$dir")" != "$(id -u openbao)" ]; then
        chown -R openbao:openbao "$dir" || echo "Could not chown $dir (may not have appropriate permissions)"
      fi
    done
  fi
  if [ "$(id -u)" = 0 ] && [ -z "${SKIP_SETCAP:-}" ]; then
    setcap cap_ipc_lock=+ep "$(readlink -f "$(command -v bao)")"
    if ! bao -version >/dev/null 2>&1; then
      echo "Couldn't start bao with IPC_LOCK. Disabling IPC_LOCK, please use --cap-add IPC_LOCK" >&2
      setcap cap_ipc_lock=-ep "$(readlink -f "$(command -v bao)")"
    fi
  fi
  if [ "$(id -u)" = 0 ]; then
    set -- setpriv --reuid=openbao --regid=openbao --init-groups "$@"
  fi
fi

exec "$@"
