"""Helpers shared by the PyTorch peer benchmarks (timing, memory, id sampling)."""
from __future__ import annotations

import json
import os
import statistics
import sys

import numpy as np


# glibc malloc's defaults hurt PyTorch CPU training: tensors above the mmap
# threshold (128 KiB, adapting up to 32 MiB) get fresh mmap'd pages and freed
# heap tops are trimmed back to the OS, so every step page-faults its
# temporaries in again. Measured on DIN (batch 1024 x 50): ~25k minor faults and
# ~85-95 ms per step by default, ~1.3k faults and ~57 ms with these settings.
# Fixing the mmap threshold at its 32 MiB maximum and never trimming gets what
# jemalloc/tcmalloc (the usual advice for PyTorch on CPU) get, with no extra
# package. The cost is that RSS stays at its high-water mark.
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
MALLOC_CHOICES = ("tuned", "glibc")


def apply_malloc_policy(policy: str) -> None:
    """Re-executes this script if GLIBC_TUNABLES does not match the policy.

    glibc reads its tunables only at process start, hence the re-exec. Call it
    before any output or measurement.
    """
    current = os.environ.get("GLIBC_TUNABLES", "")
    parts = [p for p in current.split(":") if p and p not in MALLOC_TUNABLES.split(":")]
    if policy == "tuned":
        parts += MALLOC_TUNABLES.split(":")
    wanted = ":".join(parts)
    if wanted == current:
        return
    env = dict(os.environ)
    if wanted:
        env["GLIBC_TUNABLES"] = wanted
    else:
        env.pop("GLIBC_TUNABLES", None)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def rss_mb() -> dict[str, float]:
    """Current and peak resident set size of this process, in MiB.

    Read from /proc rather than resource.getrusage so the current value (which
    reflects the steady state after setup buffers are freed) is available too.
    """
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) / 1024.0  # kB -> MiB
    return {"rss_mb": round(out["VmRSS"], 1), "rss_peak_mb": round(out["VmHWM"], 1)}


def rss_base_mb() -> float:
    """RSS right now; call after imports to get the runtime's own footprint."""
    return rss_mb()["rss_mb"]


def summarize_ms(step_seconds: list[float]) -> dict[str, float]:
    ms = [s * 1e3 for s in step_seconds]
    ordered = sorted(ms)
    return {
        "ms_per_step_p50": round(statistics.median(ms), 3),
        # Nearest-rank p99 (the TypeScript benches use the same definition).
        "ms_per_step_p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 3),
        "ms_per_step_mean": round(statistics.fmean(ms), 3),
        "ms_per_step_min": round(min(ms), 3),
    }


class IdSampler:
    """Draws row ids in [low, rows) from a uniform or Zipf(s) distribution.

    Zipf ranks are mapped to rows through a fixed random permutation: real ids
    are hashed or assigned arbitrarily, so hot rows are scattered over the
    table rather than packed at its start (which would flatter cache locality).
    """

    def __init__(self, rows: int, dist: str, zipf_s: float, rng: np.random.Generator, low: int = 0):
        if rows - low < 1:
            raise ValueError("empty id range")
        self.low, self.n, self.dist, self.rng = low, rows - low, dist, rng
        if dist == "zipf":
            # Inverse-CDF sampling over a finite support of n ranks: exact for
            # any exponent (numpy's zipf() is unbounded and needs s > 1).
            cdf = np.cumsum(np.arange(1, self.n + 1, dtype=np.float64) ** -zipf_s)
            cdf /= cdf[-1]
            self.cdf = cdf
            self.perm = rng.permutation(self.n).astype(np.int64)
        elif dist != "uniform":
            raise ValueError(f"unknown distribution {dist!r}")

    def sample(self, shape: tuple[int, ...]) -> np.ndarray:
        if self.dist == "uniform":
            return self.rng.integers(0, self.n, size=shape, dtype=np.int64) + self.low
        ranks = np.searchsorted(self.cdf, self.rng.random(size=shape), side="right")
        np.minimum(ranks, self.n - 1, out=ranks)  # guard u rounding onto cdf[-1]
        return self.perm[ranks] + self.low


def emit(record: dict) -> None:
    """The single JSON result line on stdout; everything else goes to stderr."""
    sys.stdout.write(json.dumps(record, sort_keys=False) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(f"[peer] {msg}", file=sys.stderr, flush=True)
