/**
 * A model as a ranking policy over a logged candidate set: position by
 * position it picks one of the candidates not yet placed. `greedy` takes the
 * highest-scored remaining candidate (ties: the earlier candidate, i.e. the
 * logged rank); `softmax` samples the remaining ones with probability
 * ∝ exp(score / temperature) (Plackett–Luce), as serving's softmax explorer does.
 */
export type TargetPolicy = { kind: 'greedy' } | { kind: 'softmax'; temperature: number };

/**
 * π(a | items already placed) for every candidate: a probability vector over
 * the candidates (0 for the placed ones). `placed` marks candidate indices.
 */
export function conditionalProbabilities(scores: ArrayLike<number>, placed: ArrayLike<boolean>, policy: TargetPolicy): Float64Array {
  const n = scores.length;
  const out = new Float64Array(n);
  if (policy.kind === 'greedy') {
    let best = -1;
    for (let i = 0; i < n; i++) if (!placed[i] && (best < 0 || scores[i]! > scores[best]!)) best = i;
    if (best >= 0) out[best] = 1;
    return out;
  }
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (!placed[i]) max = Math.max(max, scores[i]!);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (placed[i]) continue;
    out[i] = Math.exp((scores[i]! - max) / policy.temperature);
    total += out[i]!;
  }
  if (total > 0) for (let i = 0; i < n; i++) out[i] = out[i]! / total;
  return out;
}

/** The candidate a policy picks from `probabilities` given a uniform draw u in [0, 1) (inverse CDF; the argmax when deterministic). */
export function pick(probabilities: ArrayLike<number>, u: number): number {
  let last = -1;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (p <= 0) continue;
    last = i;
    u -= p;
    if (u < 0) return i;
  }
  return last;
}
