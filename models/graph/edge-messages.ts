import { tf } from '../../infra/tf.js';
import { gatherUntaped } from '../../features/embedding/index.js';
import type { Tensor } from '../layers/params.js';

export type Tensor1D = ReturnType<typeof tf.tensor1d>;

/**
 * out_u = Σ_{e: u→v} a_e · z_v: messages weighted per directed edge, where
 * a_e is a scalar ([E, 1], z [N, f]) or a d×d block ([E, d, d], z [N, d, f]),
 * differentiable in both z and a.
 *
 * A custom gradient because TF.js's generic ones are heavy here: the gradient
 * of unsortedSegmentSum masks negative ids with several extra [E, f]
 * tensors, and gather's transposes its values; and the tape would keep every
 * [E, f] intermediate per layer alive until the backward pass. Here the
 * backward pass recomputes the one gathered tensor it needs (with
 * gatherUntaped: tfjs-node's gather reads all 2M indices back into JS to
 * check them on every call, and nothing here is on the tape):
 * ∂z = Σ_{e: v→u} a_eᵀ ∂out_v (messages run the other way), ∂a_e = ∂out_u z_vᵀ.
 */
export function edgeMessages(z: Tensor, a: Tensor, src: Tensor1D, dst: Tensor1D, numNodes: number): Tensor {
  const scalar = a.rank === 2;
  const op = tf.customGrad((zIn, aIn, save) => {
    // Saved so that the enclosing tidy does not free them before the backward pass.
    (save as (tensors: Tensor[]) => void)([zIn as Tensor, aIn as Tensor]);
    return {
      value: tf.tidy(() => {
        const gathered = gatherUntaped(zIn as Tensor, dst);
        return tf.unsortedSegmentSum(scalar ? gathered.mul(aIn as Tensor) : tf.matMul(aIn as Tensor, gathered), src, numNodes);
      }),
      gradFunc: (dy: Tensor, saved: Tensor[]) => tf.tidy(() => {
        const [zt, at] = saved as [Tensor, Tensor];
        const dyEdge = gatherUntaped(dy, src);
        const zEdge = gatherUntaped(zt, dst);
        if (scalar) {
          return [tf.unsortedSegmentSum(dyEdge.mul(at), dst, numNodes), dyEdge.mul(zEdge).sum(1, true)];
        }
        return [
          tf.unsortedSegmentSum(tf.matMul(at, dyEdge, true, false), dst, numNodes),
          tf.matMul(dyEdge, zEdge, false, true),
        ];
      }),
    };
  });
  return op(z, a) as Tensor;
}

/**
 * x[indices] along axis 0, differentiable in x: tf.gather's value and
 * gradient (an unsorted segment sum of the incoming rows into `numRows`),
 * with the forward as gatherUntaped. tf.gather reads every index back into
 * JS to check it: for the sheaf's per-edge map logits (2M indices on the
 * 1M-interaction graph) that took 0.37 s a call, 3.3 s of a 40 s step under
 * load 8, against ~0.04 s for the gather itself.
 */
export function gatherEdges(x: Tensor, indices: Tensor1D, numRows: number): Tensor {
  const op = tf.customGrad((xIn) => ({
    value: gatherUntaped(xIn as Tensor, indices),
    gradFunc: (dy: Tensor) => tf.unsortedSegmentSum(dy, indices, numRows),
  }));
  return op(x) as Tensor;
}
