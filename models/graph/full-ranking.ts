import type { CfInteractions } from '../../features/datasets/movielens-cf.js';
import { rankingMetrics } from '../metrics/ranking.js';
import type { GraphEmbeddings } from './graph-embeddings.js';

/** Scores held at once by a ranking block (64 MB). */
const MAX_BLOCK_SCORES = 16 * 2 ** 20;

/** Mean metrics over the evaluated users, keyed `recall@10`, `ndcg@20`, … plus `users`. */
export type RankingSummary = Record<string, number>;

/** Per user, the sorted item indices of the given parts (e.g. train ∪ validation: what a ranking must skip). */
export function itemsPerUser(numUsers: number, ...parts: CfInteractions[]): Int32Array[] {
  const sets = Array.from({ length: numUsers }, () => new Set<number>());
  for (const p of parts) for (let k = 0; k < p.users.length; k++) sets[p.users[k]!]!.add(p.items[k]!);
  return sets.map((s) => Int32Array.from(s).sort());
}

/**
 * Full ranking: each user with held-out items is scored against every item
 * (one matrix product per block of users), items in `exclude[user]` are
 * masked out, and the top max(K) are compared with the held-out set. Users
 * without held-out items are not counted.
 */
export function evaluateFullRanking(emb: GraphEmbeddings, heldOut: CfInteractions, exclude: readonly Int32Array[], ks: readonly number[] = [10, 20], maxBlockSize = 256): RankingSummary {
  const numUsers = exclude.length;
  const numItems = emb.items.length / emb.dim;
  // A block's scores are block × items floats: 256 users against a million items would be 1 GB a block.
  const blockSize = Math.max(1, Math.min(maxBlockSize, Math.floor(MAX_BLOCK_SCORES / numItems)));
  const relevant = itemsPerUser(numUsers, heldOut);
  const users = relevant.flatMap((r, u) => (r.length > 0 ? [u] : []));
  const maxK = Math.max(...ks);
  const sums: Record<string, number> = {};
    for (let start = 0; start < users.length; start += blockSize) {
    const block = users.slice(start, start + blockSize);
    const scores = blockScores(emb, block, numItems);
    block.forEach((u, b) => {
      const row = scores.subarray(b * numItems, (b + 1) * numItems);
      for (const i of exclude[u]!) row[i] = -Infinity;
      const ranked = topK(row, maxK);
      const truth = new Set(relevant[u]);
      for (const k of ks) {
        const m = rankingMetrics(ranked, truth, k);
        for (const [name, value] of Object.entries(m)) sums[`${name}@${k}`] = (sums[`${name}@${k}`] ?? 0) + value;
      }
    });
  }
  const summary: RankingSummary = { users: users.length };
  for (const [name, total] of Object.entries(sums)) summary[name] = total / Math.max(1, users.length);
  return summary;
}

/**
 * Scores of a block of users against all items, [block, items]. A JS loop
 * rather than tf.matMul: the scores are needed in JS for masking and top-K
 * anyway, and on the shared 2-core machine TF's matmul for this shape
 * (256×64 by 64×1,682) measured ~2 s per block under other processes' load
 * against ~0.16 s here (its thread pool competes for the cores).
 */
function blockScores(emb: GraphEmbeddings, block: readonly number[], numItems: number): Float32Array {
  const { dim, users, items } = emb;
  const out = new Float32Array(block.length * numItems);
  block.forEach((u, b) => {
    const uo = u * dim;
    for (let i = 0; i < numItems; i++) {
      const io = i * dim;
      let s = 0;
      for (let c = 0; c < dim; c++) s += users[uo + c]! * items[io + c]!;
      out[b * numItems + i] = s;
    }
  });
  return out;
}

/** Indices of the k largest finite scores, best first (ties: lower index first); masked (−∞) items never appear. */
export function topK(scores: Float32Array, k: number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s === -Infinity || Number.isNaN(s)) continue;
    let p: number;
    if (idx.length < k) {
      p = idx.push(i) - 1;
      val.push(s);
    } else if (s > val[k - 1]!) {
      p = k - 1;
      idx[p] = i;
      val[p] = s;
    } else continue;
    // Bubble up past strictly smaller scores only, so equal scores keep index order.
    while (p > 0 && val[p - 1]! < val[p]!) {
      [idx[p - 1], idx[p]] = [idx[p]!, idx[p - 1]!];
      [val[p - 1], val[p]] = [val[p]!, val[p - 1]!];
      p--;
    }
  }
  return idx;
}
