import { auc } from '../../features/math/auc.js';

export { auc };

const EPS = 1e-7;

/** Mean binary cross-entropy of probabilities, clipped to [1e-7, 1 − 1e-7]. */
export function logloss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - EPS, Math.max(EPS, probabilities[i]!));
    sum -= labels[i]! > 0.5 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / labels.length;
}

/**
 * Group AUC (Zhou et al., DIN): per-user AUC weighted by the user's number of
 * impressions, over users who have both classes.
 */
export function gauc(groups: ArrayLike<string>, labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    let list = byGroup.get(groups[i]!);
    if (!list) byGroup.set(groups[i]!, (list = []));
    list.push(i);
  }
  let weighted = 0;
  let weight = 0;
  for (const rows of byGroup.values()) {
    const value = auc(rows.map((r) => labels[r]!), rows.map((r) => scores[r]!));
    if (Number.isNaN(value)) continue;
    weighted += rows.length * value;
    weight += rows.length;
  }
  return weight === 0 ? Number.NaN : weighted / weight;
}

export interface CalibrationBin {
  /** Mean predicted probability in the bin. */
  predicted: number;
  /** Observed positive rate in the bin. */
  observed: number;
  count: number;
}

export interface Calibration {
  bins: CalibrationBin[];
  /** Expected calibration error: count-weighted mean |predicted − observed|. */
  ece: number;
  /** Σ predicted / Σ labels: 1 is calibrated on average. */
  ratio: number;
}

/** Reliability over equal-width probability bins. */
export function calibration(labels: ArrayLike<number>, probabilities: ArrayLike<number>, binCount = 10): Calibration {
  const sums = Array.from({ length: binCount }, () => ({ p: 0, y: 0, n: 0 }));
  let totalP = 0;
  let totalY = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i]!;
    const bin = sums[Math.min(binCount - 1, Math.floor(p * binCount))]!;
    bin.p += p;
    bin.y += labels[i]!;
    bin.n++;
    totalP += p;
    totalY += labels[i]!;
  }
  const bins = sums.filter((b) => b.n > 0).map((b) => ({ predicted: b.p / b.n, observed: b.y / b.n, count: b.n }));
  const ece = bins.reduce((acc, b) => acc + b.count * Math.abs(b.predicted - b.observed), 0) / Math.max(1, labels.length);
  return { bins, ece, ratio: totalY === 0 ? Number.NaN : totalP / totalY };
}

export interface CtrMetrics {
  auc: number;
  gauc: number;
  logloss: number;
  ece: number;
  calibrationRatio: number;
  examples: number;
}

export function ctrMetrics(users: ArrayLike<string>, labels: ArrayLike<number>, probabilities: ArrayLike<number>): CtrMetrics {
  const cal = calibration(labels, probabilities);
  return {
    auc: auc(labels, probabilities),
    gauc: gauc(users, labels, probabilities),
    logloss: logloss(labels, probabilities),
    ece: cal.ece,
    calibrationRatio: cal.ratio,
    examples: labels.length,
  };
}
