import { ValidationError } from '../../../infra/errors.js';
import { SparseAdagrad } from './adagrad.js';
import { SparseAdam } from './adam.js';
import { SparseFtrl } from './ftrl.js';
import { SparseSgd } from './sgd.js';
import type { OptimizerConfig, SparseOptimizer } from './sparse-optimizer.js';

/** Builds an optimizer from its config, e.g. one read back from a checkpoint. */
export function createOptimizer(config: OptimizerConfig): SparseOptimizer {
  switch (config.kind) {
    case 'sgd':
      return new SparseSgd(config);
    case 'adagrad':
      return new SparseAdagrad(config);
    case 'adam':
      return new SparseAdam(config);
    case 'ftrl':
      return new SparseFtrl(config);
    default:
      throw new ValidationError('unknown optimizer', [`kind must be sgd, adagrad, adam or ftrl, got ${JSON.stringify((config as { kind: unknown }).kind)}`]);
  }
}
