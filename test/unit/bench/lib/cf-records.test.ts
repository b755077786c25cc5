import assert from 'node:assert/strict';
import { resumable, type CfRunRecord } from '../../../../bench/lib/cf-records.js';
import { resolveCfConfig } from '../../../../pipelines/training/cf-training.js';
import { cfConfigFile, loadCfConfig } from '../../../../pipelines/training/cf-config.js';

describe('ml100k-cf: which saved records a run resumes', () => {
  const config = loadCfConfig(cfConfigFile('sheaf-scalar'));
  const wanted = resolveCfConfig({ model: 'sheaf-scalar', seed: 2, config });
  const record = (saved: unknown, retrained = true): CfRunRecord => ({
    variant: 'sheaf-scalar', model: 'sheaf-scalar', seed: 2, config: saved, bestEpoch: 10, epochsRun: 20, secondsPerEpoch: 1,
    validation: { 'ndcg@20': 0.15 }, test: { 'ndcg@20': 0.16 }, artifactDir: '/tmp/x', ...(retrained ? { earlyStoppedTest: { 'ndcg@20': 0.15 } } : {}),
  });

  it('resumes a record trained with the same settings (a round trip through JSON, as saved)', () => {
    assert.equal(resumable(record(JSON.parse(JSON.stringify(wanted))), wanted), true);
  });

  it('ignores the config\'s name and description (documentation only)', () => {
    assert.equal(resumable(record({ ...wanted, name: 'other', description: 'rewritten' }), wanted), true);
  });

  it('runs again when the config file was re-tuned since the record was made', () => {
    const older = { ...wanted, training: { ...wanted.training, learningRate: wanted.training.learningRate / 2 } };
    assert.equal(resumable(record(older), wanted), false);
    assert.equal(resumable(record({ ...wanted, model: { ...wanted.model, seed: 3 } }), wanted), false, 'another seed');
    assert.equal(resumable(record(resolveCfConfig({ model: 'sheaf-scalar', seed: 2, config, epochs: 7 })), wanted), false, 'another --max-epochs');
  });

  it('runs again a record from before the retrain (its test is the early-stopped model\'s)', () => {
    assert.equal(resumable(record(wanted, false), wanted), false);
  });
});
