import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { FeatureEncoder } from '../../../../features/spec/feature-encoder.js';
import { createCtrModel } from '../../../../models/create-model.js';
import { requestExamples } from '../../../../models/ctr/ctr-scorer.js';
import { embedBatch, listMasks, disposeMasks } from '../../../../models/ctr/embedded-batch.js';
import { layoutIds } from '../../../../models/ctr/embedding-inputs.js';
import { dinBenchSpec, vocabularyOfRows } from '../../../../bench/lib/din-bench-spec.js';

describe('embedded batch: single-valued parts', () => {
  const encoder = new FeatureEncoder(dinBenchSpec('embedded-batch-test', 4), {
    user_id: vocabularyOfRows(12, 'u'), item_id: vocabularyOfRows(20, 'v'), category: vocabularyOfRows(6, 'c'),
  });
  let model: ReturnType<typeof createCtrModel>;
  let masks: ReturnType<typeof listMasks>;
  let embedded: ReturnType<typeof embedBatch>;
  before(() => {
    // Everything the embedding makes is freed with this scope, as a model's tidy frees it. In a
    // hook, not at load time: a scope opened while mocha loads files would take other files' tensors.
    model = createCtrModel(encoder, { type: 'din', seed: 3, embedding: { kind: 'per-field', dim: 8 } });
    tf.engine().startScope();
    const history = ['v1', 'v2', 'v3'].map((item_id, j) => ({ item_id, ts: 100 - j }));
    const batch = encoder.encode(requestExamples({ userId: 'u4', history, candidates: ['v5', 'v6', 'v1'], ts: 200 }, (id) => ({ category: `c${Number(id.slice(1)) % 4}` })));
    const lookup = model.layout.lookup(layoutIds(model.plans, batch));
    masks = listMasks(model.plans, batch);
    const rows = lookup.tables.map((t, i) => tf.tensor2d(t.rows, [t.unique.length, model.layout.tables[i]!.dim]));
    embedded = embedBatch({ plans: model.plans, lookup, rows, masks, size: batch.size, training: false, masking: undefined });
  });
  after(() => {
    tf.engine().endScope();
    disposeMasks(masks);
    model.dispose();
  });

  it('single(name) is part(name) without its width axis: [size, dim], the same values', () => {
    for (const name of ['user_id', 'item_id', 'category']) {
      const flat = embedded.single(name);
      assert.deepEqual(flat.shape, [3, 8], name);
      const part = embedded.part(name);
      assert.deepEqual(part.shape, [3, 1, 8], name);
      assert.deepEqual(Array.from(flat.dataSync()), Array.from(part.dataSync()), name);
    }
    // Each candidate its own row; the user the same row for all three.
    const items = embedded.single('item_id').arraySync() as number[][];
    assert.notDeepEqual(items[0], items[1]);
    const users = embedded.single('user_id').arraySync() as number[][];
    assert.deepEqual(users[0], users[2]);
  });

  it('refuses a list part, and a part the batch does not have', () => {
    assert.throws(() => embedded.single('hist_items'), /hist_items is a list input/);
    assert.throws(() => embedded.single('nope'), /no input part nope/);
  });
});
