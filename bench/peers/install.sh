#!/usr/bin/env bash
# Installs the CPU PyTorch used as a benchmark peer into a venv outside the repo.
#
# PyPI is the only Python registry this project can reach, and PyPI's Linux
# x86_64 torch wheel is a CUDA build: `pip install torch` pulls ~2.1 GB of
# nvidia-* wheels plus triton, and `pip install --no-deps torch` alone cannot be
# imported (libtorch_cpu.so itself links libcudart/libcupti). So we install the
# wheel with --no-deps plus its pinned pure-python closure (requirements.txt)
# and satisfy the CUDA links with generated no-device stubs (cuda_stubs.py).
# CPU kernels (MKL, oneDNN, OpenMP) are the wheel's own, unmodified.
#
# RECSYS_TORCH_CUDA_LIBS=real installs the genuine CUDA libraries instead
# (requirements-cuda.txt, no triton) for when a C compiler is not available or
# to cross-check the stubs; expect ~3 GB more on disk.
#
# Environment:
#   RECSYS_CACHE            cache root (default ~/.cache/recsys)
#   RECSYS_TORCH_VENV       venv path (default $RECSYS_CACHE/torch-venv)
#   RECSYS_TORCH_CUDA_LIBS  stub (default) | real
#   PYTHON                  interpreter that creates the venv (default python3; needs 3.11)
# Prints the venv's python path on stdout as its last line; logs go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${RECSYS_CACHE:-$HOME/.cache/recsys}"
VENV="${RECSYS_TORCH_VENV:-$CACHE/torch-venv}"
MODE="${RECSYS_TORCH_CUDA_LIBS:-stub}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="$(sed -n 's/^torch==\([^ ]*\).*/\1/p' "$HERE/requirements.txt")"
VPY="$VENV/bin/python"

log() { printf '[torch-peer install] %s\n' "$*" >&2; }

case "$MODE" in stub|real) ;; *) log "RECSYS_TORCH_CUDA_LIBS must be stub or real, got '$MODE'"; exit 2 ;; esac

# Quick exit: the venv imports the pinned torch and was built in the same mode.
installed_ok() {
  [ -x "$VPY" ] && [ "$(cat "$VENV/.recsys-torch-mode" 2>/dev/null)" = "$MODE" ] &&
    "$VPY" -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" >/dev/null 2>&1
}
if installed_ok; then
  log "torch $TORCH_VERSION ($MODE CUDA libs) already installed in $VENV"
  echo "$VPY"
  exit 0
fi

start=$(date +%s)

if [ "$MODE" = stub ]; then
  for tool in cc readelf nm ldconfig; do
    command -v "$tool" >/dev/null 2>&1 || {
      log "'$tool' not found: stub mode needs a C compiler and binutils (apt-get install -y gcc binutils),"
      log "or use RECSYS_TORCH_CUDA_LIBS=real"
      exit 1
    }
  done
fi

# A half-built or outdated venv is rebuilt from scratch, so the result never
# depends on what an earlier attempt left behind. Only ever delete a venv.
if [ -e "$VENV" ]; then
  if [ -f "$VENV/pyvenv.cfg" ]; then
    log "removing stale venv $VENV"
    rm -rf "$VENV"
  else
    log "$VENV exists and is not a venv; refusing to touch it"
    exit 1
  fi
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
  log "$PYTHON is not Python 3.11 (the pins are for cp311)"; exit 1; }
mkdir -p "$(dirname "$VENV")"
log "creating venv $VENV"
"$PYTHON" -m venv "$VENV"

# --no-deps: torch's declared deps include the CUDA wheels; requirements.txt
# is the full, pinned closure of what a CPU run needs. --only-binary: never
# fall back to building anything from source.
log "installing torch==$TORCH_VERSION and pinned pure-python deps (~540 MB wheel)"
"$VPY" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -r "$HERE/requirements.txt" >&2

if [ "$MODE" = stub ]; then
  log "generating CUDA stub libraries"
  "$VPY" "$HERE/cuda_stubs.py"
else
  log "installing the real CUDA libraries (~2.1 GB of wheels)"
  "$VPY" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -r "$HERE/requirements-cuda.txt" >&2
fi

# Smoke test: the import, thread setting and one SparseAdam step on a sparse
# embedding, i.e. exactly the paths the peers use.
log "smoke test"
"$VPY" - >&2 <<'PY'
import torch
torch.manual_seed(0)
torch.set_num_threads(2)
emb = torch.nn.Embedding(1000, 16, sparse=True)
opt = torch.optim.SparseAdam(emb.parameters(), lr=1e-2)
ids = torch.randint(0, 1000, (64, 10))
before = emb.weight.detach().clone()
loss = emb(ids).mean(1).pow(2).sum()
loss.backward()
assert emb.weight.grad.is_sparse
opt.step()
changed = (emb.weight.detach() != before).any(1)
assert changed[ids.unique()].all() and changed.sum() == ids.unique().numel()
assert not torch.cuda.is_available()
print(f"torch {torch.__version__} threads={torch.get_num_threads()} "
      f"cuda={torch.cuda.is_available()} sparse-adam step ok")
PY

echo "$MODE" > "$VENV/.recsys-torch-mode"
log "done in $(( $(date +%s) - start ))s: $VPY"
echo "$VPY"
