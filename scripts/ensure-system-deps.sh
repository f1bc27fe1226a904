#!/usr/bin/env bash
# Installs the Debian packages that tests compare against or drive, when missing. Silent and
# quick when everything is present (safe to run before every test run). Under CI (CI set and not
# "false"/"0") it exits non-zero when it cannot install what is missing, since the tests that
# need it would then fail (test/support/require-tool.ts); elsewhere it says what will be skipped.
set -uo pipefail

# One line per package: the Debian package, then the shell test that says it is present.
checks=(
  "python3-scipy|/usr/bin/python3 -c 'import scipy, numpy'"
  "python3-pandas|/usr/bin/python3 -c 'import pandas'"
  "python3-sklearn|/usr/bin/python3 -c 'import sklearn'"
  "python3-xgboost|/usr/bin/python3 -c 'import xgboost'"
  "make|command -v make"
  "util-linux|test -x /usr/bin/chrt"
  # Server binaries for the throwaway clusters of the PostgreSQL tests (test/support/postgres.ts).
  "postgresql|command -v initdb || ls /usr/lib/postgresql/*/bin/initdb"
  # Headless browser for the UI tests (driven by playwright-core) and Redis for the queue tests.
  "chromium|command -v chromium"
  "redis-server|command -v redis-server"
)

ci=false
case "${CI:-}" in "" | 0 | false | FALSE | False) ;; *) ci=true ;; esac

missing() {
  local out=() entry py_ok=false
  # One interpreter start for every Python module when all are there (the usual case).
  /usr/bin/python3 -c 'import scipy, numpy, pandas, sklearn, xgboost' >/dev/null 2>&1 && py_ok=true
  for entry in "${checks[@]}"; do
    [[ $py_ok == true && $entry == python3-* ]] && continue
    bash -c "${entry#*|}" >/dev/null 2>&1 || out+=("${entry%%|*}")
  done
  echo "${out[*]}"
}

need=($(missing))
[ ${#need[@]} -eq 0 ] && exit 0

log=/tmp/trainyard-apt.log
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >"$log" 2>&1 \
    || echo "apt-get install failed; see $log"
  need=($(missing))
  [ ${#need[@]} -eq 0 ] && exit 0
  why="still missing after apt-get install (see $log)"
elif [ "$(id -u)" != "0" ]; then
  why="not root, so not installed (run: sudo bash $0)"
else
  why="apt-get not found, so not installed"
fi

if $ci; then
  echo "ensure-system-deps: ${need[*]}: $why; CI is set, and the tests that need them would fail" >&2
  exit 1
fi
echo "missing ${need[*]}: $why; the tests that need them will be skipped (they fail under CI)"
exit 0
