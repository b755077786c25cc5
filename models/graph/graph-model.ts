import { tf } from '../../infra/tf.js';
import type { Rng } from '../../features/math/rng.js';
import type { Tensor, Variable } from '../layers/params.js';
import type { GraphModelConfig } from './graph-config.js';
import type { PropagationBasis } from './fold-in.js';

/**
 * A model that scores (user, item) by the dot product of node
 * representations computed over the whole user–item graph (users first, then
 * items). `forward` runs inside the optimizer's tape; `embedding` holds the
 * layer-0 rows that BPR's L2 term regularises.
 */
export interface GraphModel {
  readonly config: GraphModelConfig;
  readonly numUsers: number;
  readonly numItems: number;
  readonly embedding: Variable;
  readonly variables: Variable[];
  /** [numUsers + numItems, dim] final representations. */
  forward(): Tensor;
  /** For models whose propagation rule can place a new item (fold-in.ts): the users' layers as they are now. */
  foldInBasis?(): PropagationBasis;
  /**
   * forward()'s rows and foldInBasis() computed on the host, for models that
   * can (LightGCN with the native kernels): through TensorFlow, exporting a
   * 2M-node LightGCN held every layer as a tensor at once. `withBasis`
   * false (default true): the representations only. `scratch`: they may be
   * written into the model's training scratch, valid until its next step
   * (what a validation check reads once: a fresh [N, D] array less).
   */
  exportHost?(withBasis?: boolean, scratch?: boolean): { representations: Float32Array; basis?: PropagationBasis };
  dispose(): void;
}

/** N(0, std²) rows, reproducible from the model's seed. */
export function normalVariable(rng: Rng, rows: number, cols: number, std: number): Variable {
  const values = new Float32Array(rows * cols);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  // In a tidy: the initial tensor shares the variable's data and would otherwise hold it after the variable is disposed.
  return tf.tidy(() => tf.variable(tf.tensor2d(values, [rows, cols])));
}

/** U(−1/√fanIn, 1/√fanIn): PyTorch's nn.Linear default, which Sheaf4Rec keeps. */
export function uniformVariable(rng: Rng, shape: number[], fanIn: number): Variable {
  const limit = 1 / Math.sqrt(fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (2 * rng.next() - 1) * limit;
  return tf.tidy(() => tf.variable(tf.tensor(values, shape)));
}
