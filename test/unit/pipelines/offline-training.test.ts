import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runOfflineTraining } from '../../../pipelines/training/offline-training.js';
import { runEvaluation } from '../../../pipelines/training/offline-evaluation.js';
import { TrainConfigSchema } from '../../../pipelines/training/train-config.js';
import { readArtifact } from '../../../models/artifact/read-artifact.js';
import { readTrainingRecord } from '../../../pipelines/training/training-record.js';

describe('offline training → artifact → evaluation from the artifact alone', function () {
  this.timeout(120_000);
  const registry = mkdtempSync(path.join(tmpdir(), 'recsys-registry-'));
  const config = TrainConfigSchema.parse({
    name: 'tiny-din',
    source: { kind: 'synthetic', events: 5000, users: 150, items: 250, seed: 5 },
    features: path.resolve('configs/features/synthetic.json'),
    model: { type: 'din', seed: 1, embeddingLearningRate: 1e-2, mbaLambda: 0.01 },
    training: { epochs: 2, batchSize: 128, patience: 2 },
  });

  it('evaluates the published model to the same test metrics, float and int8, and records its learning curves', async () => {
    const trained = await runOfflineTraining(config, { registry });
    assert.equal(trained.version, 1);
    const float = await runEvaluation(trained.artifactDir, { reportFile: path.join(registry, 'eval.html') });
    assert.ok(Math.abs(float.metrics.auc - trained.test.auc) < 1e-6, `${float.metrics.auc} vs ${trained.test.auc}`);
    assert.ok(Math.abs(float.metrics.logloss - trained.test.logloss) < 1e-6);
    assert.equal(float.metrics.examples, trained.test.examples);
    const int8 = await runEvaluation(trained.artifactDir, { precision: 'int8' });
    assert.ok(Math.abs(int8.metrics.auc - trained.testInt8.auc) < 1e-6, `${int8.metrics.auc} vs ${trained.testInt8.auc}`);

    const record = await readTrainingRecord(await readArtifact(trained.artifactDir));
    assert.equal(record.epochs.length, trained.train.epochs.length);
    assert.equal(record.bestEpoch, trained.train.bestEpoch);
    assert.deepEqual(record.source, config.source);
    const html = readFileSync(float.reportFile!, 'utf8');
    assert.match(html, /Learning curves/);
    assert.match(html, /Calibration \(test\)/);
  });

  it('without the retrain, the early-stopped model is published: its validation split evaluates to the best epoch\'s figures', async () => {
    const trained = await runOfflineTraining({ ...config, training: { ...config.training, retrain: false } }, { registry, seed: 2 });
    assert.equal(trained.version, 2);
    assert.equal(trained.retrained, null);
    assert.deepEqual(trained.test, trained.earlyStoppedTest);
    const validation = await runEvaluation(trained.artifactDir, { split: 'validation' });
    assert.ok(Math.abs(validation.metrics.auc - trained.train.best.auc) < 1e-6, `${validation.metrics.auc} vs best ${trained.train.best.auc}`);
  });

  it('the retrain publishes a model trained on train ∪ validation for the early-stopped epoch count, with both test figures', async () => {
    const trained = await runOfflineTraining(config, { registry, seed: 3 });
    assert.ok(trained.retrained);
    assert.equal(trained.retrained.epochs, trained.train.bestEpoch);
    assert.equal(trained.retrained.examples, trained.split.train + trained.split.validation);
    assert.equal(trained.test.examples, trained.earlyStoppedTest.examples);
    assert.notEqual(trained.test.auc, trained.earlyStoppedTest.auc, 'a different model');
    const record = await readTrainingRecord(await readArtifact(trained.artifactDir));
    assert.deepEqual(record.retrained, { epochs: trained.train.bestEpoch, examples: trained.retrained.examples });
    const evaluated = await runEvaluation(trained.artifactDir);
    assert.ok(Math.abs(evaluated.metrics.auc - trained.test.auc) < 1e-6, 'the artifact is the retrained model');
  });
});
