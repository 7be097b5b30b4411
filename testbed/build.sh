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

# build NAME MODULE_DIR PACKAGE [LDFLAGS]: go build MODULE_DIR/PACKAGE into $cache/bin/NAME
build() {
  local name=$1 dir=$2 pkg=$3 ldflags="-s -w ${4:-}"
  local out="$cache/bin/$name"
  local key
  key=$( (go version; [[ -z ${4:-} ]] || echo "$4"; cd "$dir" && cat go.mod go.sum $(find . -name '*.go' | sort)) | sha256sum | cut -c1-16)
  if [[ -x "$out" && -f "$out.key" && "$(cat "$out.key")" == "$key" ]]; then
    echo "testbed: $name is up to date ($out)"
    return
  fi
  echo "testbed: building $name from $dir (this takes minutes on a cold cache) ..."
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags="$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  echo "$key" > "$out.key"
  echo "testbed: built $name in $((SECONDS - start)) s, $(du -m "$out" | cut -f1) MiB"
}

# A module build of kube-apiserver reports "v0.0.0-master"; stamp the release it is
# built from (k8s.io/kubernetes in go.mod), as Kubernetes' own build does.
kube_version_ldflags() {
  local v
  v=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$1")
  local minor=${v#v1.}
  minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  echo "-X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
}

# "kube" is one multi-call binary: "rotor-kube etcd ..." and "rotor-kube kube-apiserver ...".
targets=${*:-openbao kube kustomize}
for target in $targets; do
  case $target in
    openbao) build bao "$here/openbao" . ;;
    kube) build rotor-kube "$here/kube" . "$(kube_version_ldflags "$here/kube/go.mod")" ;;
    # kustomize is a `tool` of its module (go.mod pins it): no source file of ours.
    kustomize) build kustomize "$here/kustomize" sigs.k8s.io/kustomize/kustomize/v5 ;;
    *) echo "testbed: unknown target $target" >&2; exit 2 ;;
  esac
done
