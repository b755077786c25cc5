/**
 * Top-K ranking metrics for one user: `ranked` is the model's list (best
 * first, already without the user's training items), `relevant` the held-out
 * items. Averages over users are the caller's.
 */
export interface RankingMetrics {
  recall: number;
  precision: number;
  ndcg: number;
  f1: number;
}

export function rankingMetrics(ranked: readonly number[], relevant: ReadonlySet<number>, k: number): RankingMetrics {
  if (relevant.size === 0) throw new RangeError('a user without relevant items has no ranking metrics');
  const top = ranked.slice(0, k);
  let hits = 0;
  let dcg = 0;
  top.forEach((item, position) => {
    if (relevant.has(item)) {
      hits++;
      dcg += 1 / Math.log2(position + 2);
    }
  });
  // The ideal ranking puts min(K, #relevant) hits first.
  let idcg = 0;
  for (let position = 0; position < Math.min(k, relevant.size); position++) idcg += 1 / Math.log2(position + 2);
  const recall = hits / relevant.size;
  const precision = hits / k;
  return { recall, precision, ndcg: dcg / idcg, f1: recall + precision === 0 ? 0 : (2 * recall * precision) / (recall + precision) };
}
