/**
 * Retrieval recall against a known truth (bench/experiments/retrieval-truth):
 * the share of a user's true top items found among the items a retriever
 * returns. Pure functions over item indices, so the experiment and its unit
 * test share one definition.
 */

/**
 * The indices of the `k` highest scores, best first, skipping `exclude` and
 * scores that are not finite (an item a model has no row for scores
 * -Infinity and is never retrieved); ties go to the lower index so a run is
 * reproducible. Fewer than `k` when fewer items qualify.
 */
export function topKExcluding(scores: ArrayLike<number>, k: number, exclude: ReadonlySet<number> = new Set()): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  // A bounded min-heap: a full sort per user would cost n log n for 200 of 5,000 items.
  const heap: number[] = [];
  const worse = (a: number, b: number) => scores[a]! < scores[b]! || (scores[a] === scores[b] && a > b);
  const siftDown = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < scores.length; i++) {
    if (exclude.has(i) || !Number.isFinite(scores[i]!)) continue;
    if (heap.length < k) {
      heap.push(i);
      for (let c = heap.length - 1; c > 0;) {
        const p = (c - 1) >> 1;
        if (!worse(heap[c]!, heap[p]!)) break;
        [heap[c], heap[p]] = [heap[p]!, heap[c]!];
        c = p;
      }
    } else if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}

/** |truth ∩ retrieved| / |truth|. The truth must be non-empty and without repeats (a repeat would count twice). */
export function recallOf(truth: readonly number[], retrieved: Iterable<number>): number {
  if (truth.length === 0) throw new RangeError('recall of an empty truth is undefined');
  const want = new Set(truth);
  if (want.size !== truth.length) throw new RangeError(`the truth repeats items (${truth.length} entries, ${want.size} distinct)`);
  let hits = 0;
  for (const i of new Set(retrieved)) if (want.has(i)) hits++;
  return hits / truth.length;
}

/**
 * The expected recall of `retrieve` items drawn uniformly without
 * replacement from `candidates` items that hold the whole truth: each truth
 * item is drawn with probability retrieve / candidates.
 */
export function expectedRandomRecall(retrieve: number, candidates: number): number {
  if (candidates < 1) throw new RangeError(`no candidates to draw from (${candidates})`);
  return Math.min(1, retrieve / candidates);
}

/** Dot products of one user row with every item row (row-major [count, dim]), in `out`. */
export function dotScores(users: Float32Array, items: Float32Array, dim: number, user: number, out: Float64Array): Float64Array {
  const uo = user * dim;
  for (let i = 0, io = 0; io < items.length; i++, io += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += users[uo + d]! * items[io + d]!;
    out[i] = s;
  }
  return out;
}

export interface MeanInterval {
  mean: number;
  /** Normal-approximation 95% interval of the mean (users are independent draws). */
  lo: number;
  hi: number;
}

/** Mean of per-user values with a 95% interval; for a paired difference pass a − b per user. */
export function meanInterval(values: readonly number[]): MeanInterval {
  if (values.length === 0) throw new RangeError('the mean of no values is undefined');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = (1.96 * sd) / Math.sqrt(n);
  return { mean, lo: mean - half, hi: mean + half };
}
