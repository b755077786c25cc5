import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { syntheticCtrSplits } from '../../../features/datasets/ctr-sources.js';
import { loadFeatureSpec } from '../../../features/spec/feature-spec.js';
import { createCtrModel } from '../../../models/create-model.js';
import { addMbaGradient } from '../../../models/ctr/mba-regularizer.js';
import { loadCtrModel, saveCtrModel } from '../../../models/ctr-artifact/model-artifact.js';
import { CtrScorer, requestExamples } from '../../../models/ctr/ctr-scorer.js';
import { trainCtr } from '../../../models/train/train-ctr.js';
import { tf } from '../../../infra/tf.js';

const SPEC = path.resolve('configs/features/synthetic.json');

describe('mini-batch aware regularisation', () => {
  it('penalises only the batch rows, each by 1/n_j (hand-computed)', () => {
    // Two rows in the batch (table rows 3 and 0), dim 2; counts n_3 = 4, n_0 = 1; λ = 0.5.
    const rows = Float32Array.from([1, 2, -1, 0.5]);
    const counts = Float32Array.from([1, 9, 9, 4]);
    const grad = new Float32Array(4);
    const penalty = addMbaGradient(0.5, 2, [3, 0], rows, counts, grad);
    assert.ok(Math.abs(penalty - (0.5 * (1 + 4) / 4 + 0.5 * (1 + 0.25) / 1)) < 1e-6);
    assert.deepEqual([...grad], [2 * 0.5 * 1 / 4, 2 * 0.5 * 2 / 4, 2 * 0.5 * -1, 2 * 0.5 * 0.5]);
  });
});

describe('CTR models on a small synthetic stream', function () {
  this.timeout(120_000);
  const splits = syntheticCtrSplits(loadFeatureSpec(SPEC), { events: 6000, users: 200, items: 300, seed: 3 });
  const [train, validation, test] = [splits.train, splits.validation, splits.test].map((x) => splits.encoder.encode(x));

  for (const type of ['lr', 'dnn', 'din'] as const) {
    it(`${type} learns: validation AUC clearly above chance`, () => {
      const model = createCtrModel(splits.encoder, { type, seed: 1, learningRate: 3e-3, embeddingLearningRate: type === 'lr' ? 5e-2 : 1e-2, mbaLambda: type === 'din' ? 0.01 : 0 });
      if (model.config.mbaLambda > 0) model.fitRowCounts([train!]);
      const result = trainCtr(model, train!, validation!, { epochs: 3, batchSize: 128, patience: 3, seed: 1 });
      assert.ok(result.best.auc > 0.6, `${type} validation AUC ${result.best.auc}`);
      assert.ok(result.epochs[result.epochs.length - 1]!.trainLoss < result.epochs[0]!.trainLoss + 0.05);
      model.dispose();
    });
  }

  it('an artifact round trip scores identically; a corrupt one is refused', async () => {
    const model = createCtrModel(splits.encoder, { type: 'din', seed: 2 });
    trainCtr(model, train!, validation!, { epochs: 1, batchSize: 256, seed: 2 });
    const expected = model.predict(test!);
    const registry = mkdtempSync(path.join(tmpdir(), 'registry-'));
    const { dir } = await saveCtrModel(model, { registry, name: 'din-roundtrip' });
    const { model: loaded } = await loadCtrModel(dir);
    assert.deepEqual([...loaded.predict(test!)], [...expected]);

    const scorer = CtrScorer.fromModel(loaded, 'int8');
    const example = splits.test[0]!;
    const scores = scorer.score({ userId: example.event.user_id, user: example.user, history: example.history, candidates: [example.event.item_id, 'never-seen-item'] }, example.itemAttributes);
    assert.equal(scores.length, 2);
    assert.ok(scores.every((p) => p > 0 && p < 1));
    assert.ok(scorer.quantizationError!.every((e) => e.relativeRmse < 0.01));

    const file = path.join(dir, 'dense.bin');
    const bytes = readFileSync(file);
    bytes[10] = bytes[10]! ^ 0x01;
    writeFileSync(file, bytes);
    await assert.rejects(loadCtrModel(dir), /dense\.bin fails its sha256 check/);
    model.dispose();
    loaded.dispose();
    rmSync(registry, { recursive: true, force: true });
  });

  it('a loaded model, once used and disposed, leaves no tensor behind (a server reloads versions for days)', async () => {
    const model = createCtrModel(splits.encoder, { type: 'din', seed: 2 });
    trainCtr(model, train!, validation!, { epochs: 1, batchSize: 256, seed: 2 });
    const registry = mkdtempSync(path.join(tmpdir(), 'registry-'));
    try {
      const { dir } = await saveCtrModel(model, { registry, name: 'din-leak' });
      model.dispose();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        const { model: loaded } = await loadCtrModel(dir);
        loaded.predict(test!);
        loaded.dispose();
        assert.equal(tf.memory().numTensors, before, `load ${i + 1}: ${tf.memory().numTensors - before} tensors left`);
      }
    } finally {
      rmSync(registry, { recursive: true, force: true });
    }
  });

  for (const attentionNorm of ['none', 'length', 'softmax'] as const) {
    it(`DIN (${attentionNorm} attention) scores a request's candidates, which share one history, as it scores each alone`, () => {
      const model = createCtrModel(splits.encoder, { type: 'din', seed: 4, attentionActivation: 'prelu', attentionNorm });
      trainCtr(model, train!, validation!, { epochs: 1, batchSize: 256, seed: 4 });
      const users = splits.test.filter((e) => e.history.length > 3).slice(0, 2);
      const candidates = splits.test.slice(0, 12).map((e) => e.event.item_id);
      // Two users with histories, one with none (a cold-start user).
      const requests = [...users.map((e) => ({ userId: e.event.user_id, user: e.user, history: e.history, candidates })), { userId: 'new-user', history: [], candidates }];
      const attributes = splits.test[0]!.itemAttributes;
      const grouped = requests.flatMap((r) => requestExamples(r, attributes));
      const batched = model.predict(splits.encoder.encode(grouped));
      // Interleaved, no two neighbours share a history: the per-pair path.
      const interleaved = candidates.flatMap((_, c) => requests.map((_, r) => grouped[r * candidates.length + c]!));
      const separately = model.predict(splits.encoder.encode(interleaved));
      interleaved.forEach((example, i) => {
        const alone = model.predict(splits.encoder.encode([example]))[0]!;
        const inBatch = batched[grouped.indexOf(example)]!;
        assert.ok(Math.abs(inBatch - alone) < 1e-5, `shared-history batch ${inBatch} vs alone ${alone}`);
        assert.ok(Math.abs(separately[i]! - alone) < 1e-5, `interleaved batch ${separately[i]} vs alone ${alone}`);
      });
      // One request alone: its run is the whole batch (no slicing).
      const single = model.predict(splits.encoder.encode(requestExamples(requests[0]!, attributes)));
      single.forEach((p, c) => assert.ok(Math.abs(p - batched[c]!) < 1e-5, `one request ${p} vs in a batch of three ${batched[c]}`));
      // The users differ, so the check above compared different histories' scores too.
      assert.notEqual(batched[0], batched[2 * candidates.length]);
      model.dispose();
    });
  }
});
