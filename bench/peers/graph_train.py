#!/usr/bin/env python3
"""PyTorch retrieval-graph training-speed peer: LightGCN and MF-BPR with BPR + Adam.

Models, as the official LightGCN-PyTorch code writes them:
  * LightGCN (He et al., SIGIR 2020): E' = mean(E, AE, A^2E, ..., A^KE) with
    A = D^-1/2 Adj D^-1/2 a torch sparse matrix and every layer one
    `torch.sparse.mm` (`--sparse csr`, the faster on this machine, or `coo`,
    the official code's); each step propagates over the whole graph.
  * MF-BPR (Rendle et al., 2009): the layer-0 rows are the representations.
Loss: mean softplus(-(s(u,i+) - s(u,i-))) + decay/2/batch * ||layer-0 rows of
the batch||^2, Adam (`--emb dense`: torch.optim.Adam over the whole table, the
official code; `--emb sparse`, MF-BPR only: nn.Embedding(sparse=True) +
SparseAdam, touching only the batch's rows).

The graph is the one bench/graph-train.ts draws: it writes the interactions as
int32 (user, item) pairs to `--graph-file` (users in [0, --users), items in
[0, --items)). One epoch = every training edge once in random order, each
with a uniformly drawn negative the user has not interacted with, cut into
batches of `--batch`; an epoch has ceil(edges / batch) steps. Warmup steps
are excluded; `--steps` steps are timed with time.perf_counter and the epoch
time is extrapolated from their mean (`--steps 0`: time a whole epoch).
Prints one JSON line on stdout.
"""
from __future__ import annotations

import argparse
import math
import resource
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from peer_common import MALLOC_CHOICES, apply_malloc_policy, emit, log, rss_base_mb, rss_mb, summarize_ms


def load_interactions(path: str, users: int, items: int) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(path, dtype="<i4")
    if raw.size % 2:
        raise SystemExit(f"{path}: odd number of int32 values ({raw.size}); expected (user, item) pairs")
    pairs = raw.reshape(-1, 2).astype(np.int64)
    u, i = pairs[:, 0], pairs[:, 1]
    if u.min() < 0 or u.max() >= users or i.min() < 0 or i.max() >= items:
        raise SystemExit(f"{path}: ids outside {users} users x {items} items")
    # Distinct pairs, as buildBipartiteGraph keeps them.
    keys = np.unique(u * items + i)
    return keys // items, keys % items


def normalized_adjacency(u: np.ndarray, i: np.ndarray, users: int, items: int, layout: str) -> torch.Tensor:
    n = users + items
    src = np.concatenate([u, i + users])
    dst = np.concatenate([i + users, u])
    deg = np.bincount(src, minlength=n).astype(np.float32)
    dinv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1)), 0).astype(np.float32)
    values = torch.from_numpy(dinv[src] * dinv[dst])
    a = torch.sparse_coo_tensor(torch.from_numpy(np.stack([dst, src])), values, (n, n)).coalesce()
    return a.to_sparse_csr() if layout == "csr" else a


def epoch_triples(u: np.ndarray, i: np.ndarray, items: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    order = rng.permutation(u.size)
    users, pos = u[order], i[order]
    seen = np.sort(u * items + i)
    neg = rng.integers(0, items, size=u.size)
    # Redraw the negatives that hit one of the user's own items until none do.
    while True:
        k = users * items + neg
        bad = np.flatnonzero(seen[np.minimum(np.searchsorted(seen, k), seen.size - 1)] == k)
        if bad.size == 0:
            break
        neg[bad] = rng.integers(0, items, size=bad.size)
    return users, pos, neg


class Model(nn.Module):
    def __init__(self, kind: str, n: int, dim: int, init_std: float, layers: int, adj: torch.Tensor | None, sparse_grad: bool):
        super().__init__()
        self.kind, self.layers, self.adj = kind, layers, adj
        self.emb = nn.Embedding(n, dim, sparse=sparse_grad)
        nn.init.normal_(self.emb.weight, std=init_std)

    def forward(self, u, p, n):
        e0 = self.emb.weight
        if self.kind == "lightgcn":
            x, acc = e0, e0
            for _ in range(self.layers):
                x = torch.sparse.mm(self.adj, x)
                acc = acc + x
            out = acc / (self.layers + 1)
            zu, zp, zn = out[u], out[p], out[n]
            r = [e0[u], e0[p], e0[n]]
        else:
            zu, zp, zn = self.emb(u), self.emb(p), self.emb(n)
            r = [zu, zp, zn]
        bpr = F.softplus(-((zu * zp).sum(1) - (zu * zn).sum(1))).mean()
        return bpr, sum((t * t).sum() for t in r)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--model", choices=["lightgcn", "mf-bpr"], default="lightgcn")
    ap.add_argument("--graph-file", required=True, help="int32 (user, item) pairs written by bench/graph-train.ts")
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--init-std", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--decay", type=float, default=1e-4)
    ap.add_argument("--sparse", choices=["csr", "coo"], default="csr", help="LightGCN's adjacency layout")
    ap.add_argument("--emb", choices=["dense", "sparse"], default="dense", help="Adam over the table, or SparseAdam (mf-bpr)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps (0 = one whole epoch)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--malloc", choices=MALLOC_CHOICES, default="tuned",
                    help="tuned: fixed mmap threshold, no heap trimming (see peer_common.py); glibc: stock")
    a = ap.parse_args()
    if a.emb == "sparse" and a.model != "mf-bpr":
        ap.error("--emb sparse is for mf-bpr (LightGCN's gradient reaches every row)")
    return a


def main() -> None:
    a = parse_args()
    # torch flags CSR and unchecked sparse invariants as beta/unsafe on every run; the adjacency is built here, coalesced.
    warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")
    apply_malloc_policy(a.malloc)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    base_mb = rss_base_mb()
    rng = np.random.default_rng(a.seed)
    u, i = load_interactions(a.graph_file, a.users, a.items)
    n_nodes = a.users + a.items
    adj = normalized_adjacency(u, i, a.users, a.items, a.sparse) if a.model == "lightgcn" else None
    model = Model(a.model, n_nodes, a.dim, a.init_std, a.layers, adj, a.emb == "sparse")
    opt = torch.optim.SparseAdam(model.parameters(), lr=a.lr) if a.emb == "sparse" else torch.optim.Adam(model.parameters(), lr=a.lr)
    users, pos, neg = epoch_triples(u, i, a.items, rng)
    users_t = torch.from_numpy(users)
    pos_t = torch.from_numpy(pos + a.users)
    neg_t = torch.from_numpy(neg + a.users)
    steps_per_epoch = math.ceil(u.size / a.batch)
    log(f"{a.model} ({a.emb}{', ' + a.sparse if adj is not None else ''}): {n_nodes} nodes, {u.size} edges, "
        f"batch {a.batch}, {steps_per_epoch} steps/epoch, torch {torch.__version__}, {torch.get_num_threads()} threads")

    def step(k: int) -> float:
        s = (k % steps_per_epoch) * a.batch
        e = min(u.size, s + a.batch)
        bpr, sq = model(users_t[s:e], pos_t[s:e], neg_t[s:e])
        loss = bpr + sq * (a.decay / 2 / (e - s))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    losses = [step(k) for k in range(a.warmup)]
    timed = steps_per_epoch if a.steps == 0 else a.steps
    seconds = []
    for k in range(timed):
        t0 = time.perf_counter()
        losses.append(step(a.warmup + k))
        seconds.append(time.perf_counter() - t0)
    mean = sum(seconds) / len(seconds)
    emit({
        "peer": "torch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "model": a.model, "emb": a.emb, "sparse": a.sparse if adj is not None else None,
        "nodes": n_nodes, "edges": int(u.size), "layers": a.layers if adj is not None else 0, "batch": a.batch,
        "steps_per_epoch": steps_per_epoch, "timed_steps": timed,
        "seconds_per_step": round(mean, 5), "seconds_per_epoch": round(mean * steps_per_epoch, 3),
        "extrapolated": timed < steps_per_epoch, **summarize_ms(seconds),
        "loss_first": round(losses[0], 5), "loss_last": round(losses[-1], 5),
        "rss_base_mb": base_mb, **rss_mb(),
        "rss_peak_mb_getrusage": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    })


if __name__ == "__main__":
    main()
