import { createRng } from '../../../features/math/rng.js';
import { runSteps, type Steps } from '../paced-steps.js';

/**
 * The non-parametric bootstrap over units (users, not rows: a user's
 * impressions are correlated, so resampling rows would make intervals too
 * narrow). Draw r of `samples` gives every unit a multiplicity (how many
 * times it was drawn); the statistic is computed from those. The draws come
 * from one seed, so a rerun, on any machine, gives the same intervals.
 */
export interface BootstrapOptions {
  /** Resamples. @default 200 */
  samples?: number;
  /** @default 42 */
  seed?: number;
}

/** Multiplicities of `units` units for each resample, drawn with replacement. */
export function* resampleCounts(units: number, { samples = 200, seed = 42 }: BootstrapOptions = {}): Generator<Uint32Array> {
  const rng = createRng(seed);
  for (let r = 0; r < samples; r++) {
    const counts = new Uint32Array(units);
    for (let i = 0; i < units; i++) counts[rng.int(units)]!++;
    yield counts;
  }
}

/** The (1 − level)/2 and (1 + level)/2 quantiles of the finite values (linear interpolation); NaN when there are none. */
export function percentileInterval(values: readonly number[], level = 0.95): { lo: number; hi: number } {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { lo: Number.NaN, hi: Number.NaN };
  const quantile = (q: number) => {
    const at = q * (sorted.length - 1);
    const lo = Math.floor(at);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo]! + (at - lo) * (sorted[hi]! - sorted[lo]!);
  };
  return { lo: quantile((1 - level) / 2), hi: quantile((1 + level) / 2) };
}

/**
 * Percentile intervals of several named statistics at once: `statistic` maps
 * one resample's multiplicities to named values.
 */
export function bootstrapIntervals(units: number, statistic: (counts: Uint32Array) => Record<string, number>, options: BootstrapOptions = {}): Map<string, { lo: number; hi: number }> {
  return runSteps(bootstrapSteps(units, statistic, options));
}

/** bootstrapIntervals one resample per step, for runPaced. */
export function* bootstrapSteps(units: number, statistic: (counts: Uint32Array) => Record<string, number>, options: BootstrapOptions = {}): Steps<Map<string, { lo: number; hi: number }>> {
  const draws = new Map<string, number[]>();
  for (const counts of resampleCounts(units, options)) {
    for (const [name, value] of Object.entries(statistic(counts))) {
      let list = draws.get(name);
      if (!list) draws.set(name, (list = []));
      list.push(value);
    }
    yield;
  }
  return new Map([...draws].map(([name, values]) => [name, percentileInterval(values)]));
}
