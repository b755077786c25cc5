/** How ids are drawn: Zipf(s) over ranks, or uniform. */
export interface IdDistribution {
  dist: 'zipf' | 'uniform';
  zipfS: number;
}

/**
 * Ids in [low, rows): Zipf(s) ranks by inverse CDF mapped through a fixed
 * random permutation (hot rows scattered over the table, as hashed ids are),
 * or uniform. The PyTorch peers' IdSampler draws the same ids from the same
 * `random` stream.
 */
export function idSampler(rows: number, low: number, { dist, zipfS }: IdDistribution, random: () => number): () => number {
  const n = rows - low;
  if (dist === 'uniform') return () => low + Math.floor(random() * n);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += (k + 1) ** -zipfS;
  for (let k = 0; k < n; k++) cdf[k]! /= sum;
  const perm = Int32Array.from({ length: n }, (_, k) => k);
  for (let k = n - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    const t = perm[k]!;
    perm[k] = perm[j]!;
    perm[j] = t;
  }
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return low + perm[lo]!;
  };
}
