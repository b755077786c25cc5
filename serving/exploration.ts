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
 * Softmax weights are exp((score − base) / τ) with base the best score, and 0
 * below e^-700: such an item is never drawn, and every drawn item's propensity
 * w / total (total ≥ the best remaining weight, ≤ 1000 candidates) stays a
 * normal double above 0 instead of underflowing. Once the best remaining item
 * weighs less than e^-600 (after the top ones were placed, at a low
 * temperature) the base moves to the best remaining score, so the total
 * never underflows to 0.
 */
const MIN_LOG_WEIGHT = -700;
const REBASE_LOG_WEIGHT = -600;

/**
 * Plackett–Luce weights of the remaining candidates, cached across positions
 * (one exp per candidate unless the base moves). Given the same placements
 * in the same order, and summed in index order, so explore and
 * nextPositionProbabilities (which replays the placements) get the same bits.
 */
class SoftmaxWeights {
  readonly weights: Float64Array;
  private base: number;

  constructor(private readonly scores: ArrayLike<number>, private readonly temperature: number) {
    this.weights = new Float64Array(scores.length);
    this.base = Math.max(...Array.from(scores));
    this.fill(Array.from({ length: scores.length }, (_, i) => i));
  }

  private fill(indices: readonly number[]): void {
    for (const i of indices) {
      const x = (this.scores[i]! - this.base) / this.temperature;
      this.weights[i] = x < MIN_LOG_WEIGHT ? 0 : Math.exp(x);
    }
  }

  /** Brings the remaining items' weights up to date; returns their total. */
  total(remaining: readonly number[]): number {
    let best = -Infinity;
    for (const i of remaining) if (this.scores[i]! > best) best = this.scores[i]!;
    if ((best - this.base) / this.temperature < REBASE_LOG_WEIGHT) {
      this.base = best;
      this.fill(remaining);
    }
    let total = 0;
    for (const i of remaining) total += this.weights[i]!;
    return total;
  }
}

/**
 * Picks `k` of the candidates (ranked by score, best first) position by
 * position, and returns each pick's exact propensity: the probability that
 * the policy chose that item at that position given the items already placed
 * (what nextPositionProbabilities gives, bit for bit). Every propensity is in
 * (0, 1]: an item the policy gives probability 0 is never drawn.
 *
 * - none: the top k, propensity 1.
 * - epsilon-greedy: at each position, the best remaining item with
 *   probability 1 − ε, else a uniformly random remaining item (which may be
 *   the best one): p = (1 − ε)·[best] + ε / remaining.
 * - softmax (Plackett–Luce): each position samples the remaining items with
 *   probability ∝ exp(score / temperature) (0 below e^-700 of the best; see
 *   SoftmaxWeights).
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
      out.push({ index, propensity: epsilonGreedyProbability(eps, at, m) });
      remaining.splice(at, 1);
    }
    return out;
  }
  const softmax = new SoftmaxWeights(scores, exploration.temperature);
  const weights = softmax.weights;
  for (let p = 0; p < take; p++) {
    // Re-summed at every position: subtracting each pick from a running total
    // left rounding residue that made the last propensities exceed 1 or hit 0.
    const total = softmax.total(remaining);
    let u = random() * total;
    let at = -1;
    for (let j = 0; j < remaining.length; j++) {
      const w = weights[remaining[j]!]!;
      if (w === 0) continue;
      at = j;
      u -= w;
      if (u < 0) break;
    }
    // Rounding can leave u ≥ 0 after the last item: then `at` is the last item with a weight.
    const index = remaining[at]!;
    out.push({ index, propensity: weights[index]! / total });
    remaining.splice(at, 1);
  }
  return out;
}

function epsilonGreedyProbability(eps: number, rank: number, remaining: number): number {
  return (rank === 0 ? 1 - eps : 0) + eps / remaining;
}

/**
 * The exact probability of each remaining candidate at the next position,
 * given the candidates already placed (rank indices). Sums to 1 (up to
 * rounding); used by tests and by anyone re-deriving the logged propensities.
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
    remaining.forEach((i, j) => probs.set(i, epsilonGreedyProbability(exploration.epsilon, j, m)));
  } else {
    // Replays the base moves explore made on the way to this remaining set.
    const softmax = new SoftmaxWeights(scores, exploration.temperature);
    const left = Array.from({ length: scores.length }, (_, i) => i);
    let total = softmax.total(left);
    for (const i of placed) {
      left.splice(left.indexOf(i), 1);
      total = softmax.total(left);
    }
    for (const i of remaining) probs.set(i, softmax.weights[i]! / total);
  }
  return probs;
}
