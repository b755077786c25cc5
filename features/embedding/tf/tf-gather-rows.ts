import { customOps, tf } from '../../../infra/tf.js';
import { scatterRowGradient } from './row-kernels.js';
import { gatherUntaped, runNativeOp } from './tf-native-ops.js';

type Tensor = ReturnType<typeof tf.tensor>;
export type Tensor2D = ReturnType<typeof tf.tensor2d>;

/**
 * tf.gather(rows, inverse) whose gradient w.r.t. `rows` is summed in JS. The
 * result is the same as tf.gather's gradient (an unsorted segment sum of the
 * N×dim output gradient into U×dim), but TF's CPU UnsortedSegmentSum kernel
 * costs ~4 ms for 51k×16 on the 2-core machine, where one pass over typed
 * arrays costs ~1 ms: that kernel was the largest part of a training step.
 * With our kernels loaded (native/scatter-rows-kernels.cc) the same loop runs
 * inside TensorFlow (RecsysScatterRows), without reading the N×dim gradient
 * back into JavaScript and uploading the sum: the same floats in the same order.
 */
export function gatherRows(rows: Tensor2D, inverse: Int32Array): Tensor2D {
  const [count, dim] = rows.shape;
  const gather = tf.customGrad((...inputs) => {
    const save = inputs.pop() as unknown as (tensors: Tensor[]) => void;
    const index = tf.tensor1d(inverse, 'int32');
    // Kept for the gradient (the forward's other tensors are gone by then), so the ids are uploaded once.
    save([index]);
    return {
      value: gatherUntaped(inputs[0] as Tensor, index),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0]! : dy;
        if (customOps.loaded) return runNativeOp('RecsysScatterRows', () => [], [g, saved[0]!, tf.scalar(count, 'int32')])!;
        const upstream = g.dataSync() as Float32Array;
        const grad = new Float32Array(count * dim);
        scatterRowGradient(upstream, inverse, dim, grad);
        return tf.tensor2d(grad, [count, dim]);
      },
    };
  });
  return gather(rows) as Tensor2D;
}
