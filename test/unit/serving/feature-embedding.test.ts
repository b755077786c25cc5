import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CtrScorer } from '../../../models/ctr/ctr-scorer.js';
import { loadCtrModel, saveCtrModel } from '../../../models/ctr-artifact/model-artifact.js';
import { RowMask } from '../../../models/ctr/row-mask.js';
import { featureEmbedding } from '../../../serving/feature-embedding.js';
import { tinySplits, trainTinyCtr } from '../../helpers/serving-fixtures.js';

describe('feature embeddings as the model uses them', function () {
  this.timeout(120_000);

  it('Unified Embedding: the field\'s chunks from the shared table, concatenated; a pruned row (OptEmbed row mask) reads as zeros', async () => {
    const model = trainTinyCtr({ embedding: { kind: 'unified', rows: 300, chunkDim: 4, chunks: { item_id: 3 }, defaultChunks: 1 } });
    const item = tinySplits().train[0]!.event.item_id;
    const e = featureEmbedding(model, 'item_id', item);
    assert.equal(e.chunks, 3);
    assert.equal(e.embedding.length, 12);
    const table = model.layout.tables[0]!;
    e.rows.forEach((row, c) => assert.deepEqual(e.embedding.slice(c * 4, c * 4 + 4), Array.from(table.weights.subarray(row * 4, row * 4 + 4))));
    const category = featureEmbedding(model, 'category', 'c1');
    assert.equal(category.embedding.length, 4);

    // Prune the row of the item's first chunk for item_id only.
    const keep = new Map(model.layout.plans.map((p) => [p.name, new Uint8Array(model.layout.tables[p.table]!.rows).fill(1)]));
    keep.get('item_id')![e.rows[0]!] = 0;
    model.useMasking(new RowMask(keep));
    const pruned = featureEmbedding(model, 'item_id', item);
    assert.deepEqual(pruned.pruned, [true, false, false]);
    assert.deepEqual(pruned.embedding.slice(0, 4), [0, 0, 0, 0]);
    assert.deepEqual(pruned.embedding.slice(4), e.embedding.slice(4));

    // Saved and loaded, the mask comes back with the artifact; int8 serves the dequantized rows.
    const registry = mkdtempSync(path.join(tmpdir(), 'feature-embedding-'));
    try {
      const { dir } = await saveCtrModel(model, { registry, name: 'ue' });
      const loaded = (await loadCtrModel(dir)).model;
      assert.deepEqual(featureEmbedding(loaded, 'item_id', item).embedding.slice(0, 4), [0, 0, 0, 0]);
      const int8 = CtrScorer.fromModel(loaded, 'int8');
      const q = featureEmbedding(int8.model, 'item_id', item).embedding;
      q.slice(4).forEach((v, i) => assert.ok(Math.abs(v - e.embedding[4 + i]!) < 0.02 * Math.max(1e-3, Math.abs(e.embedding[4 + i]!)) + 1e-3));
      loaded.dispose();
    } finally {
      rmSync(registry, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('unknown values get the unknown row; unknown fields are refused', () => {
    const model = trainTinyCtr();
    try {
      assert.equal(featureEmbedding(model, 'item_id', 'no-such-item').known, false);
      assert.throws(() => featureEmbedding(model, 'nope', 'x'), /unknown field/);
    } finally {
      model.dispose();
    }
  });
});
