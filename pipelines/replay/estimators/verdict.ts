import type { Estimator, PolicyStats, WeightDiagnostics } from './policy-stats.js';
import type { Estimate } from './prediction-quality.js';

/**
 * Whether an estimate may be read as a conclusion, by fixed thresholds
 * decided before any result is seen:
 * - the estimate is defined (the logging policy allows the estimator at all);
 * - effective sample size ≥ RELIABILITY.minEss and ≥ minEssShare of the weights
 *   (a handful of huge weights make an interval look narrow while it is not);
 * - at most maxClipShare of the weights clipped (clipping trades bias for variance);
 * - support ≥ minSupport: the target puts its mass where the logging policy shows items;
 * - replay (matching) only when every decision was logged uniformly.
 * A B − A estimate is reliable when both A's and B's are.
 */
export const RELIABILITY = { minEss: 100, minEssShare: 0.01, maxClipShare: 0.05, minSupport: 0.99 } as const;

export type Verdict = 'reliable' | `unreliable: ${string}`;

const count = (x: number) => Math.round(x).toLocaleString('en-US');

/** Why an estimator's value is undefined (NaN) for these statistics. */
export function undefinedReason(estimator: Estimator, s: PolicyStats): string {
  if ((estimator.startsWith('pp-') || estimator.startsWith('item-')) && s.ppMissing > 0) return `the logging policy's item-position marginals are unknown for ${count(s.ppMissing)} requests (softmax logging)`;
  if (estimator === 'pi' && s.piMissing > 0) return `the pseudo-inverse needs uniform logging; ${count(s.piMissing)} requests were not logged uniformly`;
  if (estimator === 'replay') return 'no logged request matched the target at some position';
  return 'no requests';
}

export function verdictOf(estimator: Estimator, value: Estimate, d: WeightDiagnostics, s: PolicyStats): Verdict {
  if (!Number.isFinite(value.value)) return `unreliable: undefined (${undefinedReason(estimator, s)})`;
  if (!Number.isFinite(value.lo) || !Number.isFinite(value.hi)) return 'unreliable: no interval (too few users to resample)';
  if (estimator === 'replay') {
    if (s.piMissing > 0) return 'unreliable: matching is biased unless the logging policy is uniform';
    return 'reliable';
  }
  if (d.ess < RELIABILITY.minEss || d.ess < RELIABILITY.minEssShare * d.weights) return `unreliable: ESS ${count(d.ess)} of ${count(d.weights)}`;
  if (d.clipRate > RELIABILITY.maxClipShare) return `unreliable: ${(100 * d.clipRate).toFixed(1)}% of weights clipped`;
  if (Number.isFinite(d.support) && d.support < RELIABILITY.minSupport) return `unreliable: support ${d.support.toFixed(3)} (the target puts mass where the logging policy never shows)`;
  return 'reliable';
}

export const isItemLevel = (e: Estimator) => e.startsWith('item-');

/**
 * The item-level estimators assume position does not change clicks. Where
 * that holds, item-level DR and per-position DR estimate the same value, so
 * an interval of their paired difference (item − pp, users resampled) that
 * excludes zero rejects the assumption, and every item-level estimate of that
 * arm is unreliable. A noisy per-position DR makes the check weak, not
 * wrong: it can miss a small position effect, never invent one.
 */
export function itemLevelVerdict(verdict: Verdict, check: Estimate): Verdict {
  if (verdict !== 'reliable') return verdict;
  if (!Number.isFinite(check.lo) || !Number.isFinite(check.hi)) return 'unreliable: the position check (item-level DR − per-position DR) has no interval';
  if (check.lo > 0 || check.hi < 0) {
    return `unreliable: position changes clicks here (item-level DR − per-position DR ${signed(check.value)} [${signed(check.lo)}, ${signed(check.hi)}])`;
  }
  return verdict;
}

/** Both arms' verdicts → the B − A verdict (the first reason found). */
export function diffVerdict(a: Verdict, b: Verdict): Verdict {
  if (b !== 'reliable') return b;
  return a;
}

/**
 * The estimators in the order the lead sentence prefers them: weaker
 * assumptions first (position-based, then any click model), DR before the
 * weighting-only ones; the item-level ones, whose click model is the
 * strongest, only when none of those is reliable.
 */
export const PREFERENCE: readonly Estimator[] = ['pp-dr', 'dr', 'pp-snips', 'snips', 'pp-ips', 'ips', 'pi', 'replay', 'item-dr', 'item-snips', 'item-ips'];

export const ESTIMATOR_NAMES: Record<Estimator, string> = {
  replay: 'replay (matching)', ips: 'whole-slate IPS', snips: 'whole-slate SNIPS', dr: 'whole-slate DR',
  'pp-ips': 'position-based IPS', 'pp-snips': 'position-based SNIPS', 'pp-dr': 'position-based DR', pi: 'pseudo-inverse',
  'item-ips': 'item-level IPS (assumes position does not change clicks)', 'item-snips': 'item-level SNIPS (assumes position does not change clicks)',
  'item-dr': 'item-level DR (assumes position does not change clicks)',
};

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

/**
 * The one sentence a result leads with: the most preferred reliable B − A
 * estimate, or why there is none and what would help.
 */
export function leadSentence(diff: Partial<Record<Estimator, { value: Estimate; verdict: Verdict }>>): string {
  const run = PREFERENCE.filter((e) => diff[e]);
  const best = run.find((e) => diff[e]!.verdict === 'reliable');
  if (best) {
    const { value, lo, hi } = diff[best]!.value;
    return `B vs A: ${signed(value)} clicks/request [${signed(lo)}, ${signed(hi)}] by ${ESTIMATOR_NAMES[best]}; reliable`;
  }
  const first = run[0];
  const reason = first ? diff[first]!.verdict.replace(/^unreliable: /, '') : 'no estimator was run';
  return `no reliable estimate: ${reason}${first ? ` (${ESTIMATOR_NAMES[first]})` : ''}; log with more exploration or shorter slates`;
}
