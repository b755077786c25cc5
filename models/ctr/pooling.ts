import { tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';

/** Masked mean over the positions of a list: parts [B, W, D], mask [B, W], lengths [B, 1] → [B, D]. */
export function maskedMean(parts: Tensor, mask: Tensor, lengths: Tensor): Tensor {
  return tf.div(tf.sum(tf.mul(parts, tf.expandDims(mask, 2)), 1), lengths);
}

