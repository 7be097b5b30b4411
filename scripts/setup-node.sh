#!/usr/bin/env bash
# Node.js for Rotor (part of scripts/setup.sh). Rotor needs Node 22.19+ (package.json
# engines). Where the machine's `node` is older, this installs the pinned Node 24 LTS
# release (testbed/images/images.json nodeVersions, for the Dockerfile's major: the
# same Node as the image) from the npm registry into ~/.cache/rotor/node/<version> and
# links node, npm and npx into /usr/local/bin, which precedes /usr/bin on Debian's PATH:
# every later `node`, `npm` or `npx` (the README's commands, npm scripts, `.ci/run`) runs
# on it. A machine Node of 22.19+ that setup did not install is left alone; one that it
# installed follows the pin. Skipped (seconds) when the links already point at the pin.
# Docs: docs/testbed.md, "Node.js".
#
# ROTOR_NODE_LINK_DIR: where the links go (default /usr/local/bin); a directory of its
# own (put first on PATH) tries this out without changing the machine's node.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node-release.sh
source scripts/node-release.sh

floor=22.19.0
cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
link_dir=${ROTOR_NODE_LINK_DIR:-/usr/local/bin}
major=$(awk 'toupper($1) == "FROM" && $2 ~ /^node:[0-9]+-/ { split($2, a, /[:-]/); print a[2]; exit }' Dockerfile)
version=$(node -p "require('./testbed/images/images.json').images.node.nodeVersions['$major'] ?? ''")
[[ -n $major && -n $version ]] || { echo "setup: no pinned Node for the Dockerfile's FROM (images.json nodeVersions)" >&2; exit 1; }
prefix=$cache/node/$version

current=$(command -v node || true)
current_version=$(node -p process.versions.node 2>/dev/null || echo 0)
if [[ -n $current && "$(realpath "$current")" == "$cache/node/"* ]]; then
  [[ "$(realpath "$current")" != "$prefix/bin/node" ]] || exit 0 # ours, at the pin
elif [[ "$(printf '%s\n' "$floor" "$current_version" | sort -V | head -1)" == "$floor" ]]; then
  exit 0 # the machine's own Node is new enough
fi

sudo_cmd=""
[[ -w $link_dir || "$(id -u)" -eq 0 ]] || sudo_cmd="sudo"
mkdir -p "$cache/node"
exec 9>"$cache/node/.lock"
flock 9
if [[ ! -x $prefix/bin/node ]]; then
  echo "setup: installing Node $version (the machine has $current_version; Rotor needs $floor+) from the npm registry into $prefix ..."
  start=$SECONDS
  rm -rf "$prefix.tmp"
  node_release_install "$version" "$prefix.tmp" "$cache/downloads"
  "$prefix.tmp/bin/node" --version >/dev/null
  mv "$prefix.tmp" "$prefix"
  echo "setup: Node $version installed in $((SECONDS - start)) s"
fi
echo "setup: linking node, npm and npx of Node $version into $link_dir"
$sudo_cmd mkdir -p "$link_dir"
for tool in node npm npx; do
  $sudo_cmd ln -sfn "$prefix/bin/$tool" "$link_dir/$tool"
done
hash -r
if [[ "$(realpath "$(command -v node)")" != "$prefix/bin/node" ]]; then
  echo "setup: \`node\` on this PATH is still $(command -v node): put $link_dir before it on PATH" >&2
  exit 1
fi
