import assert from 'node:assert/strict';
import { configFlags, sourceFromFlags } from '../../../../cli/commands/train-cf.js';
import { cfConfigFile, loadCfConfig } from '../../../../pipelines/training/cf-config.js';
import { duration } from '../../../../cli/options.js';
import { retrainArgs } from '../../../../pipelines/training/retrain-worker.js';

describe('recsys train-cf: source flags, durations, retrain ticks', () => {
  it('builds each source from its flags and refuses flags of another source', () => {
    assert.equal(sourceFromFlags({}), undefined);
    assert.deepEqual(sourceFromFlags({ source: 'interactions', file: 'a.csv', minWeight: 0.5 }), { kind: 'interactions', file: 'a.csv', minWeight: 0.5 });
    assert.deepEqual(sourceFromFlags({ source: 'clickhouse', from: 10, to: 20, minRating: 3 }), {
      kind: 'clickhouse', from: 10, to: 20, positives: { clicks: true, minRating: 3, labelledImpressions: true },
    });
    assert.deepEqual(sourceFromFlags({ source: 'movielens', minRating: 5 }), { kind: 'movielens', minRating: 5 });
    assert.throws(() => sourceFromFlags({ source: 'jsonl' }), /--source jsonl needs --file/);
    assert.throws(() => sourceFromFlags({ source: 'jsonl', file: 'e.jsonl', from: 1 }), /--from\/--to needs --source clickhouse/);
    assert.throws(() => sourceFromFlags({ source: 'clickhouse', file: 'x' }), /--file needs --source jsonl or interactions/);
    assert.throws(() => sourceFromFlags({ source: 'interactions', file: 'a.csv', minRating: 4 }), /--min-rating needs --source movielens, jsonl or clickhouse/);
    assert.throws(() => sourceFromFlags({ source: 'clickhouse', from: 20, to: 10 }), /the window is empty/);
  });

  it('--batch replaces training.batchSize of the shipped or given config and keeps the rest', () => {
    assert.deepEqual(configFlags({ model: 'lightgcn' }), {});
    assert.deepEqual(configFlags({ model: 'lightgcn', config: 'x.json' }), { configFile: 'x.json' });
    const shipped = loadCfConfig(cfConfigFile('lightgcn'));
    assert.notEqual(shipped.training.batchSize, 16384);
    assert.deepEqual(configFlags({ model: 'lightgcn', batch: 16384 }), { config: { ...shipped, training: { ...shipped.training, batchSize: 16384 } } });
    const other = loadCfConfig(cfConfigFile('mf-bpr'));
    assert.deepEqual(configFlags({ model: 'lightgcn', config: cfConfigFile('mf-bpr'), batch: 7 }).config?.training, { ...other.training, batchSize: 7 });
    assert.throws(() => configFlags({ model: 'lightgcn', config: '/nonexistent/cf.json', batch: 7 }), /nonexistent/);
  });

  it('reads durations with units and refuses the rest', () => {
    assert.equal(duration('every')('6h'), 6 * 3_600_000);
    assert.equal(duration('window')('30d'), 30 * 86_400_000);
    assert.equal(duration('every')('1.5s'), 1500);
    for (const bad of ['6', '0h', '-1h', 'h', '6 weeks']) assert.throws(() => duration('every')(bad), /--every must be a positive duration/);
  });

  it('a tick trains on the window ending at its scheduled time', () => {
    assert.deepEqual(retrainArgs({ model: 'lightgcn', name: 'stream-gcn', windowMs: 1000, epochs: 3, promote: true }, 5000, '/r'), [
      'train-cf', '--model', 'lightgcn', '--name', 'stream-gcn', '--source', 'clickhouse', '--production',
      '--from', '4000', '--to', '5000', '--registry', '/r', '--no-progress', '--epochs', '3',
    ]);
  });
});
