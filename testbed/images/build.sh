#!/usr/bin/env bash
# Builds the testbed's container images with no registry and no Docker engine:
# buildah (chroot isolation) over a debootstrap'd Debian base, the Node release from
# the npm registry, the project's own Dockerfile, and binaries the testbed builds.
# Each image ends as an OCI archive ${ROTOR_CACHE_DIR:-~/.cache/rotor}/images/NAME.oci.tar
# that `ctr -n k8s.io images import` takes. An image is rebuilt only when its inputs
# (recipe files, staging code, base image, binaries, sources) change; otherwise it
# prints "up to date". Names and refs: images.json. Docs: docs/testbed.md, "Images".
#
# Usage: bash testbed/images/build.sh [NAME...]   (default: every image)
# An image whose binary is not built yet is skipped with a note, unless named.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ROTOR_CACHE_DIR:-$HOME/.cache/rotor}
out=$cache/images
work=$out/work
storage=$out/storage
mkdir -p "$out" "$work" "$storage"
# node_release_install: the Node base's release, as scripts/setup.sh installs it.
# shellcheck source=scripts/node-release.sh
source "$repo/scripts/node-release.sh"

all_images="debian node rotor openbao postgres pause coredns prometheus alertmanager injector"
requested=${*:-}
for name in $requested; do
  [[ " $all_images " == *" $name "* ]] || { echo "images: unknown image $name (one of: $all_images)" >&2; exit 2; }
done

# One build per cache at a time (setup.sh may run in two shells).
exec 9>"$out/.lock"
if ! flock -n 9; then
  echo "images: another build holds $out/.lock; waiting ..."
  flock 9
fi

# --- configuration (images.json) ---------------------------------------------------
declare -A ref load node_versions
eval "$(node -e '
  const { images } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const q = (s) => `'\''${String(s).replace(/'\''/g, `'\''\\'\'''\''`)}'\''`;
  for (const [name, image] of Object.entries(images)) {
    if (image.ref) console.log(`ref[${name}]=${q(image.ref)}`);
    console.log(`load[${name}]=${q(image.load)}`);
  }
  for (const [major, version] of Object.entries(images.node.nodeVersions)) console.log(`node_versions[${major}]=${q(version)}`);
  const d = images.debian;
  console.log(`debian_suite=${q(d.suite)}; debian_mirror=${q(d.mirror)}; debian_security=${q(d.securityMirror)}`);
' "$here/images.json")"
debian_mirror=${ROTOR_DEBIAN_MIRROR:-$debian_mirror}

# The Dockerfile's FROM names the Node base: build exactly that name, of that major.
node_from() {
  local images
  images=$(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' "$repo/Dockerfile" | sort -u)
  local stages
  stages=$(awk 'toupper($1) == "FROM" && toupper($(NF-1)) == "AS" { print $NF }' "$repo/Dockerfile")
  images=$(grep -vxF -f <(echo "$stages") <<<"$images" || true)
  if [[ $(wc -l <<<"$images") -ne 1 || -z $images ]]; then
    echo "images: the Dockerfile's FROM lines name $(echo $images); build.sh makes one Node base" >&2
    exit 1
  fi
  local name=$images
  [[ $name == */* ]] || name=library/$name
  [[ ${name%%/*} == *.* ]] || name=docker.io/$name
  local tag=${name##*:}
  if [[ ${name%:*} != docker.io/library/node || $tag != *-$debian_suite-slim ]]; then
    echo "images: the Dockerfile's FROM $images is not node:<major>-$debian_suite-slim (the base suite is $debian_suite, images.json)" >&2
    exit 1
  fi
  node_major=${tag%%[-.]*}
  node_version=${node_versions[$node_major]:-}
  if [[ -z $node_version ]]; then
    echo "images: images.json has no nodeVersions entry for Node $node_major (the Dockerfile's FROM $images)" >&2
    exit 1
  fi
  ref[node]=$name
}
node_from

# --- buildah -------------------------------------------------------------------------
# Storage lives under the cache, never /var/lib/containers. overlay works as root on
# ext4; ROTOR_IMAGES_STORAGE_DRIVER=vfs is the fallback elsewhere (a change wipes it).
driver=${ROTOR_IMAGES_STORAGE_DRIVER:-overlay}
if [[ -d $storage/graph && "$(cat "$storage/driver" 2>/dev/null)" != "$driver" ]]; then
  echo "images: storage driver changes to $driver; emptying $storage"
  rm -rf "$storage/graph" "$storage/run"
fi
echo "$driver" > "$storage/driver"
# The runroot holds mount counts; after a reboot they are stale.
boot_id=$(cat /proc/sys/kernel/random/boot_id)
if [[ "$(cat "$storage/boot_id" 2>/dev/null)" != "$boot_id" ]]; then
  rm -rf "$storage/run"
  echo "$boot_id" > "$storage/boot_id"
fi
bh() { buildah --root "$storage/graph" --runroot "$storage/run" --storage-driver "$driver" "$@"; }
export BUILDAH_ISOLATION=chroot
bud() { bh bud --isolation chroot --network host --pull=never "$@"; }

# --- keys ------------------------------------------------------------------------------
declare -A keys
sha() { sha256sum | cut -c1-16; }
# The recipe directory's files, by name and content.
recipe_digest() { [[ ! -d $here/$1 ]] || (cd "$here/$1" && find . -type f | LC_ALL=C sort | xargs -d '\n' sha256sum); }
# A binary of the testbed's build: its input key when build.sh wrote one, and its stat.
binary_identity() { cat "$1.key" 2>/dev/null || true; stat -c '%s %Y' "$1"; }
# Repository files as git sees them (tracked or not, minus .gitignore'd), that exist.
repo_files() {
  (cd "$repo" && git ls-files -co --exclude-standard | LC_ALL=C sort -u | while IFS= read -r f; do
    [[ -f $f || -L $f ]] && printf '%s\n' "$f"
  done)
}

# --- staging: one function per image fills the build context $2 ------------------------
# (Each function's own text is part of its image's key: editing it rebuilds the image.)

stage_debian() {
  local ctx=$1
  local rootfs_key
  rootfs_key=$( (echo "$debian_suite $debian_mirror"; dpkg-query -W debootstrap; declare -f debian_rootfs) | sha)
  if [[ ! -f $out/debian-rootfs.tar || "$(cat "$out/debian-rootfs.key" 2>/dev/null)" != "$rootfs_key" ]]; then
    debian_rootfs "$out/debian-rootfs.tar"
    echo "$rootfs_key" > "$out/debian-rootfs.key"
  fi
  ln -f "$out/debian-rootfs.tar" "$ctx/rootfs.tar"
  cat > "$ctx/debian.sources" <<EOF
Types: deb
URIs: $debian_mirror
Suites: $debian_suite $debian_suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $debian_security
Suites: $debian_suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# debootstrap --variant=minbase into a tar, without the host's traces (dev nodes,
# resolv.conf, hostname, package cache and lists), which the image step does not need.
debian_rootfs() {
  local tar=$1 dir=$work/debian-rootfs
  echo "images: debootstrap $debian_suite (minbase) from $debian_mirror ..."
  local start=$SECONDS
  rm -rf "$dir"
  debootstrap --variant=minbase "$debian_suite" "$dir" "$debian_mirror" > "$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2
    exit 1
  }
  rm -rf "${dir:?}"/dev/* "$dir"/etc/resolv.conf "$dir"/etc/hostname "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  : > "$dir/etc/hostname"
  tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp" .
  mv "$tar.tmp" "$tar"
  rm -rf "$dir"
  echo "images: debootstrap took $((SECONDS - start)) s"
}

stage_node() {
  node_release_install "$node_version" "$1/usr/local" "$cache/downloads" || exit 1
  build_args+=(--build-arg "NODE_VERSION=$node_version")
}

# The build context is the repository as git sees it (so no node_modules, dist or
# test leftovers), with the project's Dockerfile and .dockerignore as they are.
stage_rotor() {
  local ctx=$1
  repo_files | (cd "$repo" && tar --no-recursion -T - -cf -) | tar -xf - -C "$ctx"
  build_file=$ctx/Dockerfile
  npm_in_build
  # Layers are kept as a cache: a source change redoes only the steps after `COPY . .`.
  build_args+=(--layers --force-rm)
}

# The injector's context: the root package files and the testbed package's sources.
injector_files() { repo_files | grep -E '^(package(-lock)?\.json|tsconfig(\.base)?\.json|testbed/(package\.json|tsconfig\.json|src/.*))$'; }
stage_injector() {
  injector_files | (cd "$repo" && tar --no-recursion -T - -cf -) | tar -xf - -C "$1"
  npm_in_build
  build_args+=(--layers --force-rm)
}

npm_in_build() {
  # npm inside the build uses the host's registry and CA settings (a mounted npmrc; an
  # intercepting proxy's CA is in the host's cafile) and the host's npm cache. Mounts
  # are build volumes, never layers, and the Dockerfile stays as it is.
  local npmrc=$work/build.npmrc cafile
  echo "registry=$(npm config get registry)" > "$npmrc"
  cafile=$(npm config get cafile)
  if [[ -n $cafile && $cafile != null && -f $cafile ]]; then
    echo "cafile=/run/rotor-build/ca.crt" >> "$npmrc"
    build_args+=(-v "$cafile:/run/rotor-build/ca.crt:ro")
  fi
  build_args+=(-v "$npmrc:/root/.npmrc:ro")
  local npm_cache
  npm_cache=${ROTOR_IMAGES_NPM_CACHE-$(npm config get cache)}
  [[ -z $npm_cache ]] || { mkdir -p "$npm_cache"; build_args+=(-v "$npm_cache:/root/.npm"); }
}

stage_binary() { # NAME: the testbed's binary into the context
  local bin=$cache/bin/$1
  ln -f "$bin" "$2/$1" 2>/dev/null || cp "$bin" "$2/$1"
}
stage_openbao() { stage_binary bao "$1"; }
stage_postgres() { :; }
stage_pause() { gcc -static -Os -s -Wall -Werror -o "$1/pause" "$here/pause/pause.c"; }
stage_coredns() { check_version coredns "$("$cache/bin/coredns" -version)"; stage_binary coredns "$1"; }
stage_prometheus() {
  check_version prometheus "$("$cache/bin/prometheus" --version 2>&1)"
  stage_binary prometheus "$1"
  stage_binary promtool "$1"
}
stage_alertmanager() {
  check_version alertmanager "$("$cache/bin/alertmanager" --version 2>&1)"
  stage_binary alertmanager "$1"
}

# check_version NAME OUTPUT: the binary's own version output names the ref's tag.
check_version() {
  local tag=${ref[$1]##*:}
  if ! grep -qE "(^|[^0-9.])v?${tag#v}([^0-9.]|$)" <<<"$2"; then
    echo "images: ${ref[$1]} would hold a binary that says: $(head -1 <<<"$2") (fix the tag in images.json)" >&2
    exit 1
  fi
}

# What each image is made from besides its recipe directory and staging function.
inputs() {
  case $1 in
    debian) echo "$debian_suite $debian_mirror $debian_security" ;;
    node) echo "${keys[debian]} ${ref[node]} $node_version"; declare -f node_release_install node_release_pack ;;
    rotor) echo "${keys[node]}"; repo_files | (cd "$repo" && xargs -d '\n' sha256sum) ;;
    openbao) echo "${keys[debian]}"; binary_identity "$cache/bin/bao" ;;
    postgres) echo "${keys[debian]}" ;;
    pause) gcc --version | head -1 ;;
    coredns) echo "${keys[debian]}"; binary_identity "$cache/bin/coredns" ;;
    prometheus) echo "${keys[debian]}"; binary_identity "$cache/bin/prometheus"; binary_identity "$cache/bin/promtool" ;;
    alertmanager) echo "${keys[debian]}"; binary_identity "$cache/bin/alertmanager" ;;
    injector) echo "${keys[node]}"; injector_files | (cd "$repo" && xargs -d '\n' sha256sum) ;;
  esac
}

# The base image each recipe's FROM gets (--build-arg BASE), and what must exist first.
base_of() {
  case $1 in
    node | openbao | postgres | coredns | prometheus | alertmanager) echo debian ;;
    rotor | injector) echo node ;;
  esac
}
binary_of() {
  case $1 in
    openbao) echo bao ;;
    coredns | prometheus | alertmanager) echo "$1" ;;
  esac
}

# --- build, export, verify -------------------------------------------------------------
archive_of() { echo "$out/$1.oci.tar"; }

# A base must be in buildah's storage for FROM; if storage was emptied, load its archive.
ensure_in_storage() {
  local name=$1
  bh inspect --type image "${ref[$name]}" >/dev/null 2>&1 && return
  echo "images: loading ${ref[$name]} from its archive into buildah's storage"
  local id
  id=$(bh pull --quiet "oci-archive:$(archive_of "$name")")
  bh tag "$id" "${ref[$name]}"
}

# drop_unnamed_images [FAILED]: remove every image without a name (old builds' images and
# layer-cache steps) except the steps that each image's last build log shows it made or
# reused: the layer cache of rotor's and the injector's npm ci. Of a FAILED image's build
# only the steps it reused are kept: a step that failed without failing (npm's "Exit
# handler never called!" exits 0) must not stay in the cache.
drop_unnamed_images() {
  local keep ids log
  keep=$(for log in "$work"/*.build.log; do
    [[ -f $log ]] || continue
    if [[ $log == "$work/${1:-}.build.log" ]]; then
      grep -oE -- '--> Using cache [0-9a-f]{11,}' "$log" || true
    else
      grep -oE -- '--> (Using cache )?[0-9a-f]{11,}' "$log" || true
    fi
  done | grep -oE '[0-9a-f]{11,}$' || true)
  ids=$(bh images -a --noheading --no-trunc --format '{{.ID}} {{.Name}}' | awk '$2 == "<none>" { sub(/^sha256:/, "", $1); print $1 }' |
    while read -r id; do
      local kept=""
      for k in $keep; do [[ $id != "$k"* ]] || kept=1; done
      [[ -n $kept ]] || echo "$id"
    done)
  [[ -z $ids ]] || bh rmi -f $ids >/dev/null 2>&1 || true
}

export_archive() {
  local name=$1 archive
  archive=$(archive_of "$name")
  rm -f "$archive.tmp"
  # skopeo's oci-archive:PATH:REF names the image REF (org.opencontainers.image.ref.name),
  # the name `ctr images import` gives it.
  bh push --quiet "${ref[$name]}" "oci-archive:$archive.tmp:${ref[$name]}" >/dev/null
  skopeo inspect --config "oci-archive:$archive.tmp:${ref[$name]}" > "$work/$name.config.json"
  mv "$archive.tmp" "$archive"
}

build() {
  local name=$1 key archive
  archive=$(archive_of "$name")
  # rotor's recipe is the project's own Dockerfile.
  if [[ $name != rotor && ! -f $here/$name/Containerfile ]]; then
    echo "images: $name skipped: no recipe ($here/$name/Containerfile) yet"
    return
  fi
  local binary
  binary=$(binary_of "$name")
  if [[ -n $binary && ! -x $cache/bin/$binary ]]; then
    if [[ " $requested " == *" $name "* ]]; then
      echo "images: $name needs $cache/bin/$binary, which is not built" >&2
      exit 1
    fi
    echo "images: $name skipped: $cache/bin/$binary is not built yet"
    return
  fi
  key=$( (buildah --version; echo "${ref[$name]}"; recipe_digest "$name"; declare -f "stage_$name"; inputs "$name") | sha)
  keys[$name]=$key
  if [[ -f $archive && "$(cat "$out/$name.key" 2>/dev/null)" == "$key" ]]; then
    echo "images: $name is up to date (${ref[$name]}, $archive)"
    return
  fi
  echo "images: building $name (${ref[$name]}) ..."
  local start=$SECONDS ctx=$work/$name
  rm -rf "$ctx"
  mkdir -p "$ctx"
  [[ ! -d $here/$name ]] || cp -a "$here/$name/." "$ctx/"
  build_file=$ctx/Containerfile
  build_args=()
  "stage_$name" "$ctx"
  local base
  base=$(base_of "$name")
  if [[ -n $base ]]; then
    ensure_in_storage "$base"
    # The recipes' FROM ${BASE}; the project's Dockerfile names its base itself.
    [[ $name == rotor ]] || build_args+=(--build-arg "BASE=${ref[$base]}")
  fi
  [[ $name != debian ]] || build_args+=(--squash)
  if ! bud "${build_args[@]}" -f "$build_file" -t "${ref[$name]}" "$ctx" > "$work/$name.build.log" 2>&1; then
    tail -30 "$work/$name.build.log" >&2
    bh rm --all >/dev/null 2>&1 || true
    drop_unnamed_images "$name"
    echo "images: building $name failed; whole log: $work/$name.build.log" >&2
    return 1
  fi
  # Drop what the build left behind: its containers, the previous image of this name
  # (now unnamed) and layer-cache steps of earlier builds.
  bh rm --all >/dev/null
  drop_unnamed_images
  export_archive "$name"
  rm -rf "$ctx"
  echo "$key" > "$out/$name.key"
  echo "images: built $name in $((SECONDS - start)) s: $archive, $(du -m "$archive" | cut -f1) MiB"
}

# A base is built first even when only a dependant is named.
order=""
for name in ${requested:-$all_images}; do
  base=$(base_of "$name")
  [[ -z $base ]] || { baseofbase=$(base_of "$base"); order="$order $baseofbase $base"; }
  order="$order $name"
done
# A failed image does not stop the others (only those built on it); the exit status tells.
done_list=" " failed=""
for name in $order; do
  [[ $done_list == *" $name "* ]] && continue
  done_list="$done_list$name "
  base=$(base_of "$name")
  if [[ -n $base && " $failed " == *" $base "* ]]; then
    echo "images: $name skipped: its base $base failed" >&2
    failed="$failed $name"
    continue
  fi
  build "$name" || failed="$failed $name"
done
if [[ -n $failed ]]; then
  echo "images: FAILED:$failed" >&2
  exit 1
fi
