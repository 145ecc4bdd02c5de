#!/usr/bin/env bash
# make bench: see bench.py.
set -euo pipefail
exec python3 "$(dirname "$0")/bench.py" "$@"
