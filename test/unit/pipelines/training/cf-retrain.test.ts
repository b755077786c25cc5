import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cfConfigFile, loadCfConfig } from '../../../../pipelines/training/cf-config.js';
import { runCfTraining } from '../../../../pipelines/training/cf-training.js';
import { loadGraphEmbeddings } from '../../../../models/graph/graph-artifact.js';

describe('train-cf evaluation runs retrain on train ∪ validation', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cf-retrain-'));
    // 30 users × 10 positives over 40 items, one per minute: every user has validation and test positives.
    const rows = ['user_id,item_id,timestamp'];
    for (let u = 0; u < 30; u++) for (let k = 0; k < 10; k++) rows.push(`u${u},i${(u * 3 + k * 7) % 40},${60_000 * (u * 10 + k + 1)}`);
    writeFileSync(path.join(dir, 'interactions.csv'), `${rows.join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = loadCfConfig(cfConfigFile('lightgcn'));
  const run = (retrain: boolean, name: string) => runCfTraining({
    model: 'lightgcn', registry: path.join(dir, 'registry'), name, epochs: 4,
    config: { ...base, training: { ...base.training, retrain, minEpochs: 1, evalEvery: 1 } },
    source: { kind: 'interactions', file: path.join(dir, 'interactions.csv'), minWeight: 1 },
  });

  it('publishes and tests the retrained model, reporting the early-stopped test beside it; --no-retrain publishes the early-stopped one', async () => {
    const retrained = await run(true, 'with-retrain');
    assert.ok(retrained.test && retrained.earlyStoppedTest);
    assert.equal(retrained.test.users, retrained.earlyStoppedTest.users, 'the same test users');
    assert.notEqual(retrained.test['ndcg@20'], retrained.earlyStoppedTest['ndcg@20'], 'a different model');
    const artifact = await loadGraphEmbeddings(retrained.artifactDir);
    assert.equal(artifact.manifest.metrics.test_ndcg_at_20, retrained.test['ndcg@20']);
    assert.equal(artifact.manifest.metrics.early_stopped_test_ndcg_at_20, retrained.earlyStoppedTest['ndcg@20']);
    assert.equal((artifact.manifest.extra as { retrained: boolean }).retrained, true);

    const early = await run(false, 'without-retrain');
    assert.equal(early.earlyStoppedTest, undefined);
    assert.deepEqual(early.test, retrained.earlyStoppedTest, 'the same early-stopped model, tested the same way');
  });
});
