import assert from 'node:assert/strict';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Example } from '../../../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../../../features/samples/point-in-time-builder.js';
import { FeatureEncoder } from '../../../../features/spec/feature-encoder.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { createCtrModel } from '../../../../models/create-model.js';
import { knownItemShare } from '../../../../models/ctr/known-items.js';
import { SMALL, STREAM_SPEC } from '../../pipelines/streaming/stream-fixtures.js';

/** A streaming ranker (hashed ids, dynamic rows) knows the items it trained on, and nothing else, without allocating a row. */
describe('models/ctr/known-items with dynamic-id tables', function () {
  this.timeout(60_000);
  it('counts trained items as known, unseen ids as unknown, and moves no table state', () => {
    const spec = loadFeatureSpec(STREAM_SPEC);
    const builder = new PointInTimeSampleBuilder(spec);
    const examples: Example[] = [];
    for (const e of syntheticEvents(SMALL)) examples.push(...builder.push(e));
    const encoder = FeatureEncoder.fit(spec, []);
    const model = createCtrModel(encoder, {
      type: 'din', seed: 4, learningRate: 0.005, embeddingLearningRate: 0.05, mlpUnits: [16], attentionUnits: [8],
      embedding: { kind: 'unified', rows: 8192, chunkDim: 4, defaultChunks: 2, dynamic: {} },
    });
    try {
      const batch = examples.slice(0, 400);
      model.trainStep(encoder.encode(batch));
      const trained = [...new Set(batch.map((e) => e.event.item_id))];
      const before = model.layout.tables.map((t) => t.stats());
      assert.equal(knownItemShare(model, trained), 1);
      assert.equal(knownItemShare(model, trained.map((id) => `movie-${id}`)), 0);
      assert.deepEqual(model.layout.tables.map((t) => t.stats()), before, 'the check allocates no row');
    } finally {
      model.dispose();
    }
  });
});
