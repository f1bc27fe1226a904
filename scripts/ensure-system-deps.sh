#!/usr/bin/env bash
# Installs the Debian packages that tests compare against or drive, when missing.
set -uo pipefail
need=()
/usr/bin/python3 -c "import scipy" 2>/dev/null || need+=(python3-scipy)
/usr/bin/python3 -c "import pandas" 2>/dev/null || need+=(python3-pandas)
/usr/bin/python3 -c "import sklearn" 2>/dev/null || need+=(python3-sklearn)
/usr/bin/python3 -c "import xgboost" 2>/dev/null || need+=(python3-xgboost)
command -v make >/dev/null || need+=(make)
# PostgreSQL server binaries for the throwaway clusters of the Postgres tests (test/support/postgres.ts).
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/tmp/trainyard-apt.log 2>&1 \
      || { echo "apt-get install failed; see /tmp/trainyard-apt.log (parity and PostgreSQL tests will be skipped)"; }
  else
    echo "missing ${need[*]}: parity and PostgreSQL tests that need them will be skipped"
  fi
fi
exit 0
