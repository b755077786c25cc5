import { BLOCK_ROWS, warmRows } from '../tables/row-blocks.js';
import { checkRanges } from './check-config.js';
import type { FtrlConfig, SparseOptimizer, SparseUpdate } from './sparse-optimizer.js';

/**
 * FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the
 * Trenches", KDD 2013, Algorithm 1), per coordinate:
 *
 *   σ = (√(n + g²) − √n)/α;  z ← z + g − σ·w;  n ← n + g²
 *   w = 0 if |z| ≤ λ1, else −(z − sgn(z)·λ1) / ((β + √n)/α + λ2)
 *
 * The paper's λ2 (TF's FTRL uses 2·λ2). The weight is a function of (z, n),
 * so a row's random init only enters through the first update's σ·w term —
 * as in TF's FTRL, after one update the weights are FTRL's own.
 */
export class SparseFtrl implements SparseOptimizer {
  readonly config: Required<FtrlConfig>;
  readonly slotNames = ['z', 'n'];
  readonly slotInit = [0, 0];

  constructor({ alpha, beta = 1, l1 = 0, l2 = 0 }: Omit<FtrlConfig, 'kind'>) {
    checkRanges('ftrl', [
      ['alpha', alpha, alpha > 0, '> 0'],
      ['beta', beta, beta >= 0, '≥ 0'],
      ['l1', l1, l1 >= 0, '≥ 0'],
      ['l2', l2, l2 >= 0, '≥ 0'],
    ]);
    this.config = { kind: 'ftrl', alpha, beta, l1, l2 };
  }

  apply({ weights, slots, unique, grad, dim }: SparseUpdate): void {
    const { alpha, beta, l1, l2 } = this.config;
    const z = slots[0]!;
    const n = slots[1]!;
    for (let first = 0; first < unique.length; first += BLOCK_ROWS) {
      const last = Math.min(unique.length, first + BLOCK_ROWS);
      warmRows(weights, unique, first, last, dim);
      warmRows(z, unique, first, last, dim);
      warmRows(n, unique, first, last, dim);
      for (let k = first; k < last; k++) {
        const w0 = unique[k]! * dim;
        const g0 = k * dim;
        for (let j = 0; j < dim; j++) {
          const i = w0 + j;
          const g = grad[g0 + j]!;
          const nOld = n[i]!;
          const nNew = nOld + g * g;
          const zi = z[i]! + g - ((Math.sqrt(nNew) - Math.sqrt(nOld)) / alpha) * weights[i]!;
          z[i] = zi;
          n[i] = nNew;
          weights[i] = Math.abs(zi) <= l1 ? 0 : -(zi - Math.sign(zi) * l1) / ((beta + Math.sqrt(nNew)) / alpha + l2);
        }
      }
    }
  }
}
