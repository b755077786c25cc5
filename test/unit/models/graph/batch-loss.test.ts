import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import type { GraphModelType } from '../../../../models/graph/graph-config.js';
import { batchLoss, batchNodeIds, createOptimizers, mfBprGradient, trainStep } from '../../../../models/graph/train-graph.js';
import { canStepLightGcnNatively } from '../../../../models/graph/lightgcn-step.js';
import { canStepSheafNatively, setSheafKeptLayersBytes } from '../../../../models/graph/sheaf-step.js';
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

  it('mf-bpr: the off-tape step is a lazy Adam: the batch\'s rows move as Adam with the global step, the others keep their values and moments', () => {
    const lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    const [fast, reference] = [1, 2].map(() => createGraphModel({ type: 'mf-bpr', dim: 6, seed: 4 }, graph));
    const optimizer = createOptimizers(lr);
    // Step 1 touches user 4 and item 2 (node 7); step 2 touches neither.
    const batches = [
      { users: Int32Array.from([4, 0]), positives: Int32Array.from([2, 1]), negatives: Int32Array.from([1, 3]) },
      { users: Int32Array.from([0, 2]), positives: Int32Array.from([0, 3]), negatives: Int32Array.from([1, 0]) },
    ];
    // Reference: autodiff's gradient, then Adam's arithmetic on the rows of the batch only.
    const initial = reference!.embedding.dataSync().slice();
    const table = Float64Array.from(initial);
    const m = new Float64Array(table.length), v = new Float64Array(table.length);
    const afterStep: Float32Array[] = [];
    batches.forEach((b, t) => {
      const ids = batchNodeIds(5, b.users, b.positives, b.negatives);
      reference!.embedding.assign(tf.tensor2d(Float32Array.from(table), [9, 6]));
      const { value, grads } = tf.variableGrads(batchLoss(reference!, ids, b.users.length, decay), reference!.variables);
      const g = grads[reference!.embedding.name]!.dataSync();
      const c1 = 1 - b1 ** (t + 1), c2 = 1 - b2 ** (t + 1);
      for (const row of new Set(ids)) {
        for (let o = row * 6; o < row * 6 + 6; o++) {
          m[o] = b1 * m[o]! + (1 - b1) * g[o]!;
          v[o] = b2 * v[o]! + (1 - b2) * g[o]! ** 2;
          table[o]! -= (lr * m[o]! / c1) / (Math.sqrt(v[o]! / c2) + eps);
        }
      }
      tf.dispose([value, ...Object.values(grads)]);
      trainStep(fast!, optimizer, b.users, b.positives, b.negatives, decay).dispose();
      afterStep.push(fast!.embedding.dataSync().slice() as Float32Array);
    });
    assertClose(afterStep[1]!, Float32Array.from(table), { atol: 1e-6, rtol: 1e-4 }, 'table after two lazy steps');
    for (const row of [4, 7]) {
      const [one, two] = afterStep.map((t) => Array.from(t.subarray(row * 6, row * 6 + 6)));
      assert.notDeepEqual(one, Array.from(initial.subarray(row * 6, row * 6 + 6)), `row ${row} moved in step 1`);
      assert.deepEqual(two, one, `row ${row}, not in step 2's batch, kept its values`);
    }
    for (const model of [fast!, reference!]) model.dispose();
    optimizer.embedding.dispose();
  });

  for (const layers of [0, 1, 3]) {
    it(`lightgcn, ${layers} layers: three native steps give the taped steps' losses and table (dense Adam over every row)`, () => {
      const [fast, taped] = [1, 2].map(() => createGraphModel({ type: 'lightgcn', dim: 6, layers, seed: 4, initStd: 0.5 }, graph));
      assert.ok(canStepLightGcnNatively(fast!), 'the native kernels compiled: this test checks them');
      const [optFast, optTaped] = [createOptimizers(0.05), createOptimizers(0.05)];
      const before = taped!.embedding.dataSync().slice();
      const ids = batchNodeIds(5, users, positives, negatives);
      for (let step = 0; step < 3; step++) {
        const lossFast = trainStep(fast!, optFast, users, positives, negatives, decay);
        const lossTaped = tf.tidy(() => optTaped.embedding.minimize(batchLoss(taped!, ids, users.length, decay), true, taped!.variables)!);
        assertClose(lossFast.dataSync(), lossTaped.dataSync(), { atol: 1e-6, rtol: 1e-5 }, `loss at step ${step + 1}`);
        tf.dispose([lossFast, lossTaped]);
      }
      const after = taped!.embedding.dataSync();
      // Every row moves under dense Adam, also the nodes no batch touched (user 1, user 3, …) once a gradient has reached them.
      assert.ok(after.every((v, k) => layers === 0 || Math.abs(v - before[k]!) > 1e-4), 'the taped steps moved every row');
      assertClose(fast!.embedding.dataSync(), after, { atol: 1e-5, rtol: 1e-4 }, 'table after three steps');
      assertClose(tf.tidy(() => fast!.forward().dataSync()), tf.tidy(() => taped!.forward().dataSync()), { atol: 1e-5, rtol: 1e-4 }, 'representations');
      // The host export (what training's validation and the artifact read) equals forward() and foldInBasis() through TensorFlow.
      const host = fast!.exportHost!();
      assertClose(host.representations, tf.tidy(() => fast!.forward().dataSync()), { atol: 1e-6, rtol: 1e-5 }, 'exported representations');
      const basis = fast!.foldInBasis!();
      assert.equal(host.basis!.userLayers.length, layers);
      basis.userLayers.forEach((layer, k) => assertClose(host.basis!.userLayers[k]!, layer, { atol: 1e-6, rtol: 1e-5 }, `user layer ${k}`));
      for (const m of [fast!, taped!]) m.dispose();
      optFast.embedding.dispose();
      optTaped.embedding.dispose();
    });
  }

  const sheafCases = [
    { layerLearningRate: undefined, layers: 2, recompute: false },
    { layerLearningRate: 0.02, layers: 2, recompute: false },
    { layerLearningRate: 0.02, layers: 3, recompute: true },
  ];
  for (const { layerLearningRate, layers, recompute } of sheafCases) {
    it(`sheaf-scalar, ${layers} layers, ${layerLearningRate ? 'a second Adam for the layers' : 'one Adam'}${recompute ? ', forward recomputed in the backward pass' : ''}: three native steps give the taped steps' losses, table and layer weights`, () => {
      const config = { type: 'sheaf-scalar' as const, dim: 6, layers, seed: 4, initStd: 0.5, mapBias: 0.5, stepSize: 0.7 };
      const [fast, taped] = [1, 2].map(() => createGraphModel(config, graph));
      const budget = setSheafKeptLayersBytes(recompute ? 0 : 2 ** 31);
      assert.ok(canStepSheafNatively(fast!), 'the native kernels compiled: this test checks them');
      const [optFast, optTaped] = [createOptimizers(0.05, layerLearningRate), createOptimizers(0.05, layerLearningRate)];
      const before = taped!.variables.map((v) => v.dataSync().slice());
      const ids = batchNodeIds(5, users, positives, negatives);
      for (let step = 0; step < 3; step++) {
        const lossFast = trainStep(fast!, optFast, users, positives, negatives, decay);
        const lossTaped = tf.tidy(() => {
          const loss = batchLoss(taped!, ids, users.length, decay);
          if (!optTaped.layers) return optTaped.embedding.minimize(loss, true, taped!.variables)!;
          const { value, grads } = tf.variableGrads(loss, taped!.variables);
          const named = Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
          optTaped.embedding.applyGradients(named.filter((g) => g.name === taped!.embedding.name));
          optTaped.layers.applyGradients(named.filter((g) => g.name !== taped!.embedding.name));
          return value;
        });
        assertClose(lossFast.dataSync(), lossTaped.dataSync(), { atol: 1e-6, rtol: 1e-5 }, `loss at step ${step + 1}`);
        tf.dispose([lossFast, lossTaped]);
      }
      const after = taped!.variables.map((v) => v.dataSync().slice());
      // learnSrc, learnDst, kernel, bias, learnBias of each layer, after the table: every one moved, so each gradient is checked.
      assert.equal(after.length, 1 + layers * 5);
      after.forEach((values, k) => assert.ok(values.some((v, i) => Math.abs(v - before[k]![i]!) > 1e-4), `the taped steps moved variable ${k}`));
      fast!.variables.forEach((v, k) => assertClose(v.dataSync(), after[k]!, { atol: 2e-5, rtol: 1e-4 }, `variable ${k} after three steps`));
      const forward = tf.tidy(() => taped!.forward().dataSync());
      assertClose(tf.tidy(() => fast!.forward().dataSync()), forward, { atol: 2e-5, rtol: 1e-4 }, 'representations');
      assertClose(fast!.exportHost!().representations, tf.tidy(() => fast!.forward().dataSync()), { atol: 1e-6, rtol: 1e-5 }, 'exported representations');
      setSheafKeptLayersBytes(budget);
      for (const m of [fast!, taped!]) m.dispose();
      for (const o of [optFast, optTaped]) { o.embedding.dispose(); o.layers?.dispose(); }
    });
  }

  it('mf-bpr: reading the model after off-tape steps sees the trained table', () => {
    const model = createGraphModel({ type: 'mf-bpr', dim: 6, seed: 4 }, graph);
    const optimizer = createOptimizers(0.05);
    const before = model.embedding.dataSync().slice();
    trainStep(model, optimizer, users, positives, negatives, decay).dispose();
    const viaEmbedding = model.embedding.dataSync().slice();
    assert.ok(viaEmbedding.some((x, k) => Math.abs(x - before[k]!) > 1e-3), 'the step moved the table');
    trainStep(model, optimizer, users, positives, negatives, decay).dispose();
    const viaForward = tf.tidy(() => model.forward().clone());
    assert.ok(viaForward.dataSync().some((x, k) => Math.abs(x - viaEmbedding[k]!) > 1e-3), 'forward() sees the second step');
    assertClose(model.variables[0]!.dataSync(), viaForward.dataSync(), { atol: 0, rtol: 0 }, 'variables');
    viaForward.dispose();
    model.dispose();
    optimizer.embedding.dispose();
  });
});
