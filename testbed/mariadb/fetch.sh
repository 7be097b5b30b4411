#!/usr/bin/env bash
# Unpacks Debian's MariaDB server (and the libraries it needs that a plain Debian
# lacks) into the testbed cache, without installing it: no system service starts,
# no dpkg state changes. testbed/src/mariadb.ts runs it from there as a throwaway
# server. Keyed by the package versions apt offers; a second run says "up to date".
#
#   bash testbed/mariadb/fetch.sh     # scripts/setup.sh runs it
set -euo pipefail

cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
dest="$cache/mariadb"
# The server, its bootstrap SQL and install script (which calls my_print_defaults of the
# client package), its config dir, and the libraries
# mariadbd links that Debian's base system does not carry.
packages="mariadb-server-core mariadb-server mariadb-client-core mariadb-common mysql-common libaio1 libnuma1 liburing2"

candidates() { apt-cache policy $packages 2>/dev/null | awk '/^[^ ]/ { name = $1 } /Candidate:/ { print name, $2 }'; }
versions=$(candidates)
if [[ $(wc -l <<<"$versions") -ne $(wc -w <<<"$packages") ]] || grep -q '(none)' <<<"$versions"; then
  # A fresh machine whose package lists were never fetched.
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  versions=$(candidates)
fi
if [[ $(wc -l <<<"$versions") -ne $(wc -w <<<"$packages") ]] || grep -q '(none)' <<<"$versions"; then
  echo "testbed: mariadb: apt offers no candidate for some of: $packages" >&2
  exit 1
fi
key=$(sha256sum <<<"$versions" | cut -c1-16)
if [[ -x $dest/usr/sbin/mariadbd && -f $dest/.key && "$(cat "$dest/.key")" == "$key" ]]; then
  echo "testbed: mariadb: up to date"
  exit 0
fi

echo "testbed: mariadb: fetching $(echo $packages | wc -w) Debian packages ..."
start=$SECONDS
tmp=$(mktemp -d "$cache/.mariadb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# As root under a private home, apt downloads unsandboxed (its _apt user cannot reach the
# dir) and says so: expected here, so that one warning is dropped.
(cd "$tmp" && apt-get download -qq $packages 2>&1 | { grep -v 'unsandboxed as root' || true; })
mkdir "$tmp/root"
for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
echo "$key" >"$tmp/root/.key"
rm -rf "$dest"
mv "$tmp/root" "$dest"
chmod 0755 "$dest"
# The libraries unpacked beside it (liburing, libnuma, libaio) come first on the search path.
LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu" "$dest/usr/sbin/mariadbd" --version
echo "testbed: mariadb: ready in $((SECONDS - start)) s ($dest, $(du -sm "$dest" | cut -f1) MiB)"
