import type { Rng } from '../../features/math/rng.js';
import type { BipartiteGraph } from './bipartite-graph.js';

/** One epoch of BPR triples (user, positive item, negative item), item indices local to items. */
export interface BprTriples {
  users: Int32Array;
  positives: Int32Array;
  negatives: Int32Array;
}

/**
 * Every training edge once, in random order, each with one item drawn
 * uniformly among those the user has not interacted with (rejection against
 * the user's sorted item list; ML-100K users touch < 40% of items, so a few
 * draws suffice).
 */
export function sampleEpochTriples(graph: BipartiteGraph, rng: Rng): BprTriples {
  return epochTriples(graph, rng, (seen) => sampleNegative(seen, graph.numItems, rng));
}

/** Every training edge once, in an order shuffled by `rng`, each with the negative `negativeOf` draws for its user's sorted items. */
export function epochTriples(graph: BipartiteGraph, rng: Rng, negativeOf: (seen: Int32Array) => number): BprTriples {
  const n = graph.numEdges;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  for (let k = n - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    const t = order[k]!; order[k] = order[j]!; order[j] = t;
  }
  const users = new Int32Array(n);
  const positives = new Int32Array(n);
  const negatives = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const e = order[k]!;
    const u = graph.src[e]!;
    users[k] = u;
    positives[k] = graph.dst[e]! - graph.numUsers;
    negatives[k] = negativeOf(graph.userItems[u]!);
  }
  return { users, positives, negatives };
}

export function sampleNegative(seen: Int32Array, numItems: number, rng: Rng): number {
  if (seen.length >= numItems) return rng.int(numItems);
  for (;;) {
    const j = rng.int(numItems);
    if (!contains(seen, j)) return j;
  }
}

export function contains(sorted: Int32Array, x: number): boolean {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
