import assert from 'node:assert/strict';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import { trainGraphModel, type GraphEpochResult } from '../../../../models/graph/train-graph.js';
import { smallCfData } from '../../../helpers/small-cf-data.js';

describe('epoch selection: minEpochs', function () {
  this.timeout(30_000);
  const data = smallCfData();
  const graph = buildBipartiteGraph(40, 40, data.train.users, data.train.items);
  const run = (options: { epochs: number; minEpochs?: number; patience: number }) => {
    const model = createGraphModel({ type: 'mf-bpr', dim: 8, seed: 2 }, graph);
    const epochs: GraphEpochResult[] = [];
    const result = trainGraphModel(model, graph, data.validation, { batchSize: 64, learningRate: 0.01, evalEvery: 2, seed: 2, ...options, onEpoch: (e) => epochs.push(e) });
    model.dispose();
    return { result, epochs };
  };

  it('no validation check before minEpochs: none counts as best, none stops training', () => {
    const { result, epochs } = run({ epochs: 30, minEpochs: 12, patience: 1 });
    assert.deepEqual(epochs.filter((e) => e.validation).map((e) => e.epoch).slice(0, 2), [12, 14]);
    assert.ok(result.bestEpoch >= 12, `best epoch ${result.bestEpoch}`);
    // patience 1 stops at the first check without improvement after the best.
    assert.ok(epochs.length >= 14, `ran ${epochs.length} epochs`);
  });

  it('a run shorter than minEpochs (a production refit) is checked and returned at its last epoch', () => {
    const { result, epochs } = run({ epochs: 5, minEpochs: 40, patience: 1 });
    assert.equal(epochs.length, 5);
    assert.equal(result.bestEpoch, 5);
    assert.deepEqual(epochs.filter((e) => e.validation).map((e) => e.epoch), [5]);
  });

  it('without minEpochs every check counts (the old behaviour)', () => {
    const { epochs } = run({ epochs: 6, patience: 10 });
    assert.deepEqual(epochs.filter((e) => e.validation).map((e) => e.epoch), [2, 4, 6]);
  });
});
