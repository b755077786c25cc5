#!/usr/bin/env bash
# Runs one peer script with the torch venv's python, installing the venv first
# if needed (see install.sh). The result JSON line is the only thing on stdout.
#   bench/peers/run.sh embedding_sparse_adam.py --rows 10000000
#   bench/peers/run.sh din_train.py --both
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 SCRIPT.py [ARGS...]" >&2; exit 2; }
script="$1"; shift
PY="$(bash "$HERE/install.sh" | tail -n1)"
exec "$PY" "$HERE/$script" "$@"
