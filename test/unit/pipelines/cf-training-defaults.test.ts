import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cfConfigFile, loadCfConfig } from '../../../pipelines/training/cf-config.js';
import { runCfTraining, streamTrainingDefaults } from '../../../pipelines/training/cf-training.js';

describe('train-cf training defaults by source', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cf-defaults-'));
    // 12 users × 6 positives over 20 items, one per minute.
    const rows = ['user_id,item_id,timestamp'];
    for (let u = 0; u < 12; u++) for (let k = 0; k < 6; k++) rows.push(`u${u},i${(u * 3 + k * 7) % 20},${60_000 * (u * 6 + k + 1)}`);
    writeFileSync(path.join(dir, 'interactions.csv'), `${rows.join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('MovieLens keeps uniform negatives and every check; logged sources get popularity negatives and minEpochs 40', () => {
    assert.deepEqual(streamTrainingDefaults({ kind: 'movielens', minRating: 4 }), {});
    for (const source of [{ kind: 'jsonl', file: 'x.jsonl', positives: {} }, { kind: 'interactions', file: 'x.csv', minWeight: 1 }, { kind: 'clickhouse', positives: {} }] as const) {
      assert.deepEqual(streamTrainingDefaults(source as never), { negativeExponent: 0.75, minEpochs: 40 }, source.kind);
    }
  });

  it('runCfTraining applies them under the config, and a config value wins', async () => {
    const base = loadCfConfig(cfConfigFile('mf-bpr'));
    const source = { kind: 'interactions' as const, file: path.join(dir, 'interactions.csv'), minWeight: 1 };
    const registry = path.join(dir, 'registry');
    const stream = await runCfTraining({ model: 'mf-bpr', registry, config: base, source, epochs: 2, name: 'defaults-a' });
    assert.equal(stream.config.training.negativeExponent, 0.75);
    assert.equal(stream.config.training.minEpochs, 40);
    assert.equal(stream.bestEpoch, 2);
    const own = await runCfTraining({ model: 'mf-bpr', registry, config: { ...base, training: { ...base.training, negativeExponent: 0, minEpochs: 1 } }, source, epochs: 2, name: 'defaults-b' });
    assert.equal(own.config.training.negativeExponent, 0);
    assert.equal(own.config.training.minEpochs, 1);
  });
});
