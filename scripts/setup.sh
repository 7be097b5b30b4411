#!/usr/bin/env bash
# Installs what Rotor's demo and tests need, on a fresh Debian machine with Node.js
# and Go 1.26: Node 24 where the machine's Node is older than 22.19, PostgreSQL server
# binaries, the cluster node's Debian packages, Node dependencies, and the testbed's
# Go-built servers (cached outside git; a warm run takes seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

# First: every npm and node below (and after setup) runs on it.
bash scripts/setup-node.sh

# openssl: the kube testbed makes its per-run CA and serving certificates with it.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pgbench >/dev/null || ! command -v openssl >/dev/null; then
  echo "setup: installing PostgreSQL and openssl from Debian ..."
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # The package starts a system cluster where it can; Rotor runs its own throwaway servers.
  $sudo_cmd apt-get install -y -qq postgresql postgresql-contrib openssl >/dev/null
fi

# The node of the testbed cluster: kube-proxy and kube-router program iptables and
# ipset, kube-proxy clears conntrack entries, the CNI portmap plugin may use nft;
# runc is built with cgo against libseccomp (testbed/build.sh).
node_packages="iptables ipset conntrack nftables nfacct libseccomp-dev pkg-config gcc"
if ! command -v iptables >/dev/null || ! command -v ipset >/dev/null || ! command -v conntrack >/dev/null \
  || ! command -v nft >/dev/null || ! command -v nfacct >/dev/null || ! command -v gcc >/dev/null || ! pkg-config --exists libseccomp 2>/dev/null; then
  echo "setup: installing the cluster node's packages from Debian ($node_packages) ..."
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  $sudo_cmd apt-get install -y -qq $node_packages >/dev/null
fi

# The testbed cluster's container images (testbed/images/build.sh): buildah and skopeo
# build and check OCI archives, debootstrap makes their Debian base, gcc -static the
# pause binary (libc6-dev has libc.a).
image_packages="buildah skopeo debootstrap gcc libc6-dev"
if ! command -v buildah >/dev/null || ! command -v skopeo >/dev/null \
  || ! command -v debootstrap >/dev/null || ! command -v gcc >/dev/null || [ ! -f /usr/lib/x86_64-linux-gnu/libc.a ]; then
  echo "setup: installing the image build tools from Debian ($image_packages) ..."
  export DEBIAN_FRONTEND=noninteractive
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # shellcheck disable=SC2086 # a list of package names
  $sudo_cmd apt-get install -y -qq $image_packages >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci ..."
  npm ci --no-audit --no-fund
fi

bash testbed/build.sh
# MariaDB for the MySQL driver's tests: Debian's packages unpacked into the cache, not installed.
bash testbed/mariadb/fetch.sh
# The images need the binaries above (bao, coredns, prometheus): last.
bash testbed/images/build.sh
