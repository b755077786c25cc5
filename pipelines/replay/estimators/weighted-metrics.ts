import { auc } from '../../../features/math/auc.js';

/**
 * Prediction metrics of one model under row weights (a bootstrap resample's
 * multiplicities), in O(rows) per resample: rows are sorted by score once,
 * per-user AUCs (for GAUC) and per-row losses and calibration bins computed
 * once. With all weights 1 they equal models/metrics' auc, gauc, logloss,
 * ece and calibration ratio; a user drawn c times counts as c groups in GAUC.
 */
const EPS = 1e-7;
const BINS = 10;

export interface WeightedMetrics {
  auc: number;
  gauc: number;
  logloss: number;
  ece: number;
  calibration_ratio: number;
}

export class WeightedModelMetrics {
  private readonly order: Uint32Array;
  private readonly loss: Float64Array;
  private readonly bin: Uint8Array;
  /** Per user: AUC over its rows (NaN without both classes) and its row count. */
  private readonly userAuc: Float64Array;
  private readonly userRows: Uint32Array;
  /** In score order: 1 for a positive row, and where each run of tied scores ends (so a resample's AUC pass reads memory in sequence). */
  private readonly sortedPositive: Uint8Array;
  private readonly tieEnds: Uint32Array;
  /** rowUser in score order, for the rowUser last passed to compute. */
  private sortedUsers: { of: Uint32Array; users: Uint32Array } | undefined;

  constructor(private readonly labels: ArrayLike<number>, private readonly scores: ArrayLike<number>, private readonly rowsByUser: readonly (readonly number[])[]) {
    const n = labels.length;
    this.order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
    this.loss = Float64Array.from({ length: n }, (_, i) => {
      const p = Math.min(1 - EPS, Math.max(EPS, scores[i]!));
      return labels[i]! > 0.5 ? -Math.log(p) : -Math.log(1 - p);
    });
    this.bin = Uint8Array.from({ length: n }, (_, i) => Math.min(BINS - 1, Math.floor(scores[i]! * BINS)));
    this.userAuc = Float64Array.from(rowsByUser, (rows) => auc(rows.map((r) => labels[r]!), rows.map((r) => scores[r]!)));
    this.userRows = Uint32Array.from(rowsByUser, (rows) => rows.length);
    this.sortedPositive = Uint8Array.from(this.order, (r) => (labels[r]! > 0.5 ? 1 : 0));
    const ends: number[] = [];
    for (let i = 1; i <= n; i++) if (i === n || scores[this.order[i]!]! !== scores[this.order[i - 1]!]!) ends.push(i);
    this.tieEnds = Uint32Array.from(ends);
  }

  /** `userWeights[u]`: how many times user u was drawn. */
  compute(userWeights: ArrayLike<number>, rowUser: Uint32Array): WeightedMetrics {
    const { labels, scores, order, sortedPositive, tieEnds } = this;
    if (this.sortedUsers?.of !== rowUser) this.sortedUsers = { of: rowUser, users: Uint32Array.from(order, (r) => rowUser[r]!) };
    const users = this.sortedUsers.users;
    let negBelow = 0, numerator = 0, wPos = 0, wNeg = 0;
    for (let g = 0, j = 0; g < tieEnds.length; g++) {
      let tiePos = 0, tieNeg = 0;
      for (const end = tieEnds[g]!; j < end; j++) {
        const w = userWeights[users[j]!]!;
        if (sortedPositive[j] === 1) tiePos += w; else tieNeg += w;
      }
      numerator += tiePos * (negBelow + 0.5 * tieNeg);
      negBelow += tieNeg;
      wPos += tiePos;
      wNeg += tieNeg;
    }
    let loss = 0, total = 0, sumP = 0, sumY = 0;
    const binP = new Float64Array(BINS), binY = new Float64Array(BINS);
    for (let r = 0; r < labels.length; r++) {
      const w = userWeights[rowUser[r]!]!;
      if (w === 0) continue;
      loss += w * this.loss[r]!;
      total += w;
      sumP += w * scores[r]!;
      sumY += w * labels[r]!;
      const b = this.bin[r]!;
      binP[b] = binP[b]! + w * scores[r]!;
      binY[b] = binY[b]! + w * labels[r]!;
    }
    let ece = 0;
    for (let b = 0; b < BINS; b++) ece += Math.abs(binP[b]! - binY[b]!);
    let gaucNum = 0, gaucDen = 0;
    for (let u = 0; u < this.userAuc.length; u++) {
      const w = userWeights[u]! * this.userRows[u]!;
      if (w === 0 || Number.isNaN(this.userAuc[u]!)) continue;
      gaucNum += w * this.userAuc[u]!;
      gaucDen += w;
    }
    return {
      auc: wPos > 0 && wNeg > 0 ? numerator / (wPos * wNeg) : Number.NaN,
      gauc: gaucDen > 0 ? gaucNum / gaucDen : Number.NaN,
      logloss: loss / total,
      ece: ece / Math.max(1, total),
      calibration_ratio: sumY === 0 ? Number.NaN : sumP / sumY,
    };
  }
}
