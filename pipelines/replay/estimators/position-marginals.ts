import type { TargetPolicy } from './ranking-policy.js';
import { conditionalProbabilities, pick } from './ranking-policy.js';

/**
 * Marginal item-position probabilities of a ranking policy: m[p·n + a] is the
 * probability that candidate a is shown at position p, whatever came before.
 * The per-position estimators weigh a click at p by π_p(a)/μ_p(a) with these,
 * instead of by the probability of the whole prefix, which is what keeps
 * their weights small on long slates.
 */

/** How the logging policy explored, as serving logs it (candidates in rank order, best first). */
export type LoggingPolicy =
  | { scheme: 'none' }
  | { scheme: 'epsilon-greedy'; epsilon: number }
  | { scheme: 'softmax'; temperature: number };

const choose = (n: number, k: number): number => {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
};

/**
 * μ_p(a) of serving's explorer over `n` candidates in rank order, for the
 * first `depth` positions; undefined when it has no closed form here
 * (softmax logging: Plackett–Luce marginals would need sampling, and a
 * sampled propensity in a denominator is biased).
 *
 * ε-greedy exactly, by dynamic programming on (position t, best remaining
 * rank b): every rank below b is placed, and the t − b placed ranks above b
 * are a uniformly random subset of the n − 1 − b ranks above b (they were
 * only ever drawn by the uniform branch, which treats them alike). At t the
 * explorer takes b with probability 1 − ε + ε/m (m = n − t remaining) and
 * each other remaining rank with ε/m.
 */
export function loggingMarginals(n: number, depth: number, logging: LoggingPolicy): Float64Array | undefined {
  const take = Math.min(depth, n);
  const out = new Float64Array(take * n);
  if (logging.scheme === 'none') {
    for (let p = 0; p < take; p++) out[p * n + p] = 1;
    return out;
  }
  if (logging.scheme !== 'epsilon-greedy') return undefined;
  const eps = logging.epsilon;
  let state = new Float64Array(n + 1);
  state[0] = 1;
  for (let t = 0; t < take; t++) {
    const m = n - t;
    const next = new Float64Array(n + 1);
    for (let b = 0; b <= Math.min(t, n - 1); b++) {
      const pb = state[b]!;
      if (pb === 0) continue;
      const above = n - 1 - b;
      const placedAbove = t - b;
      // Marginals at position t.
      out[t * n + b] = out[t * n + b]! + pb * (1 - eps + eps / m);
      const free = above > 0 ? 1 - placedAbove / above : 0;
      for (let r = b + 1; r < n; r++) out[t * n + r] = out[t * n + r]! + pb * free * (eps / m);
      // Taking another rank keeps b; taking b moves it past the run of placed ranks above it.
      next[b] = next[b]! + pb * (eps * (m - 1)) / m;
      const takeBest = pb * (1 - eps + eps / m);
      const subsets = choose(above, placedAbove);
      for (let run = 0; run <= placedAbove; run++) {
        // The first `run` ranks above b placed, the next one not.
        const ways = choose(above - run - 1, placedAbove - run);
        if (ways > 0 && b + 1 + run <= n) next[b + 1 + run] = next[b + 1 + run]! + (takeBest * ways) / subsets;
      }
    }
    state = next;
  }
  return out;
}

/**
 * π_p(a) of a target policy over the first `depth` positions: exact for
 * greedy (0 or 1); for softmax an unbiased estimate from `draws` rankings
 * sampled with `random` (it appears in a numerator only).
 */
export function targetMarginals(scores: ArrayLike<number>, depth: number, policy: TargetPolicy, random?: () => number, draws = 32): Float64Array {
  const n = scores.length;
  const take = Math.min(depth, n);
  const out = new Float64Array(take * n);
  const samples = policy.kind === 'greedy' || !random ? 1 : draws;
  for (let s = 0; s < samples; s++) {
    const placed = new Array<boolean>(n).fill(false);
    for (let p = 0; p < take; p++) {
      const probabilities = conditionalProbabilities(scores, placed, policy);
      const a = pick(probabilities, policy.kind === 'greedy' || !random ? 0 : random());
      out[p * n + a] = out[p * n + a]! + 1 / samples;
      placed[a] = true;
    }
  }
  return out;
}
