import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { syntheticEvents } from '../../../../features/datasets/synthetic.js';
import type { Example } from '../../../../features/samples/example.js';
import { PointInTimeSampleBuilder } from '../../../../features/samples/point-in-time-builder.js';
import { FeatureEncoder } from '../../../../features/spec/feature-encoder.js';
import { loadFeatureSpec } from '../../../../features/spec/feature-spec.js';
import { ArtifactError } from '../../../../models/artifact/read-artifact.js';
import { createCtrModel } from '../../../../models/create-model.js';
import { resolveDeltaChain, saveCtrDelta } from '../../../../models/ctr-artifact/delta-artifact.js';
import { loadCtrModel, saveCtrModel } from '../../../../models/ctr-artifact/model-artifact.js';
import { editManifest, flipFirstByte, tempRegistry } from '../../../helpers/registry-fixtures.js';
import { SMALL, STREAM_SPEC } from '../../pipelines/streaming/stream-fixtures.js';

describe('delta artifacts: publish the rows changed since the parent, load by resolving the chain', function () {
  this.timeout(120_000);
  const spec = loadFeatureSpec(STREAM_SPEC);
  const builder = new PointInTimeSampleBuilder(spec);
  const examples: Example[] = [];
  for (const e of syntheticEvents(SMALL)) examples.push(...builder.push(e));
  const encoder = FeatureEncoder.fit(spec, []);
  const batches = Array.from({ length: 12 }, (_, i) => encoder.encode(examples.slice(i * 200, i * 200 + 200)));
  const config = {
    type: 'din' as const, seed: 2, learningRate: 0.005, embeddingLearningRate: 0.02, mlpUnits: [16], attentionUnits: [8],
    embedding: { kind: 'unified' as const, rows: 8192, chunkDim: 4, defaultChunks: 2, dynamic: { admitAfter: 1, expireAfter: 6 } },
  };

  /** v1 full, v2 and v3 deltas, each after four more training steps; returns the registry and the live model. */
  async function publishChain() {
    const registry = tempRegistry();
    const model = createCtrModel(encoder, config);
    model.layout.tables.forEach((t) => t.trackChanges());
    const take = () => model.layout.tables.map((t) => t.takeChangedRows());
    for (const b of batches.slice(0, 4)) model.trainStep(b);
    await saveCtrModel(model, { registry, name: 'din-stream' });
    take();
    for (const b of batches.slice(4, 8)) model.trainStep(b);
    const changed2 = take();
    await saveCtrDelta(model, { registry, name: 'din-stream', parent: 1, changedRows: changed2 });
    for (const b of batches.slice(8, 12)) model.trainStep(b);
    const changed3 = take();
    const v3 = await saveCtrDelta(model, { registry, name: 'din-stream', parent: 2, changedRows: changed3 });
    return { registry, model, v3, changed: [changed2[0]!.length, changed3[0]!.length] };
  }

  const dir = (registry: string, v: number) => path.join(registry, 'din-stream', `v00000${v}`);

  it('a delta holds only the changed rows; the chain loads to exactly the live model', async () => {
    const { model, v3, changed } = await publishChain();
    const table = model.layout.tables[0]!;
    assert.equal(v3.manifest.kind, 'delta');
    assert.equal(v3.manifest.extra.parent, 2);
    assert.equal(v3.manifest.extra.base, 1);
    assert.equal(v3.manifest.extra.depth, 2);
    assert.ok(changed.every((n) => n > 0 && n < table.stats()!.liveRows + 200), `changed rows ${changed}`);
    assert.ok(changed.every((n) => n < table.rows / 4), 'far fewer rows than the table');
    const chain = await resolveDeltaChain(v3.dir);
    assert.deepEqual(chain.map((a) => a.manifest.version), [1, 2, 3]);
    const { model: loaded } = await loadCtrModel(v3.dir, { trainable: true });
    const restored = loaded.layout.tables[0]!;
    assert.deepEqual(restored.weights, table.weights);
    assert.deepEqual(restored.dynamicState!.rowIds.filter((_, r) => table.dynamicState!.live[r]), table.dynamicState!.rowIds.filter((_, r) => table.dynamicState!.live[r]));
    assert.deepEqual(restored.dynamicState!.live, table.dynamicState!.live);
    assert.deepEqual(restored.stats()!.liveRows, table.stats()!.liveRows);
    const probe = encoder.encode(examples.slice(2400, 2600));
    const { model: served } = await loadCtrModel(v3.dir);
    // Frozen on both sides: a trainable model's predict gives unseen ids fresh rows.
    for (const t of model.layout.tables) t.freeze();
    assert.deepEqual(served.predict(probe), model.predict(probe));
  });

  it('refuses a chain with a corrupt, missing or replaced link, naming it', async () => {
    const corrupt = await publishChain();
    flipFirstByte(path.join(dir(corrupt.registry, 2), 'delta-rows.bin'));
    await assert.rejects(loadCtrModel(dir(corrupt.registry, 3)), (e: Error) => e instanceof ArtifactError && /v3: parent v2 cannot be used \(broken delta chain\).*delta-rows\.bin fails its sha256 check/.test(e.message));

    const replaced = await publishChain();
    editManifest(dir(replaced.registry, 1), (m) => ({ ...m, createdAt: '2000-01-01T00:00:00.000Z' }));
    await assert.rejects(loadCtrModel(dir(replaced.registry, 3)), /din-stream v2: parent v1's manifest is not the one this delta was made from/);

    const corruptBase = await publishChain();
    const ckpt = path.join(dir(corruptBase.registry, 1), 'embeddings.ckpt');
    const bytes = readFileSync(ckpt);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(ckpt, bytes);
    await assert.rejects(loadCtrModel(dir(corruptBase.registry, 2)), /v2: parent v1 cannot be used.*embeddings\.ckpt fails its sha256 check/);
    // The full version itself still refuses to load, and v3's own check is untouched by v1 only through the chain.
    await assert.rejects(loadCtrModel(dir(corruptBase.registry, 3)), ArtifactError);
  });

  it('refuses a delta whose model.json differs from its parent', async () => {
    const { registry, model } = await publishChain();
    const other = createCtrModel(encoder, { ...config, mlpUnits: [8] });
    await assert.rejects(saveCtrDelta(other, { registry, name: 'din-stream', parent: 3, changedRows: other.layout.tables.map(() => new Int32Array(0)) }), /model\.json differs from parent v3/);
    model.dispose();
  });
});
