import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';

/**
 * The surrogate derivative OptEmbed trains its pruning thresholds with: the
 * unit step has no useful derivative, so the backward pass uses that of a
 * piecewise-linear approximation of it: 2 − 4|x| near 0, 0.4 on 0.4 < |x| ≤ 1,
 * 0 beyond (from the paper's code).
 */
export function binaryStepSurrogate(x: number): number {
  const a = Math.abs(x);
  if (a > 1) return 0;
  if (a > 0.4) return 0.4;
  return 2 - 4 * a;
}

/**
 * 1[x > 0] elementwise, with the straight-through surrogate gradient above.
 * The comparison runs in the forward function of a custom gradient, so the
 * tape never needs a gradient for Greater (TF.js has none).
 */
export function binaryStep(x: Tensor): Tensor {
  const op = tf.customGrad((...inputs) => {
    const input = inputs[0] as Tensor;
    // Kept as numbers, not a tensor: the engine disposes the forward's tensors before the backward pass.
    const surrogate = Float32Array.from(input.dataSync() as Float32Array, binaryStepSurrogate);
    const shape = input.shape;
    return {
      value: tf.cast(tf.greater(input, 0), 'float32'),
      gradFunc: (dy: Tensor | Tensor[]) => tf.mul(Array.isArray(dy) ? dy[0]! : dy, tf.tensor(surrogate, shape)),
    };
  });
  return op(x) as Tensor;
}
