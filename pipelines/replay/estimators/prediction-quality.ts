import { ctrMetrics, type CtrMetrics } from '../../../models/metrics/classification.js';
import { bootstrapSteps, type BootstrapOptions } from './bootstrap.js';
import { runSteps, type Steps } from '../paced-steps.js';
import { WeightedModelMetrics } from './weighted-metrics.js';

/**
 * Prediction quality of models A and B on the shown impressions of the window
 * (label: clicked), each metric with B − A, and user-level bootstrap
 * intervals for A, B and the difference (the same resamples for all, so the
 * difference's interval accounts for their correlation).
 */
export const QUALITY_METRICS = ['auc', 'gauc', 'logloss', 'ece', 'calibration_ratio'] as const;
export type QualityMetric = (typeof QUALITY_METRICS)[number];

export interface Estimate {
  value: number;
  lo: number;
  hi: number;
}

export interface QualityRows {
  /** Per user (the bootstrap's unit): the row indices of that user. */
  rowsByUser: readonly (readonly number[])[];
  labels: ArrayLike<number>;
  scoresA: ArrayLike<number>;
  scoresB: ArrayLike<number>;
}

export type QualityResult = Record<'a' | 'b' | 'diff', Record<QualityMetric, Estimate>>;

const pick = (m: CtrMetrics): Record<QualityMetric, number> => ({ auc: m.auc, gauc: m.gauc, logloss: m.logloss, ece: m.ece, calibration_ratio: m.calibrationRatio });

export function predictionQuality(rows: QualityRows, bootstrap: BootstrapOptions = {}): QualityResult {
  return runSteps(predictionQualitySteps(rows, bootstrap));
}

/** predictionQuality one bootstrap resample per step, for runPaced. */
export function* predictionQualitySteps(rows: QualityRows, bootstrap: BootstrapOptions = {}): Steps<QualityResult> {
  const users: string[] = new Array<string>(rows.labels.length);
  const rowUser = new Uint32Array(rows.labels.length);
  rows.rowsByUser.forEach((list, u) => { for (const r of list) { users[r] = String(u); rowUser[r] = u; } });
  const named = (ma: Record<QualityMetric, number>, mb: Record<QualityMetric, number>) => {
    const out: Record<string, number> = {};
    for (const k of QUALITY_METRICS) Object.assign(out, { [`a.${k}`]: ma[k], [`b.${k}`]: mb[k], [`diff.${k}`]: mb[k] - ma[k] });
    return out;
  };
  const point = named(pick(ctrMetrics(users, rows.labels, rows.scoresA)), pick(ctrMetrics(users, rows.labels, rows.scoresB)));
  // Resamples weigh rows by their user's multiplicity: O(rows) each, no re-sorting.
  const [wa, wb] = [new WeightedModelMetrics(rows.labels, rows.scoresA, rows.rowsByUser), new WeightedModelMetrics(rows.labels, rows.scoresB, rows.rowsByUser)];
  const intervals = yield* bootstrapSteps(rows.rowsByUser.length, (counts) => named(wa.compute(counts, rowUser), wb.compute(counts, rowUser)), bootstrap);
  const side = (arm: 'a' | 'b' | 'diff') => Object.fromEntries(QUALITY_METRICS.map((k) => {
    const key = `${arm}.${k}`;
    const ci = intervals.get(key) ?? { lo: Number.NaN, hi: Number.NaN };
    return [k, { value: point[key]!, lo: ci.lo, hi: ci.hi }];
  })) as Record<QualityMetric, Estimate>;
  return { a: side('a'), b: side('b'), diff: side('diff') };
}
