#!/usr/bin/env bash
# The whole test suite: installs the Debian packages the tests compare against or start (when
# missing and when running as root), type-checks, and runs vitest (whose global setup builds
# dist/ for child processes). Ends with one plain summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh
npx tsc -p tsconfig.json --noEmit
report="$(mktemp -t trainyard-vitest-XXXXXX.json)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$report" || true
rm -f "$report"
exit "$status"
