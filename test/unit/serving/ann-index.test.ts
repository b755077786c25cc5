import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRng } from '../../../features/math/rng.js';
import { ExactIndex, HnswIndex, dot, recallAtK } from '../../../serving/ann-index.js';
import { Retrieval } from '../../../serving/model-bundle.js';
import { publishRandomGraph } from '../../helpers/serving-fixtures.js';

/** Clustered item vectors (as trained embeddings are) plus gaussian noise. */
function catalog(n: number, dim: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => rng.normal()));
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const c = centres[r % centres.length]!;
    for (let d = 0; d < dim; d++) out[r * dim + d] = c[d]! * 0.7 + rng.normal() * 0.7;
  }
  return out;
}

describe('retrieval index', function () {
  this.timeout(120_000);
  const dim = 32;
  const items = catalog(5000, dim, 1);
  const queries = catalog(60, dim, 2);
  const exact = new ExactIndex(items, dim);

  it('exact search returns the top k by dot product, best first', () => {
    const q = queries.subarray(0, dim);
    const all = Array.from({ length: exact.size }, (_, r) => ({ r, s: dot(items, r * dim, q, 0, dim) })).sort((a, b) => b.s - a.s);
    const found = exact.search(q, 25);
    assert.deepEqual(found.rows, all.slice(0, 25).map((x) => x.r));
    for (let i = 0; i < 25; i++) assert.ok(Math.abs(found.scores[i]! - all[i]!.s) < 1e-4);
  });

  it('HNSW recall@100 and recall@10 against exact search are ≥ 0.95 at ef = 200', () => {
    const started = performance.now();
    const hnsw = HnswIndex.build(items, dim, { ef: 200, m: 16, efConstruction: 200 });
    const buildMs = performance.now() - started;
    const r100 = recallAtK(hnsw, exact, queries, 100);
    const r10 = recallAtK(hnsw, exact, queries, 10);
    console.log(`      5,000 × ${dim}: build ${buildMs.toFixed(0)} ms, recall@100 ${r100.toFixed(4)}, recall@10 ${r10.toFixed(4)}`);
    assert.ok(r100 >= 0.95, `recall@100 ${r100}`);
    assert.ok(r10 >= 0.95, `recall@10 ${r10}`);
    // Scores are the dot products, best first.
    const q = queries.subarray(0, dim);
    const found = hnsw.search(q, 10);
    found.rows.forEach((row, i) => assert.ok(Math.abs(found.scores[i]! - dot(items, row * dim, q, 0, dim)) < 1e-4));
    assert.deepEqual(found.scores, [...found.scores].sort((a, b) => b - a));
  });

  it('rows added, replaced, removed and restored while serving: both indexes agree with exact search over the live rows', () => {
    const base = catalog(400, 8, 4);
    const extra = catalog(30, 8, 5);
    for (const index of [new ExactIndex(base.slice(), 8), HnswIndex.build(base, 8, { ef: 200 })]) {
      for (let k = 0; k < 30; k++) index.set(400 + k, extra.subarray(k * 8, (k + 1) * 8));
      assert.equal(index.size, 430);
      // A replaced vector: row 405 now points far along the query, so it must come first.
      const q = extra.subarray(0, 8);
      index.set(405, Float32Array.from(q, (x) => x * 100));
      assert.equal(index.search(q, 1).rows[0], 405, index.kind);
      index.remove(405);
      index.remove(17);
      index.set(17, Float32Array.from(q, (x) => x * 200)); // a new vector for a removed row: still removed
      const live = index.search(q, 430);
      assert.equal(live.rows.length, 428, `${index.kind}: every live row, no removed one`);
      assert.ok(!live.rows.includes(405) && !live.rows.includes(17));
      assert.ok(live.rows.includes(429) && live.rows.includes(400), `${index.kind}: added rows are found`);
      index.restore(405);
      assert.equal(index.search(q, 1).rows[0], 405, `${index.kind}: restored`);
      assert.throws(() => index.set(500, q), RangeError);
    }
  });

  it('k larger than ef or than the catalog still works', () => {
    const small = catalog(50, 4, 3);
    const hnsw = HnswIndex.build(small, 4, { ef: 10 });
    assert.equal(hnsw.search(small.subarray(0, 4), 30).rows.length, 30);
    assert.equal(hnsw.search(small.subarray(0, 4), 500).rows.length, 50);
  });
});

describe('retrieval over a graph artifact', function () {
  this.timeout(60_000);
  let registry: string;
  before(() => { registry = mkdtempSync(path.join(tmpdir(), 'retrieval-')); });
  after(() => rmSync(registry, { recursive: true, force: true }));

  it('measures its HNSW recall at load, falls back to exact search below the floor, and filters seen items', async () => {
    const dir = await publishRandomGraph(registry, 'g', { users: 40, items: 300, dim: 8 });
    const served = { model: 'g', version: 1, dir, via: 'latest' as const };
    const options = { ann: 'hnsw' as const, ef: 100, m: 16, itemIdPrefix: 'i', userIdPrefix: 'u' };
    const good = await Retrieval.load(served, options);
    assert.equal(good.index.kind, 'hnsw');
    assert.ok(good.recall >= 0.95, `recall ${good.recall}`);
    const forced = await Retrieval.load(served, { ...options, minRecall: 1.01 });
    assert.equal(forced.index.kind, 'exact');

    const query = good.userVector('u1')!;
    const top = forced.retrieve(query, 10, new Set());
    const filtered = good.retrieve(query, 10, new Set([top[0]!.itemId, top[1]!.itemId]));
    assert.equal(filtered.length, 10);
    assert.ok(!filtered.some((c) => c.itemId === top[0]!.itemId || c.itemId === top[1]!.itemId));
    assert.deepEqual(filtered.slice(0, 8).map((c) => c.itemId), top.slice(2).map((c) => c.itemId));
    assert.equal(good.queryFor('u1', []).source, 'user');
    assert.equal(good.queryFor('stranger', ['i3', 'nope']).source, 'history');
    assert.equal(good.queryFor('stranger', ['nope']).source, 'mean');
  });

  it('adds folded-in items (prefixed ids), keeps trained rows as trained, and takes removed items out of retrieval and lookups', async () => {
    const dir = await publishRandomGraph(registry, 'f', { users: 20, items: 100, dim: 8 });
    const retrieval = await Retrieval.load({ model: 'f', version: 1, dir, via: 'latest' }, { ann: 'hnsw', ef: 100, m: 16, itemIdPrefix: 'i', userIdPrefix: 'u' });
    const query = retrieval.userVector('u1')!;
    const strong = Float32Array.from(query, (x) => x * 50);
    const trained = retrieval.itemVector('i3')!.slice();
    assert.equal(retrieval.addItems(new Map([['new1', strong], ['3', strong], ['bad', new Float32Array(3)]])), 1, 'one new item; a trained one and a wrong-sized vector are left out');
    assert.deepEqual(retrieval.itemVector('i3'), trained);
    assert.equal(retrieval.foldedItems, 1);
    assert.equal(retrieval.retrieve(query, 1, new Set())[0]!.itemId, 'inew1');
    assert.deepEqual(retrieval.itemVector('inew1'), strong);
    retrieval.setCatalog(['new1', '5'], []);
    assert.equal(retrieval.itemVector('inew1'), undefined);
    const all = retrieval.retrieve(query, 1000, new Set()).map((c) => c.itemId);
    assert.equal(all.length, 99, 'every item but the two removed');
    assert.ok(!all.includes('inew1') && !all.includes('i5'));
    // A removed item's vector may still be updated; it stays out until restored.
    retrieval.addItems(new Map([['new1', strong]]));
    assert.ok(!retrieval.retrieve(query, 5, new Set()).some((c) => c.itemId === 'inew1'));
    retrieval.setCatalog([], ['new1']);
    assert.equal(retrieval.retrieve(query, 1, new Set())[0]!.itemId, 'inew1');
  });
});
