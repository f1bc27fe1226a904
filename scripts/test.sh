#!/usr/bin/env bash
# The whole test suite: installs the Debian peers the parity tests compare against (when
# missing and when running as root), builds dist/ for child processes, type-checks, runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh
node scripts/build.mjs
npx tsc -p tsconfig.json --noEmit
npx vitest run "$@"
