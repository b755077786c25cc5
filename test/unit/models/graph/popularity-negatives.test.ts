import assert from 'node:assert/strict';
import { createRng } from '../../../../features/math/rng.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import { topK } from '../../../../models/graph/full-ranking.js';
import { samplePopularityTriples } from '../../../../models/graph/popularity-negatives.js';
import { trainGraphModel } from '../../../../models/graph/train-graph.js';

describe('popularity-proportional BPR negatives', () => {
  // 3 users; item 0 has degree 3, item 1 degree 1, items 2..5 degree 0.
  const graph = buildBipartiteGraph(3, 6, Int32Array.from([0, 1, 2, 2]), Int32Array.from([0, 0, 0, 1]));

  it('every training edge once, no negative the user has an edge to', () => {
    const t = samplePopularityTriples(graph, createRng(1), 0.75);
    assert.equal(t.users.length, graph.numEdges);
    const edges = Array.from(t.users, (u, k) => `${u}:${t.positives[k]}`).sort();
    assert.deepEqual(edges, ['0:0', '1:0', '2:0', '2:1']);
    t.users.forEach((u, k) => assert.ok(!graph.userItems[u]!.includes(t.negatives[k]!), `user ${u} drew its own item ${t.negatives[k]}`));
  });

  it('draws negatives ∝ (degree + 1)^exponent among the unseen items', () => {
    // User 0 has item 0: its candidates are items 1 (degree 1, weight 2) and 2..5 (weight 1): P(1) = 2/6 at exponent 1, 1/5 at 0.
    const rng = createRng(2);
    const draws = (exponent: number) => {
      let hits = 0, n = 0;
      for (let r = 0; r < 3000; r++) {
        const t = samplePopularityTriples(graph, rng, exponent);
        t.users.forEach((u, k) => { if (u === 0) { n++; if (t.negatives[k] === 1) hits++; } });
      }
      return hits / n;
    };
    // 3,000 draws: the binomial standard error is < 0.009.
    const [one, zero] = [draws(1), draws(0)];
    assert.ok(Math.abs(one - 2 / 6) < 0.03, `exponent 1: P(item 1) ${one}`);
    assert.ok(Math.abs(zero - 1 / 5) < 0.03, `exponent 0: P(item 1) ${zero}`);
  });

  it('refuses an exponent outside [0, 1]', () => {
    assert.throws(() => samplePopularityTriples(graph, createRng(1), 1.5), /negative exponent must be in \[0, 1\], got 1.5/);
    assert.throws(() => samplePopularityTriples(graph, createRng(1), -0.1), RangeError);
  });
});

/**
 * Exposure-biased clicks: 160 users, 160 items in 4 clusters; items are
 * shown by a Zipf law over a shuffled rank, a user clicks a shown item of
 * its own cluster with probability 0.5 and any other with 0.1, until 16
 * positives. The user's preference is its cluster, but the positives are
 * full of the few most shown items of every cluster. Ranked by a model, the
 * share of the user's top 20 unseen items that are of its own cluster says
 * how much of the score is preference rather than exposure.
 */
describe('popularity negatives take exposure out of the score', function () {
  this.timeout(60_000);
  const rng = createRng(11);
  const users = 160, items = 160, clusters = 4;
  const cluster = (i: number) => i % clusters;
  const rank = Array.from({ length: items }, (_, i) => i);
  for (let i = items - 1; i > 0; i--) { const j = rng.int(i + 1); [rank[i], rank[j]] = [rank[j]!, rank[i]!]; }
  const cdf: number[] = [];
  rank.reduce((total, r, i) => (cdf[i] = total + 1 / (r + 1) ** 1.1), 0);
  const show = () => { const x = rng.next() * cdf.at(-1)!; return cdf.findIndex((c) => c > x); };
  const pu: number[] = [], pi: number[] = [];
  for (let u = 0; u < users; u++) {
    const seen = new Set<number>();
    for (let shown = 0; seen.size < 16 && shown < 100_000; shown++) {
      const i = show();
      if (!seen.has(i) && rng.next() < (cluster(i) === u % clusters ? 0.5 : 0.1)) { seen.add(i); pu.push(u); pi.push(i); }
    }
  }
  const graph = buildBipartiteGraph(users, items, Int32Array.from(pu), Int32Array.from(pi));
  const ownShare = (negativeExponent: number) => {
    const model = createGraphModel({ type: 'mf-bpr', dim: 16, seed: 3 }, graph);
    const result = trainGraphModel(model, graph, { users: new Int32Array(0), items: new Int32Array(0) }, { epochs: 60, batchSize: 256, learningRate: 0.01, decay: 1e-4, patience: 60, negativeExponent, seed: 3 });
    model.dispose();
    const { users: zu, items: zi } = result.embeddings;
    let own = 0;
    for (let u = 0; u < users; u++) {
      const scores = new Float32Array(items);
      for (let i = 0; i < items; i++) {
        let s = 0;
        for (let c = 0; c < 16; c++) s += zu[u * 16 + c]! * zi[i * 16 + c]!;
        scores[i] = graph.userItems[u]!.includes(i) ? -Infinity : s;
      }
      own += topK(scores, 20).filter((i) => cluster(i) === u % clusters).length / 20;
    }
    return own / users;
  };

  it('a larger share of own-cluster items in the top 20 than with uniform negatives', () => {
    const uniform = ownShare(0);
    const popular = ownShare(0.75);
    assert.ok(popular > uniform + 0.05, `own-cluster share of the top 20: ${popular.toFixed(3)} with popularity negatives vs ${uniform.toFixed(3)} uniform`);
  });
});
