import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tf } from '../../../../infra/tf.js';
import { createRng } from '../../../../features/math/rng.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { GraphModelConfigSchema } from '../../../../models/graph/graph-config.js';
import { exportEmbeddings } from '../../../../models/graph/graph-embeddings.js';
import { loadFoldIn, loadGraphEmbeddings, saveGraphEmbeddings } from '../../../../models/graph/graph-artifact.js';
import { FoldIn } from '../../../../models/graph/fold-in.js';
import { createLightGcn } from '../../../../models/graph/lightgcn.js';
import { assertClose } from '../../../helpers/assert-close.js';

/** A random graph of `users` × `items` with about `perUser` items each. */
function randomInteractions(users: number, items: number, perUser: number, seed: number): { users: Int32Array; items: Int32Array } {
  const rng = createRng(seed);
  const us: number[] = [];
  const is: number[] = [];
  for (let u = 0; u < users; u++) for (let k = 0; k < perUser; k++) { us.push(u); is.push(Math.floor(rng.next() * items)); }
  return { users: Int32Array.from(us), items: Int32Array.from(is) };
}

/**
 * Full LightGCN propagation over the graph with one more item, clicked by
 * `newUsers`, whose layer-0 row is zero and every other row as trained:
 * the row fold-in must reproduce.
 */
function propagatedNewItem(layers: number, newUsers: number[]): { foldIn: Float32Array; full: Float32Array } {
  const numUsers = 12;
  const numItems = 20;
  const base = randomInteractions(numUsers, numItems, 4, 5);
  const config = GraphModelConfigSchema.parse({ type: 'lightgcn', dim: 6, layers, initStd: 0.3, seed: 3 });
  const graph = buildBipartiteGraph(numUsers, numItems, base.users, base.items);
  const trained = createLightGcn(config, graph);
  const exported = exportEmbeddings(trained);
  const foldIn = new FoldIn(exported).item(newUsers)!;

  const withNew = buildBipartiteGraph(numUsers, numItems + 1, Int32Array.from([...base.users, ...newUsers]), Int32Array.from([...base.items, ...newUsers.map(() => numItems)]));
  const full = createLightGcn(config, withNew);
  const rows = trained.embedding.dataSync() as Float32Array;
  const values = new Float32Array((withNew.numNodes) * config.dim);
  values.set(rows); // users, then the old items; the new item (last node) stays zero
  full.embedding.assign(tf.tensor2d(values, [withNew.numNodes, config.dim]));
  const all = exportEmbeddings(full);
  const row = all.items.slice(numItems * config.dim);
  trained.dispose();
  full.dispose();
  return { foldIn, full: row };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let d = 0; d < a.length; d++) { ab += a[d]! * b[d]!; aa += a[d]! ** 2; bb += b[d]! ** 2; }
  return ab / Math.sqrt(aa * bb);
}

describe('fold-in of a new item', () => {
  it('LightGCN with 1 and 2 layers: equals full propagation over the graph with the new node', () => {
    for (const layers of [1, 2]) {
      const { foldIn, full } = propagatedNewItem(layers, [0, 3, 4, 9]);
      assertClose(foldIn, full, { atol: 1e-6, rtol: 1e-5 }, `${layers} layers`);
    }
  });

  it('LightGCN with 3 layers: within the second-order term of full propagation', () => {
    const { foldIn, full } = propagatedNewItem(3, [0, 3, 4, 9]);
    // Layer 3 leaves out how the new edges change the users' other items: measured here, not assumed.
    assert.ok(cosine(foldIn, full) > 0.99, `cosine ${cosine(foldIn, full)}`);
    let err = 0, norm = 0;
    for (let d = 0; d < full.length; d++) { err += (foldIn[d]! - full[d]!) ** 2; norm += full[d]! ** 2; }
    assert.ok(Math.sqrt(err / norm) < 0.1, `relative error ${Math.sqrt(err / norm)}`);
  });

  it('user-mean rule: the users’ mean direction at the trained items’ mean norm; no users → null', () => {
    const foldIn = new FoldIn({ dim: 2, users: Float32Array.from([1, 0, 0, 1, -1, 0]), items: Float32Array.from([3, 4, 0, 10]) });
    assert.equal(foldIn.rule, 'user-mean');
    // mean of (1,0) and (0,1) points along (1,1)/√2; mean item norm (5 + 10) / 2 = 7.5
    assertClose(foldIn.item([0, 1, 1])!, [7.5 / Math.SQRT2, 7.5 / Math.SQRT2], { atol: 1e-5 }, 'vector');
    assert.equal(foldIn.item([]), null);
  });

  it('the artifact carries the LightGCN basis; older or other models fold in by user mean', async () => {
    const registry = await mkdtemp(path.join(tmpdir(), 'fold-in-'));
    try {
      const config = GraphModelConfigSchema.parse({ type: 'lightgcn', dim: 4, layers: 2, seed: 1 });
      const base = randomInteractions(5, 7, 3, 9);
      const model = createLightGcn(config, buildBipartiteGraph(5, 7, base.users, base.items));
      const embeddings = exportEmbeddings(model);
      model.dispose();
      const ids = { userIds: ['a', 'b', 'c', 'd', 'e'], itemIds: ['1', '2', '3', '4', '5', '6', '7'] };
      const saved = await saveGraphEmbeddings({ registry, name: 'g', config, embeddings, ...ids });
      const loaded = await loadGraphEmbeddings(saved.dir);
      assert.equal(loaded.foldInLayers, 2);
      const fromArtifact = await loadFoldIn(loaded);
      assert.equal(fromArtifact.rule, 'propagation');
      assert.deepEqual(fromArtifact.item([1, 4]), new FoldIn(embeddings).item([1, 4]));
      const { basis: _, ...withoutBasis } = embeddings;
      const plain = await loadFoldIn(await loadGraphEmbeddings((await saveGraphEmbeddings({ registry, name: 'g', config, embeddings: withoutBasis, ...ids })).dir));
      assert.equal(plain.rule, 'user-mean');
    } finally {
      await rm(registry, { recursive: true, force: true });
    }
  });
});
