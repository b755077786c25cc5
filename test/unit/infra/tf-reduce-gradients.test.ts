import assert from 'node:assert/strict';
import { tf } from '../../../infra/tf.js';

type Tensor = ReturnType<typeof tf.tensor>;

/** d/dx Σ w ⊙ reduce(x, axes): w broadcast back over the reduced axes (÷ n for a mean), by index arithmetic. */
function expectedGradient(shape: number[], axes: number[], w: Float32Array, mean: boolean): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const reducedCount = axes.reduce((a, axis) => a * shape[axis]!, 1);
  const out = new Float32Array(size);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    let wIndex = 0;
    for (let d = 0; d < shape.length; d++) if (!axes.includes(d)) wIndex = wIndex * shape[d]! + index[d]!;
    out[flat] = mean ? Math.fround(w[wIndex]! / reducedCount) : w[wIndex]!;
  }
  return out;
}

describe('Sum and Mean gradients (one BroadcastTo)', () => {
  const shape = [3, 4, 5];
  const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
  const cases: Array<{ axis: number | number[] | null; axes: number[]; keepDims: boolean }> = [
    { axis: 1, axes: [1], keepDims: false },
    { axis: 0, axes: [0], keepDims: true },
    { axis: [0, 2], axes: [0, 2], keepDims: false },
    { axis: -1, axes: [2], keepDims: false },
    { axis: null, axes: [0, 1, 2], keepDims: false },
  ];
  after(() => x.dispose());

  for (const { axis, axes, keepDims } of cases) {
    for (const op of ['sum', 'mean'] as const) {
      it(`${op} over ${JSON.stringify(axis)}${keepDims ? ' (keepDims)' : ''} broadcasts the upstream gradient${op === 'mean' ? ' ÷ n' : ''}`, () => {
        const outShape = shape.filter((_, d) => !axes.includes(d));
        const w = Float32Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, (_, i) => (i % 7) - 3.25);
        const grad = tf.tidy(() => {
          const weights = tf.tensor(w, keepDims ? shape.map((n, d) => (axes.includes(d) ? 1 : n)) : outShape);
          const reduce = (t: Tensor) => (op === 'sum' ? tf.sum(t, axis ?? undefined, keepDims) : tf.mean(t, axis ?? undefined, keepDims));
          return tf.grad((t: Tensor) => tf.sum(tf.mul(reduce(t), weights)))(x);
        });
        assert.deepEqual(grad.shape, shape);
        assert.deepEqual(grad.dataSync(), expectedGradient(shape, axes, w, op === 'mean'));
        grad.dispose();
      });
    }
  }

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const g = tf.grad((t: Tensor) => tf.mean(tf.sum(t, 1)))(x);
    g.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
