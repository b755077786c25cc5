import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkModelSpec, createCtrModel } from '../../models/create-model.js';
import { coverageProblems, fieldCoverage } from '../../features/spec/field-coverage.js';
import { ValidationError } from '../../infra/errors.js';
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
  /** Told what the split is before training starts (it is also in the training record). */
  onSplit?: (split: SplitSummary) => void;
  /** Refuse (instead of warning about) fields with an empty vocabulary or missing in more than maxMissingShare of training rows. @default false */
  strict?: boolean;
  /** @default 0.5 */
  maxMissingShare?: number;
}

export interface SplitSummary { description: string; train: number; validation: number; test: number }

export interface OfflineTrainingResult {
  artifactDir: string;
  version: number;
  reportFile: string;
  train: TrainResult;
  test: CtrMetrics;
  testInt8: CtrMetrics;
  parameters: { dense: number; embedding: number };
  split: SplitSummary;
}

/** Source → point-in-time examples → train with early stopping → test → artifact + HTML report. */
export async function runOfflineTraining(config: TrainConfig, options: OfflineTrainingOptions): Promise<OfflineTrainingResult> {
  const seed = options.seed ?? config.model.seed;
  const spec = loadFeatureSpec(config.features);
  checkModelSpec(config.model.type, spec);
  const splits = await loadSplits(config.source, spec);
  const split: SplitSummary = { description: splits.description ?? defaultSplitDescription(config.source.kind), train: splits.train.length, validation: splits.validation.length, test: splits.test.length };
  log.info(split, 'examples built');
  options.onSplit?.(split);
  const train = splits.encoder.encode(splits.train);
  const problems = coverageProblems(fieldCoverage(splits.encoder, train), options.maxMissingShare ?? 0.5);
  if (problems.length > 0 && options.strict) throw new ValidationError(`feature spec ${spec.name} does not fit the data (--strict)`, problems);
  for (const problem of problems) log.warn({ spec: spec.name }, problem);
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
    training: { ...trainingRecord(config.source, seed, config.training, result), split },
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
  return { artifactDir: dir, version: manifest.version, reportFile, train: result, test: testMetrics, testInt8, parameters, split };
}

/** What the built-in sources do, in the words every run prints. */
export function defaultSplitDescription(kind: string): string {
  switch (kind) {
    case 'movielens': return 'MovieLens-100K per user by time: the first 80% of each user\'s ratings train (their last 10% validation), the rest test';
    case 'jsonl': case 'synthetic': case 'clickhouse': return 'by event time: the first 80% of examples train (its last 10% validation), the last 20% test';
    default: return kind;
  }
}

function prefixed(prefix: string, m: CtrMetrics): Record<string, number> {
  return { [`${prefix}_auc`]: m.auc, [`${prefix}_gauc`]: m.gauc, [`${prefix}_logloss`]: m.logloss, [`${prefix}_ece`]: m.ece };
}
