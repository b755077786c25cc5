import assert from 'node:assert/strict';
import { createRng } from '../../../../features/math/rng.js';
import type { CfInteractions } from '../../../../features/datasets/movielens-cf.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import { evaluateFullRanking } from '../../../../models/graph/full-ranking.js';
import type { GraphModelOptions } from '../../../../models/graph/graph-config.js';
import { trainGraphModel } from '../../../../models/graph/train-graph.js';

/**
 * 80 users, 80 items in 4 clusters of 20; each user likes items of its own
 * cluster only: 10 train, 2 validation, 3 test. After masking the 12 seen
 * items, a random ranking finds a held-out item in its top 10 with
 * probability ≈ 10/68 per item; a model that learned the clusters ranks its
 * 8 unseen cluster items first, so Recall@10 ≈ 1.
 */
function clusteredData(): { train: CfInteractions; validation: CfInteractions; test: CfInteractions } {
  const rng = createRng(5);
  const parts = { train: [[], []] as number[][], validation: [[], []] as number[][], test: [[], []] as number[][] };
  for (let u = 0; u < 80; u++) {
    const cluster = u % 4;
    const items = Array.from({ length: 20 }, (_, k) => cluster * 20 + k);
    for (let k = items.length - 1; k > 0; k--) { const j = rng.int(k + 1); [items[k], items[j]] = [items[j]!, items[k]!]; }
    items.slice(0, 15).forEach((item, k) => {
      const part = k < 10 ? parts.train : k < 12 ? parts.validation : parts.test;
      part[0]!.push(u); part[1]!.push(item);
    });
  }
  const pack = ([users, items]: number[][]) => ({ users: Int32Array.from(users!), items: Int32Array.from(items!) });
  return { train: pack(parts.train), validation: pack(parts.validation), test: pack(parts.test) };
}

describe('BPR graph models learn on a small clustered graph', function () {
  this.timeout(60_000);
  const data = clusteredData();
  const graph = buildBipartiteGraph(80, 80, data.train.users, data.train.items);
  const exclude = graph.userItems.map((seen, u) => Int32Array.from([...seen, ...Array.from(data.validation.items).filter((_, k) => data.validation.users[k] === u)]).sort());
  const cases: { options: GraphModelOptions; layerLearningRate?: number; name?: string }[] = [
    { options: { type: 'mf-bpr', dim: 16 } },
    { options: { type: 'lightgcn', dim: 16, layers: 2 } },
    { options: { type: 'sheaf-scalar', dim: 16, layers: 2 } },
    { options: { type: 'sheaf-matrix', dim: 16, layers: 2, stalkDim: 2 } },
    { options: { type: 'sheaf-matrix', dim: 16, layers: 2, stalkDim: 4, mapBias: 2, kernelInit: 'identity' }, layerLearningRate: 0.002, name: 'sheaf-matrix (map bias, identity kernel, own layer learning rate)' },
  ];
  for (const { options, layerLearningRate, name } of cases) {
    it(`${name ?? options.type}: loss decreases and test Recall@10 beats a random ranking by far`, () => {
      const model = createGraphModel({ ...options, seed: 3 }, graph);
      const result = trainGraphModel(model, graph, data.validation, { epochs: 40, batchSize: 200, learningRate: 0.02, layerLearningRate, decay: 1e-4, patience: 40, seed: 3 });
      model.dispose();
      const losses = result.epochs.map((e) => e.trainLoss);
      assert.ok(losses.at(-1)! < 0.5 * losses[0]!, `loss ${losses[0]} → ${losses.at(-1)}`);
      const test = evaluateFullRanking(result.embeddings, data.test, exclude, [10]);
      const random = 10 / 68;
      assert.ok(test['recall@10']! > random + 0.5, `Recall@10 ${test['recall@10']} vs random ${random.toFixed(3)}`);
      assert.ok(result.best['ndcg@20']! > 0.5, `validation NDCG@20 ${result.best['ndcg@20']}`);
    });
  }
});
