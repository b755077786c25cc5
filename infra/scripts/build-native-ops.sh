#!/usr/bin/env bash
# Builds our native code into two Node-API modules under build/native:
#  - recsys_ops.node from native/*.cc, our TensorFlow kernels. Loading it
#    (infra/tf.ts does) registers the ops with the libtensorflow that tfjs-node
#    has loaded, which then runs them by name like any TensorFlow op. Needs
#    install-tfjs-native.sh first: it places the library and the C API headers
#    this compiles against.
#  - recsys_tables.node from native/tables/*.cc, loops over the embedding
#    tables' typed arrays (infra/native-tables.ts loads it); no TensorFlow.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TF_VERSION="${RECSYS_TF_WHEEL_VERSION:-2.21.0}"
CACHE="${RECSYS_CACHE:-$HOME/.cache/recsys}"
INCLUDE="$CACHE/libtensorflow-$TF_VERSION/include"
LIB="$ROOT/node_modules/@tensorflow/tfjs-node/deps/lib"
OUT="$ROOT/build/native/recsys_ops.node"
SOURCES=("$ROOT"/native/*.cc)
TABLES_OUT="$ROOT/build/native/recsys_tables.node"
TABLES_SOURCES=("$ROOT"/native/tables/*.cc)

log() { printf '[build-native-ops] %s\n' "$*" >&2; }

[ -f "$INCLUDE/tensorflow/c/kernels.h" ] && [ -f "$INCLUDE/tsl/platform/platform.h" ] \
  || { log "missing TensorFlow's C kernel headers under $INCLUDE: run 'bash infra/scripts/install-tfjs-native.sh' first"; exit 1; }
[ -f "$LIB/libtensorflow_framework.so.2" ] || { log "missing $LIB/libtensorflow_framework.so.2: run 'bash infra/scripts/install-tfjs-native.sh' first"; exit 1; }

loads() {
  (cd "$ROOT" && node -e "require('@tensorflow/tfjs-node'); require('$OUT'); require('$TABLES_OUT')" >/dev/null 2>&1)
}

if [ -f "$OUT" ] && [ -f "$TABLES_OUT" ] && [ -z "$(find "$ROOT"/native "${BASH_SOURCE[0]}" -newer "$OUT" -o -newer "$TABLES_OUT")" ] && loads; then
  log "up to date: $OUT, $TABLES_OUT"
  exit 0
fi

mkdir -p "$(dirname "$OUT")"
log "compiling ${#SOURCES[@]} source(s) into $OUT"
# The module resolves libtensorflow_framework.so.2 to the copy tfjs-node has
# already loaded (same soname); the rpath only matters if it is loaded first.
g++ -O3 -std=c++17 -Wall -Wextra -shared -fPIC -I"$INCLUDE" "${SOURCES[@]}" \
  -L"$LIB" -l:libtensorflow_framework.so.2 \
  -Wl,-rpath,'$ORIGIN/../../node_modules/@tensorflow/tfjs-node/deps/lib' \
  -o "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "compiling ${#TABLES_SOURCES[@]} source(s) into $TABLES_OUT"
# No FMA contraction: the table loops must round exactly as the JavaScript
# they replace (features/embedding), so both give the same floats.
g++ -O3 -std=c++17 -Wall -Wextra -shared -fPIC -ffp-contract=off "${TABLES_SOURCES[@]}" -o "$TABLES_OUT.tmp"
mv "$TABLES_OUT.tmp" "$TABLES_OUT"
loads || { log "built $OUT and $TABLES_OUT but they do not load beside tfjs-node"; exit 1; }
log "ok"
