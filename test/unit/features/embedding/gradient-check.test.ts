import assert from 'node:assert/strict';
import { EmbeddingTable } from '../../../../features/embedding/tables/embedding-table.js';
import type { EmbeddingLayout } from '../../../../features/embedding/layouts/embedding-layout.js';
import { tableGradientsFromFieldOutputs } from '../../../../features/embedding/layouts/field-gradients.js';
import { gatherFieldOutputs } from '../../../../features/embedding/layouts/tf-field-outputs.js';
import { unifiedLayout } from '../../../../features/embedding/layouts/unified-layout.js';
import { gatherRows } from '../../../../features/embedding/tf/tf-gather-rows.js';
import { poolRows } from '../../../../features/embedding/tf/tf-pool-rows.js';
import type { Tensor2D } from '../../../../features/embedding/tf/tf-gather-rows.js';
import { tf } from '../../../../infra/tf.js';
import { assertClose } from '../../../helpers/assert-close.js';

type Tensor = ReturnType<typeof tf.tensor>;
const H = 1e-2;
const TOLERANCE = { atol: 2e-3, rtol: 1e-2 };

/** Central differences of `loss` w.r.t. every entry of `weights`. */
function finiteDifferences(weights: Float32Array, loss: () => number): Float64Array {
  const grad = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const saved = weights[i]!;
    weights[i] = saved + H;
    const up = loss();
    weights[i] = saved - H;
    const down = loss();
    weights[i] = saved;
    grad[i] = (up - down) / (2 * H);
  }
  return grad;
}

/** The gradient for unique rows spread back over the whole table (zero elsewhere). */
function scatter(unique: Int32Array, grad: Float32Array, rows: number, dim: number): Float64Array {
  const full = new Float64Array(rows * dim);
  unique.forEach((row, k) => full.set(grad.subarray(k * dim, (k + 1) * dim), row * dim));
  return full;
}

describe('embedding gradient checks (finite differences)', () => {
  it('table path: gather by inverse, mean-pool, nonlinear loss; duplicates summed', () => {
    const batch = 4;
    const seq = 3;
    const ids = Int32Array.from([0, 2, 2, 5, 0, 1, 2, 2, 2, 3, 5, 0]);
    const table = new EmbeddingTable({ rows: 6, dim: 3, optimizer: { kind: 'sgd', learningRate: 1 }, init: { kind: 'uniform', scale: 1 }, seed: 11 });
    const direction = tf.tensor1d([0.7, -1.3, 0.4]);
    const pooledLoss = (rows: Tensor, inverse: Tensor) => {
      const pooled = tf.gather(rows, inverse).reshape([batch, seq, 3]).mean(1);
      return tf.tanh(pooled).mul(direction).sum(1).square().sum() as ReturnType<typeof tf.scalar>;
    };
    const lossNow = () =>
      tf.tidy(() => {
        const { rows, inverse, unique } = table.lookup(ids);
        return pooledLoss(tf.tensor2d(rows, [unique.length, 3]), tf.tensor1d(inverse, 'int32')).dataSync()[0]!;
      });

    const { unique, inverse, rows } = table.lookup(ids);
    const grad = tf.tidy(() => {
      const inverseT = tf.tensor1d(inverse, 'int32');
      return tf.grad((r: Tensor) => pooledLoss(r, inverseT))(tf.tensor2d(rows, [unique.length, 3])).dataSync() as Float32Array;
    });
    assert.deepEqual([...unique], [0, 2, 5, 1, 3]);
    const numeric = finiteDifferences(table.weights, lossNow);
    assertClose(scatter(unique, grad, 6, 3), numeric, TOLERANCE, 'd loss / d table');
    assert.deepEqual([...numeric.subarray(12, 15)].map((g) => Math.abs(g) < 1e-4), [true, true, true], 'row 4 is never read');

    // gatherRows (gradient summed in JS) gives tf.gather's gradient exactly.
    const builtIn = tf.tidy(
      () => tf.grad((r: Tensor) => pooledLoss(r, tf.tensor1d(inverse, 'int32')))(tf.tensor2d(rows, [unique.length, 3])).dataSync() as Float32Array,
    );
    const viaJs = tf.tidy(() => {
      const lossJs = (r: Tensor) => {
        const pooled = gatherRows(r as Tensor2D, inverse).reshape([batch, seq, 3]).mean(1);
        return tf.tanh(pooled).mul(direction).sum(1).square().sum();
      };
      return tf.grad(lossJs)(tf.tensor2d(rows, [unique.length, 3])).dataSync() as Float32Array;
    });
    assertClose(viaJs, builtIn, { atol: 1e-7, rtol: 1e-6 }, 'gatherRows gradient');

    // poolRows (mean over each bag, gradient written in JS) likewise.
    const pooled = tf.tidy(() => {
      const lossPooled = (r: Tensor) => tf.tanh(poolRows(r as Tensor2D, inverse, seq)).mul(direction).sum(1).square().sum();
      return tf.grad(lossPooled)(tf.tensor2d(rows, [unique.length, 3])).dataSync() as Float32Array;
    });
    assertClose(pooled, builtIn, { atol: 1e-7, rtol: 1e-6 }, 'poolRows gradient');
    direction.dispose();
  });

  it('poolRows sums or averages fixed-size bags, with the matching gradient', () => tf.tidy(() => {
    const rows = tf.tensor2d([1, 2, 10, 20, 100, 200], [3, 2]);
    const inverse = Int32Array.from([0, 2, 2, 1]);
    const weights = tf.tensor2d([1, -1, 2, 3], [2, 2]);
    const loss = (mode: 'sum' | 'mean') => (r: Tensor) => poolRows(r as Tensor2D, inverse, 2, mode).mul(weights).sum();
    assert.deepEqual([...poolRows(rows, inverse, 2, 'sum').dataSync()], [101, 202, 110, 220]);
    assert.deepEqual([...poolRows(rows, inverse, 2).dataSync()], [50.5, 101, 55, 110]);
    // d/d rows of Σ weights·pooled: row 2 is in both bags.
    assert.deepEqual([...tf.grad(loss('sum'))(rows).dataSync()], [1, -1, 2, 3, 3, 2]);
    assert.deepEqual([...tf.grad(loss('mean'))(rows).dataSync()], [0.5, -0.5, 1, 1.5, 1.5, 1]);
    assert.throws(() => poolRows(rows, inverse, 3), /4 positions do not split into bags of 3/);
  }));

  it('unified layout with collisions: one shared table, chunks and fields summed', () => {
    const fields = [
      { name: 'user', vocabularySize: 100 },
      { name: 'item', vocabularySize: 100 },
    ];
    const layout: EmbeddingLayout = unifiedLayout(fields, {
      rows: 4,
      chunkDim: 2,
      chunks: { user: 2, item: 1 },
      optimizer: { kind: 'sgd', learningRate: 1 },
      init: { kind: 'uniform', scale: 1 },
      seed: 3,
    });
    const batch = { user: [1, 2, 3, 1, 7], item: [1, 9, 4, 4, 2] };
    const mixing = tf.tensor2d(Array.from({ length: 6 * 2 }, (_, i) => Math.cos(i * 1.7)), [6, 2]);
    const loss = (lookup: ReturnType<EmbeddingLayout['lookup']>, rows: Tensor2D[]) => {
      const outputs = gatherFieldOutputs(lookup, rows);
      return tf.tanh(tf.concat(outputs, 1).matMul(mixing)).square().sum() as ReturnType<typeof tf.scalar>;
    };
    const tensorsOf = (lookup: ReturnType<EmbeddingLayout['lookup']>) => lookup.tables.map((t) => tf.tensor2d(t.rows, [t.unique.length, 2]));
    const lossNow = () =>
      tf.tidy(() => {
        const lookup = layout.lookup(batch);
        return loss(lookup, tensorsOf(lookup)).dataSync()[0]!;
      });

    const lookup = layout.lookup(batch);
    const { unique } = lookup.tables[0]!;
    // 5 examples × 3 chunks = 15 reads of a 4-row table: rows are shared.
    assert.ok(unique.length <= 4);
    const grad = tf.tidy(() => tf.grad((r: Tensor) => loss(lookup, [r as Tensor2D]))(tensorsOf(lookup)[0]!).dataSync() as Float32Array);
    const numeric = finiteDifferences(layout.tables[0]!.weights, lossNow);
    assertClose(scatter(unique, grad, 4, 2), numeric, TOLERANCE, 'd loss / d shared table');

    // The same gradient via the field outputs, routed back in JS.
    const fieldGrads = tf.tidy(() => {
      const outputs = gatherFieldOutputs(lookup, tensorsOf(lookup));
      const grads = tf.grads((...xs: Tensor[]) => tf.tanh(tf.concat(xs, 1).matMul(mixing)).square().sum())(outputs);
      return grads.map((g) => g.dataSync() as Float32Array);
    });
    assertClose(tableGradientsFromFieldOutputs(lookup, fieldGrads)[0]!, grad, { atol: 1e-5, rtol: 1e-5 }, 'routed field gradients');
    mixing.dispose();
  });
});
