"""Helpers shared by the PyTorch peer benchmarks (timing, memory, id sampling)."""
from __future__ import annotations

import json
import statistics
import sys

import numpy as np


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
    return {
        "ms_per_step_p50": round(statistics.median(ms), 3),
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
