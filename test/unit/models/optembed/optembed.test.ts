import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../../../infra/tf.js';
import { syntheticCtrSplits } from '../../../../features/datasets/ctr-sources.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { createCtrModel } from '../../../../models/create-model.js';
import { CtrScorer } from '../../../../models/ctr/ctr-scorer.js';
import { loadCtrModel, saveCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import { RowMask } from '../../../../models/ctr/row-mask.js';
import { binaryStep, binaryStepSurrogate } from '../../../../models/optembed/binary-step.js';
import { evolutionarySearch } from '../../../../models/optembed/evolutionary-search.js';
import { runOptEmbed } from '../../../../models/optembed/optembed.js';
import { SupernetMasking } from '../../../../models/optembed/supernet-masking.js';

const SPEC = path.resolve('configs/features/synthetic.json');

describe('OptEmbed: the straight-through row mask', () => {
  it('steps forward and passes the surrogate gradient backward (hand-computed)', () => {
    const x = tf.tensor1d([-1.5, -0.7, -0.1, 0.2, 0.5, 2]);
    const upstream = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    const { value, grads } = tf.valueAndGrads((t) => tf.sum(tf.mul(binaryStep(t), upstream)))([x]);
    assert.equal(value.dataSync()[0], 4 + 5 + 6);
    // Surrogate 2 − 4|x| for |x| ≤ 0.4, 0.4 up to 1, 0 beyond.
    const expected = [0, 2 * 0.4, 3 * (2 - 0.4), 4 * (2 - 0.8), 5 * 0.4, 0];
    [...grads[0]!.dataSync()].forEach((g, i) => assert.ok(Math.abs(g - expected[i]!) < 1e-5, `x[${i}]: ${g} vs ${expected[i]}`));
    assert.equal(binaryStepSurrogate(0), 2);
    assert.equal(binaryStepSurrogate(1.0001), 0);
  });

  it('trains the field threshold through the mask: ∂L/∂t = −Σ_rows surrogate(‖e‖₁ − t)·⟨∂L/∂ẽ, e⟩', () => {
    const splits = syntheticCtrSplits(loadFeatureSpec(SPEC), { events: 300, users: 20, items: 30, seed: 1 });
    const model = createCtrModel(splits.encoder, { type: 'dnn', seed: 1 });
    const masking = new SupernetMasking(model, { alpha: 0, thresholdInit: 0.3, seed: 1 });
    const field = masking.units[0]!.field;
    const t = masking.thresholds.get(field)!;
    const rows = tf.tensor2d([[0.5, -0.2], [0.1, 0.05], [-0.3, 0.9]]);
    const w = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(masking.maskRows(field, rows, new Int32Array(3), true), w)) as ReturnType<typeof tf.scalar>, [t]);
    // Row norms 0.7, 0.15, 1.2; minus t = 0.4, −0.15, 0.9; surrogates 0.4, 1.4, 0.4; ⟨w, e⟩ = 0.1, 0.5, 3.9.
    const expected = -(0.4 * 0.1 + 1.4 * 0.5 + 0.4 * 3.9);
    const got = grads[t.name]!.dataSync()[0]!;
    assert.ok(Math.abs(got - expected) < 1e-5, `∂L/∂t = ${got}, expected ${expected}`);
    // The forward pass zeroes the row under the threshold only.
    const masked = masking.maskRows(field, rows, new Int32Array(3), false).arraySync() as number[][];
    assert.deepEqual(masked[1], [0, 0]);
    assert.ok(Math.abs(masked[0]![0]! - 0.5) < 1e-7 && Math.abs(masked[2]![1]! - 0.9) < 1e-6);
    model.dispose();
  });
});

describe('OptEmbed: evolutionary search', () => {
  const max = [8, 8, 4, 6];
  // Best at (5, 2, 4, 1): a fitness the search must climb towards.
  const fitness = (c: Int32Array) => -((c[0]! - 5) ** 2 + (c[1]! - 2) ** 2 + (c[2]! - 4) ** 2 + (c[3]! - 1) ** 2);
  const options = { population: 12, generations: 8, topK: 4, mutations: 8, crossovers: 8, mutationProbability: 0.3, seed: 7 };

  it('is deterministic under a seed and respects the constraint', () => {
    const budget = (c: Int32Array) => c.reduce((a, b) => a + b, 0) <= 14;
    const a = evolutionarySearch(max, fitness, options, budget);
    const b = evolutionarySearch(max, fitness, options, budget);
    assert.deepEqual([...a.best], [...b.best]);
    assert.deepEqual(a.history, b.history);
    assert.ok(budget(a.best));
    assert.ok(a.history.every((v, i) => i === 0 || v >= a.history[i - 1]!), 'the best never gets worse');
    const other = evolutionarySearch(max, fitness, { ...options, seed: 8 }, budget);
    assert.ok(other.evaluated > 0);
  });

  it('finds the optimum of a small space and refuses an impossible budget', () => {
    const found = evolutionarySearch(max, fitness, { ...options, generations: 20 });
    assert.deepEqual([...found.best], [5, 2, 4, 1]);
    assert.throws(() => evolutionarySearch(max, fitness, options, () => false), /no candidate satisfies the constraint/);
  });
});

describe('OptEmbed: all three stages and the pruned artifact', function () {
  this.timeout(300_000);
  const splits = syntheticCtrSplits(loadFeatureSpec(SPEC), { events: 4000, users: 150, items: 200, seed: 5 });
  const [train, validation, test] = [splits.train, splits.validation, splits.test].map((x) => splits.encoder.encode(x));
  const search = { population: 6, generations: 2, topK: 3, mutations: 3, crossovers: 3, mutationProbability: 0.3 };

  for (const embedding of [{ kind: 'per-field' as const, dim: 8 }, { kind: 'unified' as const, rows: 300, chunkDim: 4, chunks: {}, defaultChunks: 3 }]) {
    it(`${embedding.kind}: prunes within the budget, and the artifact scores exactly as the model that made it`, async () => {
      const result = runOptEmbed(splits.encoder, { type: 'din', seed: 3, embedding, learningRate: 3e-3, embeddingLearningRate: 1e-2 }, train!, validation!, {
        alpha: 1e-3, training: { epochs: 1, batchSize: 256, patience: 1 }, search, maxEmbeddingFraction: 0.6,
      });
      const { model } = result;
      assert.ok(result.parameters.pruned <= result.parameters.unpruned);
      assert.ok(result.parameters.pruned <= 0.6 * result.parameters.unpruned, `${result.parameters.pruned} of ${result.parameters.unpruned}`);
      if (embedding.kind === 'per-field') {
        // Per-field tables are retrained at the searched widths, with the supernet's row mask.
        for (const f of result.fields) assert.equal(model.layout.tables.find((t) => t.name === f.field)!.dim, f.units);
        assert.ok(model.masking instanceof RowMask);
      } else {
        // The shared table is retrained with the searched chunk counts, resized to their keys.
        for (const f of result.fields) assert.equal(model.layout.plans.find((p) => p.name === f.field)!.chunks, f.units);
        assert.ok(model.layout.tables[0]!.rows < 300);
        assert.equal(model.masking, undefined);
      }
      assert.equal(model.parameterCount().embedding, result.parameters.pruned);
      assert.ok(result.fields.every((f) => f.sparsity >= 0 && f.sparsity < 1));

      const registry = mkdtempSync(path.join(tmpdir(), 'registry-'));
      const { dir } = await saveCtrModel(model, { registry, name: `optembed-${embedding.kind}` });
      const { model: loaded } = await loadCtrModel(dir);
      assert.equal(loaded.masking instanceof RowMask, embedding.kind === 'per-field');
      assert.deepEqual([...loaded.predict(test!)], [...model.predict(test!)]);
      const scorer = CtrScorer.fromModel((await loadCtrModel(dir)).model);
      const example = splits.test[0]!;
      const request = { userId: example.event.user_id, user: example.user, history: example.history, candidates: [example.event.item_id] };
      assert.deepEqual([...scorer.score(request, example.itemAttributes)], [...CtrScorer.fromModel(model).score(request, example.itemAttributes)]);
      model.dispose();
      loaded.dispose();
    });
  }

  it('a row mask round-trips through JSON and refuses a layout it does not fit', () => {
    const keep = new Map([['a', Uint8Array.from([1, 0, 1, 1, 0, 0, 0, 0, 1])]]);
    const mask = RowMask.fromJSON(JSON.parse(JSON.stringify(new RowMask(keep).toJSON())));
    assert.deepEqual([...mask.keep.get('a')!], [...keep.get('a')!]);
    const json = new RowMask(keep).toJSON();
    json.fields.a!.kept = 5;
    assert.throws(() => RowMask.fromJSON(json), /keeps a different number of rows/);
    const model = createCtrModel(splits.encoder, { type: 'dnn', seed: 1 });
    assert.throws(() => mask.check(model.layout), /row mask does not fit/);
    model.dispose();
  });
});
