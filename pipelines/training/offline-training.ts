import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createCtrModel } from '../../models/create-model.js';
import { saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { CtrScorer } from '../../models/ctr/ctr-scorer.js';
import { calibration, type CtrMetrics } from '../../models/metrics/classification.js';
import { evaluate } from '../../models/train/evaluate.js';
import { trainCtr, type StepProgress, type EpochResult, type TrainResult } from '../../models/train/train-ctr.js';
import { logger } from '../../infra/logger.js';
import { trainingReport } from '../reports/training-report.js';
import { loadFeatureSpec } from '../../features/spec/feature-spec.js';
import { loadSplits, trainedUntil } from './load-splits.js';
import type { TrainConfig } from './train-config.js';
import { trainingRecord } from './training-record.js';

const log = logger('offline-training');

export interface OfflineTrainingOptions {
  registry: string;
  /** Overrides the config's model seed. */
  seed?: number;
  onStep?: (p: StepProgress) => void;
  onEpoch?: (e: EpochResult) => void;
}

export interface OfflineTrainingResult {
  artifactDir: string;
  version: number;
  reportFile: string;
  train: TrainResult;
  test: CtrMetrics;
  testInt8: CtrMetrics;
  parameters: { dense: number; embedding: number };
}

/** Source → point-in-time examples → train with early stopping → test → artifact + HTML report. */
export async function runOfflineTraining(config: TrainConfig, options: OfflineTrainingOptions): Promise<OfflineTrainingResult> {
  const seed = options.seed ?? config.model.seed;
  const splits = await loadSplits(config.source, loadFeatureSpec(config.features));
  log.info({ train: splits.train.length, validation: splits.validation.length, test: splits.test.length }, 'examples built');
  const train = splits.encoder.encode(splits.train);
  const validation = splits.encoder.encode(splits.validation);
  const test = splits.encoder.encode(splits.test);
  const model = createCtrModel(splits.encoder, { ...config.model, seed });
  if (model.config.mbaLambda > 0) model.fitRowCounts([train]);
  const result = trainCtr(model, train, validation, { ...config.training, seed, onStep: options.onStep, onEpoch: options.onEpoch });
  const { probabilities, ...testMetrics } = evaluate(model, test);

  const { dir, manifest } = await saveCtrModel(model, {
    registry: options.registry,
    name: config.name,
    metrics: { ...prefixed('validation', result.best), ...prefixed('test', testMetrics) },
    trainedUntil: trainedUntil(splits),
    extra: { bestEpoch: result.bestEpoch, source: config.source },
    training: trainingRecord(config.source, seed, config.training, result),
  });
  // int8's cost is measured on the saved model's tables, after the artifact is written.
  CtrScorer.fromModel(model, 'int8');
  const { probabilities: _q, ...testInt8 } = evaluate(model, test);

  const reportFile = path.join(dir, '..', `report-v${manifest.version}.html`);
  await mkdir(path.dirname(reportFile), { recursive: true });
  await writeFile(reportFile, trainingReport({
    name: `${config.name} v${manifest.version}`, artifactDir: dir, epochs: result.epochs, bestEpoch: result.bestEpoch,
    test: testMetrics, calibration: calibration(test.labels, probabilities),
  }));
  const parameters = model.parameterCount();
  model.dispose();
  return { artifactDir: dir, version: manifest.version, reportFile, train: result, test: testMetrics, testInt8, parameters };
}

function prefixed(prefix: string, m: CtrMetrics): Record<string, number> {
  return { [`${prefix}_auc`]: m.auc, [`${prefix}_gauc`]: m.gauc, [`${prefix}_logloss`]: m.logloss, [`${prefix}_ece`]: m.ece };
}
