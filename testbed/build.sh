#!/usr/bin/env bash
# Builds the testbed's real servers from Go modules into a cache outside git.
# A binary is rebuilt only when its module (go.mod, go.sum, sources) or the Go
# version changes; otherwise this prints "up to date" and exits at once.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
mkdir -p "$cache/bin"

# The Go checksum database does not list some OpenBao modules; go.sum pins them.
export GONOSUMDB=${GONOSUMDB:-github.com/openbao}
export GOFLAGS=${GOFLAGS:--buildvcs=false}

# build NAME MODULE_DIR PACKAGE: go build MODULE_DIR/PACKAGE into $cache/bin/NAME
build() {
  local name=$1 dir=$2 pkg=$3
  local out="$cache/bin/$name"
  local key
  key=$( (go version; cd "$dir" && cat go.mod go.sum $(find . -name '*.go' | sort)) | sha256sum | cut -c1-16)
  if [[ -x "$out" && -f "$out.key" && "$(cat "$out.key")" == "$key" ]]; then
    echo "testbed: $name is up to date ($out)"
    return
  fi
  echo "testbed: building $name from $dir (this takes minutes on a cold cache) ..."
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "$key" > "$out.key"
  echo "testbed: built $name in $((SECONDS - start)) s, $(du -m "$out" | cut -f1) MiB"
}

targets=${*:-openbao}
for target in $targets; do
  case $target in
    openbao) build bao "$here/openbao" . ;;
    # One multi-call binary: "rotor-kube etcd ..." and "rotor-kube kube-apiserver ...".
    kube) build rotor-kube "$here/kube" . ;;
    *) echo "testbed: unknown target $target" >&2; exit 2 ;;
  esac
done
