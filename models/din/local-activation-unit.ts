import { tf } from '../../infra/tf.js';
import type { ActivationKind } from '../layers/activations.js';
import { Mlp } from '../layers/mlp.js';
import type { ParamStore, Tensor } from '../layers/params.js';

export type AttentionNorm = 'none' | 'softmax' | 'length';

/**
 * DIN's local activation unit (Zhou et al., KDD 2018, Fig. 2): for the
 * candidate q and each behaviour k, an MLP over [q, k, q − k, q ⊙ k] gives a
 * weight; the user interest is the weighted sum of the behaviours. The paper
 * uses the weights as they are (no softmax) so the pooled vector's size keeps
 * the intensity of interest; softmax and length normalisation are options.
 */
export class LocalActivationUnit {
  private readonly mlp: Mlp;

  constructor(params: ParamStore, name: string, dim: number, units: readonly number[], activation: ActivationKind, private readonly norm: AttentionNorm) {
    this.mlp = new Mlp(params, name, 4 * dim, [...units, 1], activation);
  }

  /** query [B, D], keys [B, L, D], mask [B, L] (1 = behaviour, 0 = padding), lengths [B, 1] → [B, D]. */
  pool(query: Tensor, keys: Tensor, mask: Tensor, lengths: Tensor, training: boolean): Tensor {
    const [, L] = keys.shape as [number, number, number];
    const q = tf.tile(tf.expandDims(query, 1), [1, L, 1]);
    const input = tf.concat([q, keys, tf.sub(q, keys), tf.mul(q, keys)], 2);
    const scores = tf.squeeze(this.mlp.apply(input, training), [2]);
    let weights: Tensor;
    if (this.norm === 'softmax') {
      // Padding gets −∞ before the softmax so it takes no share.
      weights = tf.mul(tf.softmax(tf.add(scores, tf.mul(tf.sub(1, mask), -1e9))), mask);
    } else {
      weights = tf.mul(scores, mask);
      if (this.norm === 'length') weights = tf.div(weights, lengths);
    }
    return tf.sum(tf.mul(tf.expandDims(weights, 2), keys), 1);
  }

  weights(query: Tensor, keys: Tensor, mask: Tensor): Tensor {
    const [, L] = keys.shape as [number, number, number];
    const q = tf.tile(tf.expandDims(query, 1), [1, L, 1]);
    return tf.mul(tf.squeeze(this.mlp.apply(tf.concat([q, keys, tf.sub(q, keys), tf.mul(q, keys)], 2), false), [2]), mask);
  }

  commit(): void {
    this.mlp.commit();
  }

  get layers(): Mlp {
    return this.mlp;
  }
}
