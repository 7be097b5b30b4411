#!/usr/bin/env bash
# Builds the testbed's real servers from Go modules into a cache outside git.
# A target is rebuilt only when its module (go.mod, go.sum, sources) or the Go
# version changes; otherwise this prints "up to date" and exits at once.
#
#   bash testbed/build.sh              # the default targets (scripts/setup.sh)
#   bash testbed/build.sh kube runc    # only these
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
mkdir -p "$cache/bin" "$cache/cni/bin"

# The Go checksum database does not list some OpenBao modules; go.sum pins them.
export GONOSUMDB=${GONOSUMDB:-github.com/openbao}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
go_version=$(go version)

# build NAME DIR [-o OUT] [-ldflags X] [-tags X] [-patch FILE=VENDORED] PKG...
# go builds PKG... of the Go module in DIR, stripped (-s -w): one package to
# $cache/bin/NAME, or with -o OUT each package to OUT/<its last path element>.
# Reports progress as "$step $desc" (set by the loop below).
# The target is keyed by `go version`, the extra flags and every file of the
# module dir; an unchanged target is skipped in well under a second.
build() {
  local name=$1 dir=$2 out="" extra="" tags="" patch=""
  shift 2
  while [[ $1 == -* ]]; do
    case $1 in
      -o) out=$2 ;;
      -ldflags) extra=$2 ;;
      -tags) tags=$2 ;;
      # -patch FILE=PATH: build from a vendored copy of the module whose vendor/PATH
      # is replaced by FILE of DIR (go build -overlay refuses module-cache files).
      -patch) patch=$2 ;;
    esac
    shift 2
  done
  local pkgs=("$@") bins=() stamp
  if [[ -z $out ]]; then
    out="$cache/bin/$name" bins=("$out") stamp="$out.key"
  else
    for p in "${pkgs[@]}"; do bins+=("$out/${p##*/}"); done
    stamp="$out/.$name.key"
  fi
  local key
  key=$( (echo "$go_version"; [[ -z $extra ]] || echo "$extra"; [[ -z $tags$patch ]] || echo "tags=$tags patch=$patch"
    cd "$dir" && cat go.mod go.sum $(find . -type f ! -name go.mod ! -name go.sum | sort)) | sha256sum | cut -c1-16)
  local fresh=1 b
  for b in "${bins[@]}"; do [[ -x $b ]] || fresh=0; done
  if ((fresh)) && [[ -f $stamp && "$(cat "$stamp")" == "$key" ]]; then
    echo "testbed: $step $desc: up to date"
    return
  fi
  echo "testbed: $step building $desc ..."
  prefetch

  local start=$SECONDS cpu0 tmp
  cpu0=$(cpu_seconds)
  tmp=$(mktemp -d "$cache/.build-$name.XXXXXX")
  build_tmp=$tmp
  local flags=(-trimpath "-ldflags=-s -w $extra")
  [[ -z $tags ]] || flags+=("-tags=$tags")
  local src=$dir
  if [[ -n $patch ]]; then
    # A fixed path, so the Go build cache (keyed by it under -trimpath) is reused.
    src="$cache/src/$name"
    rm -rf "$src"
    mkdir -p "$src"
    cp -r "$dir/." "$src"
    (cd "$src" && go mod vendor 2>&1) | { grep -v '^go: downloading ' || true; }
    cp "$dir/${patch%%=*}" "$src/vendor/${patch#*=}"
    flags+=(-mod=vendor)
  fi
  local target="$tmp/"
  ((${#pkgs[@]} > 1)) || target="$tmp/${bins[0]##*/}"
  # go reports each module it fetches on a cold cache; keep the log to what matters.
  (cd "$src" && go build "${flags[@]}" -o "$target" "${pkgs[@]}" 2>&1) | { grep -v '^go: downloading ' || true; }
  local sizes=""
  for b in "${bins[@]}"; do
    mv "$tmp/${b##*/}" "$b"
    sizes+=", ${b##*/} $(du -m "$b" | cut -f1) MiB"
  done
  rm -rf "$tmp"
  [[ -z $patch ]] || rm -rf "$src"
  build_tmp=""
  echo "$key" > "$stamp"
  echo "testbed: $step built $name in $((SECONDS - start)) s, $(($(cpu_seconds) - cpu0)) s CPU (${sizes#, })"
}

# A cold build spends much of its time waiting on module downloads (network, not CPU).
# At the first target to build, one background job downloads the modules of every
# target still to come, in build order, so later targets find them while earlier ones
# compile. Best effort: a failed download is retried (and reported) by the build itself.
prefetch_pid="" prefetch_log="$cache/.prefetch.log"
prefetch() {
  [[ -z $prefetch_pid ]] || return 0
  local dirs=() t d
  for t in "${targets[@]}"; do
    d=$(module_dir "$t")
    [[ " ${dirs[*]} " == *" $d "* ]] || dirs+=("$d")
  done
  (for d in "${dirs[@]}"; do go -C "$here/$d" mod download || true; done) >"$prefetch_log" 2>&1 &
  prefetch_pid=$!
}

build_tmp=""
on_exit() {
  [[ -z $build_tmp ]] || rm -rf "$build_tmp"
  [[ -z $prefetch_pid ]] || { pkill -P "$prefetch_pid" 2>/dev/null; kill "$prefetch_pid" 2>/dev/null; } || true
}
trap on_exit EXIT

# CPU seconds (user + system) of every finished child of this shell so far: a
# build's CPU time, unlike its wall time, hardly depends on what else runs.
# ($$ is this shell even inside $(...); fields 16-17 of stat are its children's.)
clock_ticks=$(getconf CLK_TCK)
cpu_seconds() {
  awk -v hz="$clock_ticks" '{ print int(($16 + $17) / hz) }' "/proc/$$/stat"
}

# Version of MODULE as required by the go.mod in DIR (read, not resolved: instant).
required() {
  awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

# A module build of Kubernetes reports "v0.0.0-master"; stamp the release it is
# built from (k8s.io/kubernetes in go.mod), as Kubernetes' own build does
# (hack/lib/version.sh: component-base for the servers, client-go for kubectl
# and the user agents).
kube_version_ldflags() {
  local v minor pkg flags=""
  v=$(required "$here/kube" k8s.io/kubernetes)
  minor=${v#v1.}
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "${flags# }"
}

# rotor-kube runs the command its name says, so a symlink per command works as the
# upstream binary would (kubectl, kubelet, ...), e.g. on PATH.
kube_links() {
  local cmd
  for cmd in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
    ln -sfn rotor-kube "$cache/bin/$cmd"
  done
}

# Prometheus v3.X.Y is published as Go module v0.30X.Y (v0.305.0 is 3.5.0).
prometheus_version() {
  local v minor
  v=$(required "$here/prometheus" github.com/prometheus/prometheus)
  v=${v#v0.}
  minor=${v%%.*}
  echo "$((minor / 100)).$((minor % 100)).${v#*.}"
}

# The Go module (a directory of testbed/) that builds TARGET.
module_dir() {
  case $1 in
    openbao | kube | kustomize | runc | prometheus) echo "$1" ;;
    containerd | cni) echo containerd ;;
    coredns | kube-router) echo addons ;;
    alertmanager) echo prometheus ;;
  esac
}

describe() {
  case $1 in
    openbao) echo "OpenBao server and CLI (bao)" ;;
    kube) echo "rotor-kube $(required "$here/kube" k8s.io/kubernetes): etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl" ;;
    kustomize) echo "kustomize" ;;
    containerd) echo "containerd $(required "$here/containerd" github.com/containerd/containerd/v2): containerd, ctr, containerd-shim-runc-v2" ;;
    cni) echo "CNI plugins $(required "$here/containerd" github.com/containernetworking/plugins): bridge, host-local, loopback, portmap" ;;
    runc) echo "runc $(required "$here/runc" github.com/opencontainers/runc) with seccomp" ;;
    coredns) echo "CoreDNS $(required "$here/addons" github.com/coredns/coredns), cluster DNS plugins only" ;;
    kube-router) echo "kube-router $(required "$here/addons" github.com/cloudnativelabs/kube-router/v2), NetworkPolicy firewall" ;;
    prometheus) echo "Prometheus $(prometheus_version): prometheus, promtool, no web UI assets" ;;
    alertmanager) echo "Alertmanager $(required "$here/prometheus" github.com/prometheus/alertmanager)" ;;
  esac
}

ctr_tags="no_btrfs no_devmapper no_zfs no_tracing urfave_cli_no_docs"

default_targets="openbao kube kustomize containerd cni runc coredns kube-router prometheus alertmanager"
targets=(${*:-$default_targets})
total_start=$SECONDS
n=0
for target in "${targets[@]}"; do
  n=$((n + 1))
  step="[$n/${#targets[@]}]"
  desc=$(describe "$target")
  [[ -n $desc ]] || { echo "testbed: unknown target $target (known: $default_targets)" >&2; exit 2; }
  case $target in
    openbao) build bao "$here/openbao" . ;;
    # "rotor-kube COMMAND ..." is one multi-call binary for the whole control plane and node.
    kube)
      build rotor-kube "$here/kube" -ldflags "$(kube_version_ldflags)" .
      kube_links
      ;;
    # kustomize is a `tool` of its module (go.mod pins it): no source file of ours.
    kustomize) build kustomize "$here/kustomize" sigs.k8s.io/kustomize/kustomize/v5 ;;
    # containerd and the CNI plugins share one module (one dependency graph, compiled once).
    containerd)
      build containerd "$here/containerd" -o "$cache/bin" -tags "$ctr_tags" \
        -ldflags "-X github.com/containerd/containerd/v2/version.Version=$(required "$here/containerd" github.com/containerd/containerd/v2)" \
        github.com/containerd/containerd/v2/cmd/{containerd,ctr,containerd-shim-runc-v2}
      ;;
    cni)
      build cni "$here/containerd" -o "$cache/cni/bin" -tags "$ctr_tags" \
        -ldflags "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$(required "$here/containerd" github.com/containernetworking/plugins)" \
        github.com/containernetworking/plugins/plugins/{main/bridge,ipam/host-local,main/loopback,meta/portmap}
      ;;
    # runc pins runtime-spec 1.2 and containerd 2.2 needs 1.3: its own module. cgo + libseccomp-dev.
    runc) build runc "$here/runc" -o "$cache/bin" -tags "seccomp urfave_cli_no_docs" github.com/opencontainers/runc ;;
    coredns) build coredns "$here/addons" -o "$cache/bin" ./coredns ;;
    kube-router)
      build kube-router "$here/addons" -o "$cache/bin" \
        -ldflags "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$(required "$here/addons" github.com/cloudnativelabs/kube-router/v2)" \
        github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
      ;;
    prometheus)
      build prometheus "$here/prometheus" -o "$cache/bin" -patch plugins/plugins.go=github.com/prometheus/prometheus/plugins/plugins.go \
        -ldflags "-X github.com/prometheus/common/version.Version=$(prometheus_version)" \
        github.com/prometheus/prometheus/cmd/{prometheus,promtool}
      ;;
    # Prometheus 3.5.0 itself requires Alertmanager v0.28.1: one module, one dependency graph.
    # Not amtool: its cli package does not build against the prometheus/common that Prometheus pins.
    alertmanager)
      build alertmanager "$here/prometheus" -ldflags "-X github.com/prometheus/common/version.Version=$(required "$here/prometheus" github.com/prometheus/alertmanager | sed 's/^v//')" \
        github.com/prometheus/alertmanager/cmd/alertmanager
      ;;
  esac
done
# Every module was needed by some build above, so this is at most a moment.
[[ -z $prefetch_pid ]] || wait "$prefetch_pid" || true
echo "testbed: ${#targets[@]} targets ready in $((SECONDS - total_start)) s, $(cpu_seconds) s CPU ($cache)"
