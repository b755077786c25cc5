import { runNativeOp, runNativeOpOutputs } from '../../features/embedding/index.js';
import { customOps, tf } from '../../infra/tf.js';
import type { Tensor } from '../layers/params.js';

/**
 * The attention unit's per-pair input [q, k, q⊙k] ([N, 3D]) for candidates
 * q and behaviours k ([N, D] each). With our kernels loaded, one pass
 * (RecsysPairsInput); otherwise Mul and Concat. Not on the tape.
 */
export function pairsInput(q: Tensor, k: Tensor): Tensor {
  if (customOps.loaded) return runNativeOp('RecsysPairsInput', () => [], [q, k])!;
  return tf.concat([q, k, tf.mul(q, k)], 1);
}

/**
 * The gradient of pairsInput given dx [N, 3D], with `dkExtra` (the gradient
 * k receives elsewhere) added to dk: dq = dx_q + dx_qk ⊙ k,
 * dk = dx_k + dx_qk ⊙ q + dkExtra. Not on the tape.
 */
export function pairsInputGrad(dx: Tensor, q: Tensor, k: Tensor, dkExtra: Tensor): { dq: Tensor; dk: Tensor } {
  if (customOps.loaded) {
    const [dq, dk] = runNativeOpOutputs('RecsysPairsInputGrad', () => [], [dx, q, k, dkExtra], 2)!;
    return { dq: dq!, dk: dk! };
  }
  const [dxq, dxk, dxqk] = tf.split(dx, 3, 1);
  return { dq: tf.add(dxq!, tf.mul(dxqk!, k)), dk: tf.add(tf.add(dxk!, tf.mul(dxqk!, q)), dkExtra) };
}

/**
 * Every (candidate, behaviour) pair of a run that shares one history, as a
 * block: q [B, D] and k [L, D] → q[i] ⊙ k[j] at row i·L + j ([B·L, D]). With
 * our kernels loaded, one pass (RecsysPairProducts); otherwise a broadcasting
 * Mul. Inference only.
 */
export function pairProducts(q: Tensor, k: Tensor): Tensor {
  if (customOps.loaded) return runNativeOp('RecsysPairProducts', () => [], [q, k])!;
  return tf.reshape(tf.mul(tf.expandDims(q, 1), tf.expandDims(k, 0)), [q.shape[0]! * k.shape[0]!, q.shape[1]!]);
}

/**
 * The block's first-layer pre-activations: p [B·L, U] (the product term) plus
 * each pair's candidate term c [B, U] and behaviour term b [L, U], added in
 * that order ((p + c[i]) + b[j], as the broadcasting Adds did). With our
 * kernels loaded, one pass (RecsysAddPairTerms). Inference only.
 */
export function addPairTerms(p: Tensor, c: Tensor, b: Tensor): Tensor {
  if (customOps.loaded) return runNativeOp('RecsysAddPairTerms', () => [], [p, c, b])!;
  const [B, L, U] = [c.shape[0]!, b.shape[0]!, p.shape[1]!];
  return tf.reshape(tf.add(tf.add(tf.reshape(p, [B, L, U]), tf.expandDims(c, 1)), tf.expandDims(b, 0)), [B * L, U]);
}
