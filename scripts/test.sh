#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests compare against or start (when
# missing and when running as root), type-checks, and runs vitest (whose global setup builds
# dist/ for child processes) on this machine's Node; then runs the Node 24 subset (below) on Node
# 24 from the npm registry. Ends with one plain summary line over both runtimes.
#
# Arguments go to the first vitest run (e.g. test files); with arguments, or with
# TRAINYARD_TEST_NODE24=0 outside CI, the Node 24 run is left out.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Node 24 run: the layers that touch Node's APIs and native code (stores, engine, CLI and its
# child processes, the model server, ingestion on DuckDB), about a third of the suite's time. The
# rest is pure computation that behaves alike on every Node. All of it would add ~6 minutes.
NODE24_TESTS=(test/core test/store test/engine test/cli test/serve test/registry test/testing test/ingest)

bash scripts/ensure-system-deps.sh
npx tsc -p tsconfig.json --noEmit

summarize() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    const failed = r.numFailedTests || (r.numFailedTestSuites ?? 0);
    console.log(JSON.stringify({ passed: r.numPassedTests, failed, skipped }));
  ' "$1" 2>/dev/null || echo '{"passed":0,"failed":1,"skipped":0}'
}

reports=()
status=0
report="$(mktemp -t trainyard-vitest-XXXXXX.json)"
reports+=("node $(node -p 'process.versions.node')|$report")
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

ci=false
case "${CI:-}" in "" | 0 | false | FALSE | False) ;; *) ci=true ;; esac
if [[ $# -eq 0 && ( "$ci" == true || "${TRAINYARD_TEST_NODE24:-1}" != 0 ) ]]; then
  report24="$(mktemp -t trainyard-vitest24-XXXXXX.json)"
  if env24="$(bash scripts/node24.sh)"; then
    eval "$(printf '%s\n' "$env24" | sed 's/^/export /')"
    reports+=("node $("$NODE24" -p 'process.versions.node')|$report24")
    echo "--- the Node 24 subset on $("$NODE24" --version): ${NODE24_TESTS[*]}"
    PATH="$(dirname "$NODE24"):$PATH" NODE_OPTIONS="$NODE24_OPTIONS" \
      "$NODE24" node_modules/vitest/vitest.mjs run --reporter=default --reporter=json \
      --outputFile.json="$report24" "${NODE24_TESTS[@]}" || status=$?
  else
    echo "Node 24 could not be prepared (scripts/node24.sh failed above)" >&2
    echo '{"numPassedTests":0,"numFailedTests":1}' >"$report24"
    reports+=("node 24|$report24")
    status=1
  fi
fi

total_passed=0 total_failed=0 total_skipped=0
for entry in "${reports[@]}"; do
  name="${entry%%|*}" file="${entry#*|}"
  counts="$(summarize "$file")"
  p="$(node -p "JSON.parse(process.argv[1]).passed" "$counts")"
  f="$(node -p "JSON.parse(process.argv[1]).failed" "$counts")"
  s="$(node -p "JSON.parse(process.argv[1]).skipped" "$counts")"
  echo "$name: $p passed, $f failed$([[ $s -gt 0 ]] && echo ", $s skipped")"
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + s))
  rm -f "$file"
done
echo "tests: $total_passed passed, $total_failed failed$([[ $total_skipped -gt 0 ]] && echo ", $total_skipped skipped")"
exit "$status"
