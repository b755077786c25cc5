import assert from 'node:assert/strict';
import { tf } from '../../../../infra/tf.js';
import { buildBipartiteGraph } from '../../../../models/graph/bipartite-graph.js';
import { createGraphModel } from '../../../../models/graph/create-graph-model.js';
import { exportEmbeddings } from '../../../../models/graph/graph-embeddings.js';
import type { GraphModelType } from '../../../../models/graph/graph-config.js';
import { hostTable, isTableOnly, restoreTable, snapshotTable } from '../../../../models/graph/host-table.js';
import { createOptimizers, trainGraphModel, trainStep } from '../../../../models/graph/train-graph.js';
import { smallCfData } from '../../../helpers/small-cf-data.js';

describe('trainGraphModel returns the best epoch', function () {
  this.timeout(60_000);
  const data = smallCfData();
  const graph = buildBipartiteGraph(40, 40, data.train.users, data.train.items);
  const train = (type: GraphModelType, epochs: number) => {
    const model = createGraphModel({ type, dim: 8, layers: 2, seed: 2 }, graph);
    const result = trainGraphModel(model, graph, data.validation, { epochs, batchSize: 64, learningRate: 0.05, evalEvery: 1, patience: epochs, seed: 2 });
    model.dispose();
    return result;
  };

  for (const type of ['mf-bpr', 'lightgcn', 'sheaf-scalar'] as GraphModelType[]) {
    it(`${type}: the returned embeddings (and fold-in basis) are those of the best check, not of the last epoch`, () => {
      const long = train(type, 12);
      assert.ok(long.bestEpoch < long.epochs.length, `best epoch ${long.bestEpoch} of ${long.epochs.length}: the case needs a later, worse epoch`);
      // The same run stopped at the best epoch: its last epoch is the best one's state.
      const short = train(type, long.bestEpoch);
      assert.deepEqual(short.best, long.best);
      assert.deepEqual(long.embeddings.users, short.embeddings.users);
      assert.deepEqual(long.embeddings.items, short.embeddings.items);
      assert.equal(long.embeddings.basis === undefined, type !== 'lightgcn');
      assert.deepEqual(long.embeddings.basis, short.embeddings.basis);
    });
  }
});

describe('host table: the variable is released while the host copy leads', () => {
  const graph = buildBipartiteGraph(5, 4, Int32Array.from([0, 0, 1, 2, 2, 3, 4]), Int32Array.from([0, 1, 1, 2, 3, 0, 2]));
  const users = Int32Array.from([0, 2, 0]);
  const positives = Int32Array.from([1, 3, 0]);
  const negatives = Int32Array.from([2, 1, 3]);

  for (const type of ['mf-bpr', 'lightgcn'] as GraphModelType[]) {
    it(`${type}: no TensorFlow copy of the table between off-tape steps; reading the model makes it, with the host values and the same name`, () => {
      const start = tf.memory().numTensors;
      const optimizer = createOptimizers(0.05);
      // Adam's two β-power scalars.
      const before = tf.memory().numTensors;
      const model = createGraphModel({ type, dim: 6, layers: 2, seed: 2 }, graph);
      assert.equal(tf.memory().numTensors, before + 1, 'the variable, and no initial tensor beside it');
      const name = model.embedding.name;
      const step = () => tf.dispose(trainStep(model, optimizer, users, positives, negatives, 0.01));
      step();
      // Only MF-BPR and the native LightGCN step train off the tape; without the kernels LightGCN keeps its variable.
      const offTape = type === 'mf-bpr' || model.exportHost !== undefined;
      if (offTape) assert.equal(tf.memory().numTensors, before, 'the variable is released');
      step();
      const host = hostTable(model).values.slice();
      assert.deepEqual(model.embedding.dataSync(), host);
      assert.equal(model.embedding.name, name);
      assert.equal(model.variables[0], model.embedding);
      step();
      if (offTape) assert.equal(tf.memory().numTensors, before, 'released again by the next step');
      assert.notDeepEqual(model.embedding.dataSync(), host);
      model.dispose();
      assert.equal(tf.memory().numTensors, before, 'nothing left after dispose');
      optimizer.embedding.dispose();
      assert.equal(tf.memory().numTensors, start);
    });

    it(`${type}: snapshotTable / restoreTable put the table back, whichever copy leads`, () => {
      const model = createGraphModel({ type, dim: 6, layers: 2, seed: 2 }, graph);
      const initial = snapshotTable(model)!;
      const optimizer = createOptimizers(0.05);
      tf.dispose(trainStep(model, optimizer, users, positives, negatives, 0.01));
      const trained = exportEmbeddings(model);
      const copy = snapshotTable(model)!;
      tf.dispose(trainStep(model, optimizer, users, positives, negatives, 0.01));
      assert.notDeepEqual(snapshotTable(model), copy);
      restoreTable(model, copy);
      assert.deepEqual(exportEmbeddings(model), trained);
      restoreTable(model, initial);
      assert.deepEqual(model.embedding.dataSync(), initial);
      model.dispose();
      optimizer.embedding.dispose();
    });
  }

  it('only MF-BPR and LightGCN are table-only (the sheaf\'s layers have weights of their own: trainGraphModel keeps its export)', () => {
    for (const type of ['mf-bpr', 'lightgcn', 'sheaf-scalar', 'sheaf-matrix'] as GraphModelType[]) {
      const model = createGraphModel({ type, dim: 6, layers: 1, seed: 2, stalkDim: 2 }, graph);
      assert.equal(isTableOnly(model), type === 'mf-bpr' || type === 'lightgcn', type);
      model.dispose();
    }
  });
});
