import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeArtifact } from '../../../../models/artifact/write-artifact.js';
import { ArtifactError } from '../../../../models/artifact/read-artifact.js';
import { GraphModelConfigSchema } from '../../../../models/graph/graph-config.js';
import { ITEM_EMBEDDINGS_FILE, loadGraphEmbeddings, saveGraphEmbeddings } from '../../../../models/graph/graph-artifact.js';

describe('graph embeddings artifact', () => {
  let registry: string;
  beforeEach(async () => { registry = await mkdtemp(path.join(tmpdir(), 'graph-artifact-')); });
  afterEach(async () => { await rm(registry, { recursive: true, force: true }); });

  const config = GraphModelConfigSchema.parse({ type: 'sheaf-matrix', dim: 4, stalkDim: 2, layers: 2 });
  const embeddings = { dim: 4, users: Float32Array.from({ length: 8 }, (_, i) => i * 0.5 - 1), items: Float32Array.from({ length: 12 }, (_, i) => Math.fround(1 / (i + 1))) };

  it('round-trips embeddings, ids, config and metrics as a versioned artifact', async () => {
    const saved = await saveGraphEmbeddings({ registry, name: 'cf-test', config, embeddings, userIds: ['u7', 'u3'], itemIds: ['i10', 'i20', 'i30'], metrics: { test_ndcg_at_20: 0.2 }, trainedUntil: 5000 });
    assert.match(saved.dir, /cf-test\/v000001$/);
    const loaded = await loadGraphEmbeddings(saved.dir);
    assert.deepEqual(loaded.users, embeddings.users);
    assert.deepEqual(loaded.items, embeddings.items);
    assert.equal(loaded.dim, 4);
    assert.deepEqual(loaded.config, config);
    assert.equal(loaded.userIndex.get('u3'), 1);
    assert.equal(loaded.itemIndex.get('i30'), 2);
    assert.equal(loaded.manifest.modelType, 'graph/sheaf-matrix');
    assert.equal(loaded.manifest.metrics.test_ndcg_at_20, 0.2);
    assert.equal(loaded.manifest.trainedUntil, 5000);
    const second = await saveGraphEmbeddings({ registry, name: 'cf-test', config, embeddings, userIds: ['u7', 'u3'], itemIds: ['i10', 'i20', 'i30'] });
    assert.match(second.dir, /v000002$/);
  });

  it('reads the numeric ids of artifacts written before ids were strings', async () => {
    const saved = await saveGraphEmbeddings({ registry, name: 'cf-test', config, embeddings, userIds: ['7', '3'], itemIds: ['10', '20', '30'] });
    const file = path.join(saved.dir, 'graph.json');
    const graph = JSON.parse(await readFile(file, 'utf8'));
    const old = await writeArtifact(registry, {
      model: 'cf-old', modelType: 'graph/sheaf-matrix',
      files: {
        'graph.json': JSON.stringify({ ...graph, userIds: [7, 3], itemIds: [10, 20, 30] }),
        'user-embeddings.f32': await readFile(path.join(saved.dir, 'user-embeddings.f32')),
        [ITEM_EMBEDDINGS_FILE]: await readFile(path.join(saved.dir, ITEM_EMBEDDINGS_FILE)),
      },
    });
    const loaded = await loadGraphEmbeddings(old.dir);
    assert.deepEqual(loaded.itemIds, ['10', '20', '30']);
    assert.equal(loaded.userIndex.get('3'), 1);
  });

  it('refuses mismatched ids, corrupt files and other model families', async () => {
    await assert.rejects(saveGraphEmbeddings({ registry, name: 'cf-test', config, embeddings, userIds: ['u1'], itemIds: ['i10', 'i20', 'i30'] }), ArtifactError);
    const saved = await saveGraphEmbeddings({ registry, name: 'cf-test', config, embeddings, userIds: ['u7', 'u3'], itemIds: ['i10', 'i20', 'i30'] });
    const file = path.join(saved.dir, ITEM_EMBEDDINGS_FILE);
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    await assert.rejects(loadGraphEmbeddings(saved.dir), /sha256/);
    const other = await writeArtifact(registry, { model: 'ctr', modelType: 'din', files: { 'model.json': '{}' } });
    await assert.rejects(loadGraphEmbeddings(other.dir), /not a graph model/);
  });
});
