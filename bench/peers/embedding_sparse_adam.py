#!/usr/bin/env python3
"""PyTorch peer for the sparse-embedding training benchmark.

One step = look up a (batch, seq) block of ids in nn.Embedding(rows, dim,
sparse=True), mean-pool over seq, loss = sum of squares of the pooled vectors,
backward (a sparse row gradient), torch.optim.SparseAdam step. That is the
embedding-table half of a CTR model's training step with the dense part
reduced to almost nothing, so the time is dominated by gather, scatter-add
(gradient coalescing) and the lazy-Adam row update.

All ids are drawn before timing; warmup steps are excluded; each measured step
is timed on its own with time.perf_counter (CPU ops are synchronous). Prints
one JSON line on stdout.

Run with the venv from install.sh, e.g.
  bench/peers/run.sh embedding_sparse_adam.py --rows 10000000
"""
from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
import torch

from peer_common import MALLOC_CHOICES, IdSampler, apply_malloc_policy, emit, log, rss_base_mb, rss_mb, summarize_ms


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="embedding table rows")
    ap.add_argument("--dim", type=int, default=16, help="embedding dimension")
    ap.add_argument("--batch", type=int, default=1024, help="examples per step")
    ap.add_argument("--seq", type=int, default=50, help="ids per example (lookups per step = batch*seq)")
    ap.add_argument("--dist", choices=["zipf", "uniform"], default="zipf", help="id distribution")
    ap.add_argument("--zipf-s", type=float, default=1.05, help="Zipf exponent over the row range")
    ap.add_argument("--steps", type=int, default=200, help="measured steps")
    ap.add_argument("--warmup", type=int, default=20, help="unmeasured steps first")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--lr", type=float, default=1e-3, help="SparseAdam learning rate")
    # A pool keeps pre-drawn ids small next to the table (one batch is 400 KB)
    # while rows touched 32 steps apart (~10 MB of row state each) are long
    # out of cache, so reuse does not flatter the timing.
    ap.add_argument("--batches", type=int, default=32,
                    help="distinct id batches pre-drawn and cycled through (0 = one per step)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--malloc", choices=MALLOC_CHOICES, default="tuned",
                    help="tuned: glibc malloc without per-step page faults (see peer_common.py); "
                         "glibc: stock settings")
    return ap.parse_args()


def main() -> None:
    a = parse_args()
    apply_malloc_policy(a.malloc)
    base_mb = rss_base_mb()  # torch + numpy loaded, nothing allocated yet
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    total = a.warmup + a.steps
    n_batches = a.batches or total
    sampler = IdSampler(a.rows, a.dist, a.zipf_s, rng)
    batches = [torch.from_numpy(sampler.sample((a.batch, a.seq))) for _ in range(n_batches)]
    unique_per_step = float(np.mean([b.unique().numel() for b in batches]))
    del sampler  # the Zipf CDF and permutation are 16 bytes/row: not part of the peer's footprint
    gc.collect()

    emb = torch.nn.Embedding(a.rows, a.dim, sparse=True)
    opt = torch.optim.SparseAdam(emb.parameters(), lr=a.lr)
    log(f"torch {torch.__version__}, {a.rows}x{a.dim}, {a.batch}x{a.seq} ids/step ({a.dist}), "
        f"{unique_per_step:.0f} unique rows/step, threads={torch.get_num_threads()}")

    def step(ids: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        pooled = emb(ids).mean(dim=1)
        loss = pooled.pow(2).sum()
        loss.backward()
        opt.step()

    times = []
    for i in range(total):
        ids = batches[i % n_batches]
        if i == a.warmup:
            faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        step(ids)
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            times.append(dt)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / a.steps

    # Bytes actually held per row: the weight plus every tensor SparseAdam keeps
    # (dense exp_avg and exp_avg_sq of the table's shape, created on first step).
    tensors = [emb.weight] + [v for st in opt.state.values() for v in st.values() if torch.is_tensor(v)]
    state_bytes = sum(t.numel() * t.element_size() for t in tensors)

    s = summarize_ms(times)
    emit({
        "peer": "torch",
        "torch": torch.__version__,
        "bench": "embedding_sparse_adam",
        "rows": a.rows,
        "dim": a.dim,
        "batch": a.batch,
        "seq": a.seq,
        "dist": a.dist if a.dist == "uniform" else f"zipf{a.zipf_s}",
        "lookups_per_step": a.batch * a.seq,
        "unique_rows_per_step": round(unique_per_step, 1),
        "threads": torch.get_num_threads(),
        "malloc": a.malloc,
        "steps": a.steps,
        "warmup": a.warmup,
        **s,
        "steps_per_s": round(1e3 / s["ms_per_step_mean"], 2),
        # Median-based rate: robust to a co-tenant stealing the CPU for a few steps.
        "steps_per_s_p50": round(1e3 / s["ms_per_step_p50"], 2),
        "lookups_per_s": round(a.batch * a.seq * 1e3 / s["ms_per_step_mean"]),
        "minor_faults_per_step": round(faults),
        **rss_mb(),
        "rss_base_mb": base_mb,
        "bytes_per_row": round(state_bytes / a.rows, 2),
    })


if __name__ == "__main__":
    main()
