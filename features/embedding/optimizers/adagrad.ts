import { BLOCK_ROWS, warmRows } from '../tables/row-blocks.js';
import { checkRanges } from './check-config.js';
import type { AdagradConfig, SparseOptimizer, SparseUpdate } from './sparse-optimizer.js';

/** Adagrad (Duchi et al. 2011) as PyTorch computes it: a ← a + g²; w ← w − lr·g/(√a + ε). */
export class SparseAdagrad implements SparseOptimizer {
  readonly config: Required<AdagradConfig>;
  readonly slotNames = ['accumulator'];
  readonly slotInit: readonly number[];

  constructor({ learningRate, initialAccumulator = 0, epsilon = 1e-10, weightDecay = 0 }: Omit<AdagradConfig, 'kind'>) {
    checkRanges('adagrad', [
      ['learningRate', learningRate, learningRate > 0, '> 0'],
      ['initialAccumulator', initialAccumulator, initialAccumulator >= 0, '≥ 0'],
      ['epsilon', epsilon, epsilon >= 0, '≥ 0'],
      ['weightDecay', weightDecay, weightDecay >= 0, '≥ 0'],
    ]);
    this.config = { kind: 'adagrad', learningRate, initialAccumulator, epsilon, weightDecay };
    this.slotInit = [initialAccumulator];
  }

  apply({ weights, slots, unique, grad, dim }: SparseUpdate): void {
    const { learningRate: lr, epsilon, weightDecay: decay } = this.config;
    const acc = slots[0]!;
    for (let first = 0; first < unique.length; first += BLOCK_ROWS) {
      const last = Math.min(unique.length, first + BLOCK_ROWS);
      warmRows(weights, unique, first, last, dim);
      warmRows(acc, unique, first, last, dim);
      for (let k = first; k < last; k++) {
        const w0 = unique[k]! * dim;
        const g0 = k * dim;
        for (let j = 0; j < dim; j++) {
          const w = weights[w0 + j]!;
          const g = grad[g0 + j]! + decay * w;
          const a = acc[w0 + j]! + g * g;
          acc[w0 + j] = a;
          weights[w0 + j] = w - (lr * g) / (Math.sqrt(a) + epsilon);
        }
      }
    }
  }
}
