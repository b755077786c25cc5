import assert from 'node:assert/strict';
import fc from 'fast-check';
import { poolBags, scatterBagGradient, scatterRowGradient } from '../../../../../features/embedding/tf/row-kernels.js';
import { poolRows } from '../../../../../features/embedding/tf/tf-pool-rows.js';
import { tf } from '../../../../../infra/tf.js';
import { assertClose } from '../../../../helpers/assert-close.js';

// The loops these kernels replaced, kept verbatim as the reference.
function oldRowGradient(upstream: Float32Array, inverse: Int32Array, count: number, dim: number): Float32Array {
  const grad = new Float32Array(count * dim);
  for (let i = 0, s = 0; i < inverse.length; i++) {
    for (let o = inverse[i]! * dim, end = o + dim; o < end; o++, s++) grad[o]! += upstream[s]!;
  }
  return grad;
}

function oldBagGradient(upstream: Float32Array, inverse: Int32Array, count: number, dim: number, bagSize: number, scale: number): Float32Array {
  const grad = new Float32Array(count * dim);
  const bags = inverse.length / bagSize;
  for (let bag = 0; bag < bags; bag++) {
    const first = bag * bagSize;
    for (let j = 0; j < dim; j++) {
      const value = scale * upstream[bag * dim + j]!;
      for (let p = first; p < first + bagSize; p++) grad[inverse[p]! * dim + j]! += value;
    }
  }
  return grad;
}

/** Rows, a bag-shaped inverse into them and an upstream gradient, for dims that are and are not multiples of 4. */
const cases = fc.record({
  count: fc.integer({ min: 1, max: 40 }),
  dim: fc.integer({ min: 1, max: 19 }),
  bags: fc.integer({ min: 1, max: 12 }),
  bagSize: fc.integer({ min: 1, max: 9 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
}).map(({ count, dim, bags, bagSize, seed }) => {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const n = bags * bagSize;
  return {
    count, dim, bagSize,
    inverse: Int32Array.from({ length: n }, () => Math.floor(next() * count)),
    rows: Float32Array.from({ length: count * dim }, () => next() * 2 - 1),
    upstream: Float32Array.from({ length: n * dim }, () => next() * 2 - 1),
    dy: Float32Array.from({ length: bags * dim }, () => next() * 2 - 1),
  };
});

describe('row kernels (gatherRows / poolRows inner loops)', () => {
  it('scatterRowGradient is bit-identical to the one-column loop it replaced', () => {
    fc.assert(fc.property(cases, ({ count, dim, inverse, upstream }) => {
      const grad = new Float32Array(count * dim);
      scatterRowGradient(upstream, inverse, dim, grad);
      assert.deepEqual(grad, oldRowGradient(upstream, inverse, count, dim));
    }));
  });

  it('scatterBagGradient is bit-identical to the one-column loop it replaced, for mean and sum', () => {
    fc.assert(fc.property(cases, ({ count, dim, bagSize, inverse, dy }) => {
      for (const scale of [1, 1 / bagSize]) {
        const grad = new Float32Array(count * dim);
        scatterBagGradient(dy, inverse, bagSize, dim, scale, grad);
        assert.deepEqual(grad, oldBagGradient(dy, inverse, count, dim, bagSize, scale));
      }
    }));
  });

  it('poolBags matches TF gather + mean/sum within 1e-6', () => {
    fc.assert(fc.property(cases, ({ count, dim, bagSize, inverse, rows }) => {
      const bags = inverse.length / bagSize;
      for (const mode of ['mean', 'sum'] as const) {
        const out = new Float32Array(bags * dim);
        poolBags(rows, inverse, bagSize, dim, mode, out);
        const expected = tf.tidy(() => {
          const gathered = tf.gather(tf.tensor2d(rows, [count, dim]), tf.tensor1d(inverse, 'int32')).reshape([bags, bagSize, dim]);
          return (mode === 'mean' ? gathered.mean(1) : gathered.sum(1)).dataSync() as Float32Array;
        });
        assertClose(out, expected, { atol: 1e-6, rtol: 1e-6 }, `${mode} pooled`);
      }
    }), { numRuns: 50 });
  });

  it('poolRows refuses an inverse index outside the rows instead of reading past them', () => {
    const rows = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    assert.throws(() => poolRows(rows, Int32Array.from([0, 2]), 2), /inverse\[1\] = 2 is not in \[0, 2\)/);
    assert.throws(() => poolRows(rows, Int32Array.from([-1, 0]), 2), /inverse\[0\] = -1 is not in \[0, 2\)/);
    rows.dispose();
  });
});
