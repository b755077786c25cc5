import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import type { GraphModelType } from '../../../../models/graph/graph-config.js';
import { batchLoss, batchNodeIds, createOptimizers, mfBprGradient, trainStep } from '../../../../models/graph/train-graph.js';
import { assertClose } from '../../../helpers/assert-close.js';

type Scalar = ReturnType<typeof tf.scalar>;

describe('graph training: the batch loss', () => {
  // 5 users × 4 items; the batch repeats user 0 and item 1 so that gradients of one row add up across roles.
  const graph = buildBipartiteGraph(5, 4, Int32Array.from([0, 0, 1, 2, 2, 3, 4]), Int32Array.from([0, 1, 1, 2, 3, 0, 2]));
  const users = Int32Array.from([0, 2, 0]);
  const positives = Int32Array.from([1, 3, 0]);
  const negatives = Int32Array.from([2, 1, 3]);
  const decay = 0.05;

  it('lists users, then positives, then negatives in the node space', () => {
    assert.deepEqual(Array.from(batchNodeIds(5, users, positives, negatives)), [0, 2, 0, 6, 8, 5, 7, 6, 8]);
  });

  for (const type of ['mf-bpr', 'lightgcn', 'sheaf-scalar'] as GraphModelType[]) {
    it(`${type}: value and gradients equal BPR + L2 written with one gather per role`, () => {
      const model = createGraphModel({ type, dim: 6, layers: 2, seed: 2 }, graph);
      const ids = batchNodeIds(5, users, positives, negatives);
      const u = tf.tensor1d(users, 'int32');
      const p = tf.tensor1d(Int32Array.from(positives, (i) => i + 5), 'int32');
      const n = tf.tensor1d(Int32Array.from(negatives, (i) => i + 5), 'int32');
      const reference = (): Scalar => {
        const out = model.forward();
        const [zu, zp, zn] = [tf.gather(out, u), tf.gather(out, p), tf.gather(out, n)];
        const bpr = tf.softplus(zu.mul(zp).sum(1).sub(zu.mul(zn).sum(1)).neg()).mean();
        const e0 = model.embedding;
        const l2 = tf.addN([u, p, n].map((ix) => tf.gather(e0, ix).square().sum())).mul(decay / 2 / users.length);
        return bpr.add(l2) as Scalar;
      };
      const ours = tf.variableGrads(batchLoss(model, ids, users.length, decay), model.variables);
      const ref = tf.variableGrads(reference, model.variables);
      assertClose(ours.value.dataSync(), ref.value.dataSync(), { atol: 1e-6, rtol: 1e-5 }, 'loss');
      for (const v of model.variables) {
        const g = ours.grads[v.name]!;
        assert.ok(g.abs().max().dataSync()[0]! > 0, `${v.name}: a zero gradient proves nothing`);
        assertClose(g.dataSync(), ref.grads[v.name]!.dataSync(), { atol: 1e-6, rtol: 1e-4 }, `∂${v.name}`);
      }
      tf.dispose([u, p, n, ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
      model.dispose();
    });
  }

  it('mf-bpr: the hand-written loss and gradient equal autodiff of the batch loss', () => {
    const model = createGraphModel({ type: 'mf-bpr', dim: 6, seed: 4, initStd: 0.8 }, graph);
    const ids = batchNodeIds(5, users, positives, negatives);
    const ref = tf.variableGrads(batchLoss(model, ids, users.length, decay), model.variables);
    const ours = mfBprGradient(model.embedding.dataSync() as Float32Array, 6, ids, users.length, decay);
    assertClose([ours.loss], ref.value.dataSync(), { atol: 1e-6, rtol: 1e-5 }, 'loss');
    const expected = ref.grads[model.embedding.name]!.dataSync();
    assert.ok(expected.some((g) => Math.abs(g) > 1e-3), 'a zero gradient proves nothing');
    assertClose(ours.grad, expected, { atol: 1e-6, rtol: 1e-4 }, '∂table');
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    model.dispose();
  });

  it('mf-bpr: two Adam steps off the tape leave the same table as two on the tape', () => {
    const [fast, taped] = [1, 2].map(() => createGraphModel({ type: 'mf-bpr', dim: 6, seed: 4 }, graph));
    const [optFast, optTaped] = [createOptimizers(0.05), createOptimizers(0.05)];
    const before = taped!.embedding.dataSync().slice();
    for (let step = 0; step < 2; step++) {
      trainStep(fast!, optFast, users, positives, negatives, decay).dispose();
      tf.tidy(() => { optTaped.embedding.minimize(batchLoss(taped!, batchNodeIds(5, users, positives, negatives), users.length, decay), false, taped!.variables); });
    }
    const after = taped!.embedding.dataSync();
    assert.ok(after.some((v, k) => Math.abs(v - before[k]!) > 1e-3), 'the steps moved the table');
    assertClose(fast!.embedding.dataSync(), after, { atol: 1e-6, rtol: 1e-4 }, 'table after two steps');
    for (const m of [fast!, taped!]) m.dispose();
    optFast.embedding.dispose();
    optTaped.embedding.dispose();
  });
});
