import { BLOCK_ROWS, warmRows } from '../tables/row-blocks.js';
import { checkRanges } from './check-config.js';
import type { SgdConfig, SparseOptimizer, SparseUpdate } from './sparse-optimizer.js';

/** w ← w − lr·(g + λw) on touched rows. No state. */
export class SparseSgd implements SparseOptimizer {
  readonly config: Required<SgdConfig>;
  readonly slotNames = [];
  readonly slotInit = [];

  constructor({ learningRate, weightDecay = 0 }: Omit<SgdConfig, 'kind'>) {
    checkRanges('sgd', [
      ['learningRate', learningRate, learningRate > 0, '> 0'],
      ['weightDecay', weightDecay, weightDecay >= 0, '≥ 0'],
    ]);
    this.config = { kind: 'sgd', learningRate, weightDecay };
  }

  apply({ weights, unique, grad, dim }: SparseUpdate): void {
    const { learningRate: lr, weightDecay: decay } = this.config;
    for (let first = 0; first < unique.length; first += BLOCK_ROWS) {
      const last = Math.min(unique.length, first + BLOCK_ROWS);
      warmRows(weights, unique, first, last, dim);
      for (let k = first; k < last; k++) {
        const w0 = unique[k]! * dim;
        const g0 = k * dim;
        for (let j = 0; j < dim; j++) {
          const w = weights[w0 + j]!;
          weights[w0 + j] = w - lr * (grad[g0 + j]! + decay * w);
        }
      }
    }
  }
}
