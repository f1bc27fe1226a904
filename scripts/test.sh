#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests compare against or start (when
# missing and when running as root), type-checks, and runs vitest (whose global setup builds
# dist/ for child processes) on this machine's Node; then a subset on Node 24 from the npm registry
# (scripts/test-node24.sh). Ends with one plain summary line over both runtimes.
#
# Arguments go to the first vitest run (e.g. test files); with arguments, or with
# TRAINYARD_TEST_NODE24=0 outside CI, the Node 24 run is left out.
#
# Node 24 runs the subset in `npm test` and the whole suite with TRAINYARD_TEST_NODE24=full, which
# CI sets (.ci/run): the two full passes took over 20 minutes on two shared cores, beyond the
# budget of `npm test`, so every test runs on both runtimes in CI and each area on both locally
# except the numeric libraries, which behave alike on every Node.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh
npx tsc -p tsconfig.json --noEmit
npx tsc -p ui/tsconfig.json --noEmit
# Formatting (120 columns) and lint: `npx biome check --write .` fixes what it can.
npx biome ci .

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
  reports+=("node 24|$report24")
  if [[ "${TRAINYARD_TEST_NODE24:-}" == full ]]; then
    bash scripts/test-node24.sh "$report24" test/ src/ || status=$?
  else
    bash scripts/test-node24.sh "$report24" || status=$?
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
