#!/usr/bin/env bash
# Runs every benchmark, one after another (they measure wall clock, so never in parallel),
# printing each one's output. A listed benchmark that is missing is reported and skipped.
# Exit status: 1 if any failed.
set -u
cd "$(dirname "$0")/.."

listed=(engine-dag engine-throughput artifact-hash object-store data-profile-drift gbdt serve log-volume daemon-kill-campaign landing-detection autonomy api ui compare queue cluster-search fence-gc)
declare -A seen=()
files=()
for name in "${listed[@]}"; do
  seen["bench/$name.ts"]=1
  [ -f "bench/$name.ts" ] && files+=("bench/$name.ts")
done
# Any other top-level benchmark, in name order.
for f in bench/*.ts; do
  [ -f "$f" ] && [ -z "${seen[$f]:-}" ] && files+=("$f")
done

failed=0
for f in "${listed[@]}"; do
  [ -f "bench/$f.ts" ] || echo "== bench/$f.ts: not there, skipped"
done
for f in "${files[@]}"; do
  echo
  echo "== $f"
  start=$(date +%s)
  if ! npx --no-install tsx "$f"; then
    echo "!! $f failed"
    failed=1
  fi
  echo "== $f: $(( $(date +%s) - start )) s"
done
exit $failed
