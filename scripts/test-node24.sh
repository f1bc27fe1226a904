#!/usr/bin/env bash
# Runs test files on Node 24 (prepared by scripts/node24.sh) and writes vitest's JSON report.
#   bash scripts/test-node24.sh REPORT.json [test paths...]   (default: the subset below)
#
# The subset (the default; CI passes test/ src/ for the whole suite): the layers that touch
# Node's APIs and native code (stores, engine, CLI and its child processes, the model server,
# ingestion on DuckDB), about two fifths of the suite's time.
# The rest is computation that behaves alike on every Node; all of it would add minutes to the
# 20-minute budget of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
report="$1"
shift
tests=("$@")
[[ ${#tests[@]} -gt 0 ]] || tests=(test/core test/store test/engine test/cli test/serve test/testing test/ingest)

env24="$(bash scripts/node24.sh)" || {
  echo "Node 24 could not be prepared (scripts/node24.sh failed above)" >&2
  exit 1
}
eval "$(printf '%s\n' "$env24" | sed 's/^/export /')"
echo "--- on Node $("$NODE24" -p process.versions.node): ${tests[*]}"
PATH="$(dirname "$NODE24"):$PATH" NODE_OPTIONS="$NODE24_OPTIONS" \
  "$NODE24" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json --outputFile.json="$report" "${tests[@]}"
