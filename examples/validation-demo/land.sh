#!/usr/bin/env bash
# Lands January-June into examples/validation-demo/landing with June corrupted.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
node "$here/../flight-delays/land-data.mjs" --through 6 --landing "$here/landing" --corrupt 6
