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
