import { cumulative, sampleCumulative, type Rng } from '../../features/math/rng.js';
import type { BipartiteGraph } from './bipartite-graph.js';
import { contains, epochTriples, sampleNegative, type BprTriples } from './negative-sampling.js';

/**
 * BPR triples as `sampleEpochTriples` makes them (every training edge once,
 * in random order) but with each negative drawn with probability ∝
 * (item degree + 1)^exponent among the items the user has no edge to.
 * Uniform negatives teach a model first of all that popular items beat the
 * rest, so its scores carry each item's exposure; a negative drawn as often
 * as the item is a positive leaves the score with what sets a user apart
 * (word2vec draws negatives ∝ count^0.75 for the same reason). 0 = uniform.
 */
export function samplePopularityTriples(graph: BipartiteGraph, rng: Rng, exponent: number): BprTriples {
  if (!(exponent >= 0 && exponent <= 1)) throw new RangeError(`negative exponent must be in [0, 1], got ${exponent}`);
  const { numUsers, numItems } = graph;
  const cdf = cumulative(Float64Array.from({ length: numItems }, (_, i) => (graph.degree[numUsers + i]! + 1) ** exponent));
  return epochTriples(graph, rng, (seen) => sampleWeightedNegative(seen, numItems, cdf, rng));
}

/** One item by the cumulative weights, rejecting the user's own (sorted) items; a user who has every item gets any. */
function sampleWeightedNegative(seen: Int32Array, numItems: number, cdf: Float64Array, rng: Rng): number {
  if (seen.length >= numItems) return rng.int(numItems);
  // A heavy user may hold most of the weight: after many rejections fall back to a uniform unseen item.
  for (let attempt = 0; attempt < 64; attempt++) {
    const j = sampleCumulative(cdf, rng.next());
    if (!contains(seen, j)) return j;
  }
  return sampleNegative(seen, numItems, rng);
}
