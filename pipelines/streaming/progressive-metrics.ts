import { auc, logloss } from '../../models/metrics/classification.js';

export interface ProgressiveSnapshot {
  /** Examples scored over the whole run. */
  total: number;
  /** Sum of log losses over the whole run. */
  totalLogloss: number;
  labels: number[];
  scores: number[];
}

export interface ProgressiveFigures {
  /** Examples in the window. */
  events: number;
  auc: number | null;
  logloss: number | null;
  /** Mean logloss over every example scored so far. */
  cumulativeLogloss: number | null;
  total: number;
}

const EPS = 1e-7;

/**
 * Progressive validation (Blum et al.; McMahan et al. 2013): each example is
 * scored by the model as it stood before training on it, so the scores are
 * out-of-sample without a held-out set. Keeps the last `window` (label,
 * score) pairs for a rolling AUC and logloss, plus run totals.
 */
export class ProgressiveMetrics {
  private readonly labels: Uint8Array;
  private readonly scores: Float32Array;
  private filled = 0;
  private next = 0;
  private total = 0;
  private totalLogloss = 0;

  constructor(readonly window: number, snapshot?: ProgressiveSnapshot) {
    this.labels = new Uint8Array(window);
    this.scores = new Float32Array(window);
    if (snapshot) {
      snapshot.labels.forEach((label, i) => this.push(label, snapshot.scores[i]!));
      this.total = snapshot.total;
      this.totalLogloss = snapshot.totalLogloss;
    }
  }

  add(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      const p = Math.min(1 - EPS, Math.max(EPS, scores[i]!));
      this.totalLogloss -= y > 0.5 ? Math.log(p) : Math.log(1 - p);
      this.total++;
      this.push(y, scores[i]!);
    }
  }

  /** Figures over the window, or over only its newest `last` examples (to line it up with another window ending at the same example). */
  figures(last?: number): ProgressiveFigures {
    const { labels, scores } = this.windowArrays(last);
    const a = labels.length > 0 ? auc(labels, scores) : Number.NaN;
    return {
      events: labels.length,
      auc: Number.isFinite(a) ? a : null,
      logloss: labels.length > 0 ? logloss(labels, scores) : null,
      cumulativeLogloss: this.total > 0 ? this.totalLogloss / this.total : null,
      total: this.total,
    };
  }

  snapshot(): ProgressiveSnapshot {
    const { labels, scores } = this.windowArrays();
    return { total: this.total, totalLogloss: this.totalLogloss, labels: Array.from(labels), scores: Array.from(scores) };
  }

  /** The window (or its newest `last` examples), oldest first. */
  private windowArrays(last = this.filled): { labels: Uint8Array; scores: Float32Array } {
    const n = Math.max(0, Math.min(this.filled, Math.floor(last)));
    const start = (this.next - n + this.window) % this.window;
    const labels = new Uint8Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const j = (start + i) % this.window;
      labels[i] = this.labels[j]!;
      scores[i] = this.scores[j]!;
    }
    return { labels, scores };
  }

  private push(label: number, score: number): void {
    this.labels[this.next] = label > 0.5 ? 1 : 0;
    this.scores[this.next] = score;
    this.next = (this.next + 1) % this.window;
    if (this.filled < this.window) this.filled++;
  }
}
