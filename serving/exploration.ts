import type { Exploration } from '../pipelines/decisions/decision-record.js';

/** A source of uniform numbers in [0, 1). */
export type Uniform = () => number;

export interface Placement {
  /** Index into the ranked candidates. */
  index: number;
  /** Probability of this choice at this position given the positions before it. */
  propensity: number;
}

/**
 * Picks `k` of the candidates (ranked by score, best first) position by
 * position, and returns each pick's exact propensity: the probability that
 * the policy chose that item at that position given the items already placed.
 *
 * - none: the top k, propensity 1.
 * - epsilon-greedy: at each position, the best remaining item with
 *   probability 1 − ε, else a uniformly random remaining item (which may be
 *   the best one): p = (1 − ε)·[best] + ε / remaining.
 * - softmax (Plackett–Luce): each position samples the remaining items with
 *   probability ∝ exp(score / temperature).
 */
export function explore(scores: ArrayLike<number>, k: number, exploration: Exploration, random: Uniform = Math.random): Placement[] {
  const n = scores.length;
  const take = Math.min(k, n);
  const out: Placement[] = [];
  if (exploration.scheme === 'none' || take === 0) {
    for (let i = 0; i < take; i++) out.push({ index: i, propensity: 1 });
    return out;
  }
  // Remaining candidates in rank order; scores are sorted best first, so the best remaining is remaining[0].
  const remaining: number[] = Array.from({ length: n }, (_, i) => i);
  if (exploration.scheme === 'epsilon-greedy') {
    const eps = exploration.epsilon;
    for (let p = 0; p < take; p++) {
      const m = remaining.length;
      const at = random() < eps ? Math.min(m - 1, Math.floor(random() * m)) : 0;
      const index = remaining[at]!;
      out.push({ index, propensity: (at === 0 ? 1 - eps : 0) + eps / m });
      remaining.splice(at, 1);
    }
    return out;
  }
  const t = exploration.temperature;
  const max = Math.max(...Array.from(scores));
  const weights = Float64Array.from(scores, (s) => Math.exp((s - max) / t));
  let total = weights.reduce((a, b) => a + b, 0);
  for (let p = 0; p < take; p++) {
    let u = random() * total;
    let at = remaining.length - 1;
    for (let j = 0; j < remaining.length; j++) {
      u -= weights[remaining[j]!]!;
      if (u < 0) { at = j; break; }
    }
    const index = remaining[at]!;
    const w = weights[index]!;
    out.push({ index, propensity: total > 0 ? w / total : 1 / remaining.length });
    total -= w;
    remaining.splice(at, 1);
  }
  return out;
}

/**
 * The exact probability of each remaining candidate at the next position,
 * given the candidates already placed (rank indices). Sums to 1; used by tests
 * and by anyone re-deriving the logged propensities.
 */
export function nextPositionProbabilities(scores: ArrayLike<number>, placed: readonly number[], exploration: Exploration): Map<number, number> {
  const taken = new Set(placed);
  const remaining = Array.from({ length: scores.length }, (_, i) => i).filter((i) => !taken.has(i));
  const probs = new Map<number, number>();
  const m = remaining.length;
  if (m === 0) return probs;
  if (exploration.scheme === 'none') {
    remaining.forEach((i, j) => probs.set(i, j === 0 ? 1 : 0));
  } else if (exploration.scheme === 'epsilon-greedy') {
    remaining.forEach((i, j) => probs.set(i, (j === 0 ? 1 - exploration.epsilon : 0) + exploration.epsilon / m));
  } else {
    const max = Math.max(...Array.from(scores));
    const w = remaining.map((i) => Math.exp((scores[i]! - max) / exploration.temperature));
    const total = w.reduce((a, b) => a + b, 0);
    remaining.forEach((i, j) => probs.set(i, w[j]! / total));
  }
  return probs;
}
