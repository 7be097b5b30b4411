#!/usr/bin/env bash
# Proves that the image archives build.sh made are what a node needs: each is imported
# with `ctr -n k8s.io images import` into a throwaway containerd (its own root, state
# and socket in a temp dir), must come out under its ref, unpacked, with the expected
# user and entrypoint; with runc built, each loaded image also runs a smoke command.
# The containerd, its containers and the temp dir are removed at the end, also on failure.
#
# Usage: bash testbed/images/verify.sh [NAME...]   (default: every archive there is)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
out=$cache/images
bin=$cache/bin
for tool in containerd ctr; do
  [[ -x $bin/$tool ]] || { echo "verify: $bin/$tool is not built (bash testbed/build.sh containerd)" >&2; exit 1; }
done

names=${*:-$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).images).join(" "))' "$here/images.json")}
declare -A ref
eval "$(node -e '
  const { images } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const [name, image] of Object.entries(images)) if (image.ref) console.log(`ref[${name}]=${JSON.stringify(image.ref)}`);
' "$here/images.json")"

tmp=$(mktemp -d /tmp/rotor-images-verify.XXXXXX)
sock=$tmp/containerd.sock
containerd_pid=""
cleanup() {
  set +e
  if [[ -n $containerd_pid ]]; then
    for id in $(ctr containers ls -q 2>/dev/null); do
      ctr tasks kill -s KILL "$id" >/dev/null 2>&1
      ctr tasks rm -f "$id" >/dev/null 2>&1
      ctr containers rm "$id" >/dev/null 2>&1
    done
    kill -TERM "$containerd_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$containerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$containerd_pid" 2>/dev/null
    wait "$containerd_pid" 2>/dev/null
  fi
  # Snapshot and rootfs mounts left by a crash: innermost first.
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

cat > "$tmp/config.toml" <<EOF
version = 3
root = "$tmp/root"
state = "$tmp/state"
# Images and plain containers only: no CRI (it wants CNI), no NRI socket in /var/run.
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images", "io.containerd.nri.v1.nri"]
[grpc]
  address = "$sock"
[plugins.'io.containerd.internal.v1.opt']
  path = "$tmp/opt"
EOF
PATH=$bin:$PATH "$bin/containerd" --config "$tmp/config.toml" > "$tmp/containerd.log" 2>&1 &
containerd_pid=$!
# (containerd 2.2 warns on every call that cgroup v1, this host's, is deprecated.)
ctr() { "$bin/ctr" --address "$sock" --namespace k8s.io "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2); }
deadline=$((SECONDS + 30))
until ctr version >/dev/null 2>&1; do
  if ((SECONDS > deadline)) || ! kill -0 "$containerd_pid" 2>/dev/null; then
    echo "verify: containerd did not start; its log:" >&2
    tail -20 "$tmp/containerd.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "verify: throwaway containerd $("$bin/containerd" --version | awk '{ print $3 }') on $sock"

# config_of NAME: the image config's User, Entrypoint and Cmd, as containerd stored them.
config_of() {
  local manifest config
  manifest=$(ctr images ls "name==${ref[$1]}" | awk 'NR == 2 { print $3 }')
  config=$(ctr content get "$manifest" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).config.digest)')
  ctr content get "$config" | node -e '
    const { config = {} } = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(`user=${config.User ?? ""} entrypoint=${JSON.stringify(config.Entrypoint ?? null)} cmd=${JSON.stringify(config.Cmd ?? null)}`);'
}

# smoke NAME: a short run of the image under runc, as the image's own user.
smoke() {
  local name=$1 image=${ref[$1]} id=verify-$1
  local run=(run --rm --runc-binary "$bin/runc" --runtime io.containerd.runc.v2)
  case $name in
    debian) ctr "${run[@]}" "$image" "$id" sh -c 'id -u; . /etc/os-release; echo "$PRETTY_NAME"' ;;
    node) ctr "${run[@]}" "$image" "$id" sh -c 'node --version; npm --version; npx --version' ;;
    rotor) ctr "${run[@]}" "$image" "$id" node -e 'console.log(process.getuid(), require("node:fs").existsSync("/app/packages/cli/dist/src/main.js"))' ;;
    openbao) ctr "${run[@]}" "$image" "$id" sh -c 'id -un; bao version; vault version' ;;
    postgres) ctr "${run[@]}" --user 999:999 "$image" "$id" sh -c 'id -un; postgres --version; pg_isready --version' ;;
    coredns) ctr "${run[@]}" "$image" "$id" /coredns -version ;;
    prometheus) ctr "${run[@]}" "$image" "$id" /bin/prometheus --version ;;
    alertmanager) ctr "${run[@]}" "$image" "$id" /bin/alertmanager --version ;;
    injector) ctr "${run[@]}" "$image" "$id" node -e 'import("/app/testbed/dist/src/injector.js").then((m) => console.log(process.getuid(), typeof m.mutatePod))' ;;
    pause)
      # Runs until SIGTERM, then exits 0 (ctr run's own exit status is the task's).
      ctr "${run[@]}" "$image" "$id" &
      local runner=$! deadline=$((SECONDS + 10))
      until ctr tasks ls | awk -v id="$id" '$1 == id && $3 == "RUNNING"' | grep -c . >/dev/null; do
        ((SECONDS < deadline)) || { echo "pause did not start" >&2; return 1; }
        sleep 0.1
      done
      ctr tasks kill -s TERM "$id"
      local status=0
      wait "$runner" || status=$?
      echo "pause exited with status $status on SIGTERM"
      return "$status"
      ;;
  esac
}

failed=0
for name in $names; do
  archive=$out/$name.oci.tar
  if [[ ! -f $archive ]]; then
    echo "verify: $name: no archive ($archive)"
    continue
  fi
  # The node image's ref is the Dockerfile's FROM: take it from the archive.
  [[ -n ${ref[$name]:-} ]] || ref[$name]=$(tar -xOf "$archive" index.json |
    node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).manifests[0].annotations["org.opencontainers.image.ref.name"])')
  start=$(date +%s.%N)
  if ! ctr images import "$archive" > "$tmp/import-$name.log" 2>&1; then
    echo "verify: $name: import FAILED:" >&2
    cat "$tmp/import-$name.log" >&2
    failed=1
    continue
  fi
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  listed=$(ctr images ls -q)
  if ! grep -qxF "${ref[$name]}" <<<"$listed"; then
    echo "verify: $name: imported, but not as ${ref[$name]}: $(echo $listed)" >&2
    failed=1
    continue
  fi
  unpacked=$(ctr images check "name==${ref[$name]}" | awk 'NR == 2 { print $2, $NF }')
  printf 'verify: %s: imported as %s in %.1f s (%s), %s\n' "$name" "${ref[$name]}" "$seconds" "$unpacked" "$(config_of "$name")"
  if [[ -x $bin/runc ]]; then
    if ! smoke "$name" > "$tmp/smoke-$name.log" 2>&1; then
      echo "verify: $name: smoke run FAILED:" >&2
      cat "$tmp/smoke-$name.log" >&2
      failed=1
      continue
    fi
    echo "verify: $name: ran: $(tr '\n' ' ' < "$tmp/smoke-$name.log")"
  fi
done
[[ -x $bin/runc ]] || echo "verify: $bin/runc is not built: archives imported, nothing run"
exit $failed
