import { ValidationError } from '../../../infra/errors.js';
import { tf } from '../../../infra/tf.js';
import { gatherUntaped } from './tf-native-ops.js';
import type { Tensor2D } from './tf-gather-rows.js';
import { poolBags, scatterBagGradient } from './row-kernels.js';

type Tensor = ReturnType<typeof tf.tensor>;

/**
 * Fixed-size bags (a multi-valued field padded to `bagSize` ids per example),
 * pooled: the value of tf.gather(rows, inverse) reshaped to [bags, bagSize,
 * dim] and averaged (or summed) over each bag, computed in JS (row-kernels.ts)
 * for float32 rows.
 * The gradient w.r.t. `rows` is written in JS straight from the [bags, dim]
 * upstream gradient: row inverse[p] gets scale·dy[p / bagSize]. tf.mean's own
 * gradient would first broadcast dy to [bags·bagSize, dim] (a 3 MB ones tensor
 * built in JS, a multiply, a divide), then read that back to segment-sum it.
 * Like torch.nn.EmbeddingBag against embedding(...).mean(1).
 */
export function poolRows(rows: Tensor2D, inverse: Int32Array, bagSize: number, mode: 'mean' | 'sum' = 'mean'): Tensor2D {
  const [count, dim] = rows.shape;
  if (!Number.isInteger(bagSize) || bagSize < 1 || inverse.length % bagSize !== 0) {
    throw new ValidationError('cannot pool rows', [`${inverse.length} positions do not split into bags of ${bagSize}`]);
  }
  for (let p = 0; p < inverse.length; p++) {
    // The JS forward pass would read past the rows silently where TF's gather refused.
    if (!(inverse[p]! >= 0 && inverse[p]! < count)) throw new ValidationError('cannot pool rows', [`inverse[${p}] = ${inverse[p]} is not in [0, ${count})`]);
  }
  const bags = inverse.length / bagSize;
  const scale = mode === 'mean' ? 1 / bagSize : 1;
  const pool = tf.customGrad((...inputs) => {
    const input = inputs[0] as Tensor;
    // Pooled in JS from the rows' values: a tensor made from a typed array
    // hands that array back without a copy until an op has used it, and TF's
    // gather + mean would first write the whole [bags·bagSize, dim] block.
    let value: Tensor;
    if (input.dtype === 'float32') {
      const out = new Float32Array(bags * dim);
      poolBags(input.dataSync() as Float32Array, inverse, bagSize, dim, mode, out);
      value = tf.tensor2d(out, [bags, dim]);
    } else {
      const gathered = gatherUntaped(input, tf.tensor1d(inverse, 'int32')).reshape([bags, bagSize, dim]);
      value = mode === 'mean' ? gathered.mean(1) : gathered.sum(1);
    }
    return {
      value,
      gradFunc: (dy: Tensor | Tensor[]) => {
        const upstream = (Array.isArray(dy) ? dy[0]! : dy).dataSync() as Float32Array;
        const grad = new Float32Array(count * dim);
        scatterBagGradient(upstream, inverse, bagSize, dim, scale, grad);
        return tf.tensor2d(grad, [count, dim]);
      },
    };
  });
  return pool(rows) as Tensor2D;
}
