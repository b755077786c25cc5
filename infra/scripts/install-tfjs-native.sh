#!/usr/bin/env bash
# Gives @tensorflow/tfjs-node its native libtensorflow without the internet.
#
# tfjs-node's own install script downloads libtensorflow 2.9.1 from a host this
# machine cannot reach. Instead we take the C library from the tensorflow-cpu
# wheel on PyPI (which is reachable), place it where the binding expects it and
# build the addon from source. On a machine with the internet the normal path
# (`npm ci` without --ignore-scripts) still works; this script is then a no-op
# once the addon loads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TF_VERSION="${RECSYS_TF_WHEEL_VERSION:-2.21.0}"
CACHE="${RECSYS_CACHE:-$HOME/.cache/recsys}"
WHEELS="$CACHE/wheels"
EXTRACTED="$CACHE/libtensorflow-$TF_VERSION"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
ADDON="$PKG/lib/napi-v8/tfjs_binding.node"

log() { printf '[install-tfjs-native] %s\n' "$*" >&2; }

[ -d "$PKG" ] || { log "missing $PKG: run 'npm ci --ignore-scripts' first"; exit 1; }

addon_loads() {
  (cd "$ROOT" && node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1)
}

# The headers of TensorFlow's C kernel API are wanted too (build-native-ops.sh).
if [ -f "$ADDON" ] && addon_loads && [ -f "$EXTRACTED/include/tsl/platform/platform.h" ]; then
  log "native addon already built and loads: nothing to do"
  exit 0
fi

# A cache extracted before the custom-op headers were wanted lacks platform.h: extract again.
if [ ! -f "$EXTRACTED/lib/libtensorflow_cc.so.2" ] || [ ! -f "$EXTRACTED/include/tsl/platform/platform.h" ]; then
  mkdir -p "$WHEELS"
  wheel="$(ls "$WHEELS"/tensorflow_cpu-"$TF_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    log "downloading tensorflow-cpu==$TF_VERSION wheel (~274 MB) into $WHEELS"
    # Pinning the platform lets any local Python fetch the same manylinux wheel;
    # only its C libraries are used, never the Python package.
    python3 -m pip download --no-deps --only-binary=:all: \
      --platform manylinux_2_27_x86_64 --python-version 3.11 \
      -d "$WHEELS" "tensorflow-cpu==$TF_VERSION" >&2
    wheel="$(ls "$WHEELS"/tensorflow_cpu-"$TF_VERSION"-*.whl | head -n1)"
  fi
  log "extracting libtensorflow from $(basename "$wheel")"
  tmp="$(mktemp -d "$CACHE/extract.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
wanted_libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
include_prefixes = (
    "tensorflow/include/tensorflow/c/",
    "tensorflow/include/tensorflow/core/platform/ctstring",
    "tensorflow/include/tsl/platform/ctstring",
    "tensorflow/include/xla/tsl/c/",
    # What the C kernel API (tensorflow/c/kernels.h) includes besides: our own ops build against it.
    "tensorflow/include/tsl/platform/platform.h",
    "tensorflow/include/tensorflow/core/common_runtime/next_pluggable_device/c/",
)
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith("/"):
            continue
        if name in wanted_libs:
            dest = os.path.join(out, "lib", os.path.basename(name))
        elif name.startswith(include_prefixes):
            dest = os.path.join(out, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(name) as src, open(dest, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  rm -rf "$EXTRACTED"
  mv "$tmp" "$EXTRACTED"
  trap - EXIT
fi

log "placing libtensorflow into $PKG/deps"
rm -rf "$PKG/deps"
mkdir -p "$PKG/deps/lib"
# Hard links keep a second install instant and cost no disk; copy across filesystems.
cp -al "$EXTRACTED/lib/." "$PKG/deps/lib/" 2>/dev/null || cp -a "$EXTRACTED/lib/." "$PKG/deps/lib/"
cp -a "$EXTRACTED/include" "$PKG/deps/include"
(
  cd "$PKG/deps/lib"
  # The binding links -ltensorflow; install.js treats libtensorflow.so.2.9.1 as
  # "already downloaded". libtensorflow_cc exports the whole C API it needs.
  ln -sf libtensorflow_cc.so.2 libtensorflow.so
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
)

log "building the addon (node-gyp; the prebuilt-addon fetch fails fast here)"
(cd "$ROOT" && npm rebuild @tensorflow/tfjs-node --foreground-scripts >&2)

addon_loads || { log "addon built but does not load"; exit 1; }
log "ok: tfjs-node uses native TensorFlow $TF_VERSION"
