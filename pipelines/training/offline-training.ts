import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkModelSpec, createCtrModel } from '../../models/create-model.js';
import { coverageProblems, fieldCoverage } from '../../features/spec/field-coverage.js';
import { ValidationError } from '../../infra/errors.js';
import { saveCtrModel } from '../../models/ctr-artifact/model-artifact.js';
import { CtrScorer } from '../../models/ctr/ctr-scorer.js';
import { calibration, type CtrMetrics } from '../../models/metrics/classification.js';
import { evaluate } from '../../models/train/evaluate.js';
import { trainCtr, trainFixedEpochs, type StepProgress, type EpochResult, type TrainResult } from '../../models/train/train-ctr.js';
import { FeatureEncoder } from '../../features/spec/feature-encoder.js';
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
  /** Told when the retrain on train ∪ validation starts (epochs, examples). */
  onRetrain?: (epochs: number, examples: number) => void;
  /** Refuse (instead of warning about) fields with an empty vocabulary or missing in more than maxMissingShare of training rows. @default false */
  strict?: boolean;
  /** @default 0.5 */
  maxMissingShare?: number;
}

export interface RetrainSummary { epochs: number; examples: number; trainLoss: number; test: CtrMetrics }

export interface SplitSummary { description: string; train: number; validation: number; test: number }

export interface OfflineTrainingResult {
  artifactDir: string;
  version: number;
  reportFile: string;
  train: TrainResult;
  /** Test metrics of the published model: the retrained one unless training.retrain is false. */
  test: CtrMetrics;
  /** Test metrics of the early-stopped model (trained on train only). */
  earlyStoppedTest: CtrMetrics;
  retrained: RetrainSummary | null;
  testInt8: CtrMetrics;
  parameters: { dense: number; embedding: number };
  split: SplitSummary;
}

/**
 * Source → point-in-time examples → train with early stopping on validation
 * → retrain on train ∪ validation for the chosen epoch count (unless
 * training.retrain is false) → test → artifact + HTML report.
 */
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
  const early = createCtrModel(splits.encoder, { ...config.model, seed });
  if (early.config.mbaLambda > 0) early.fitRowCounts([train]);
  const result = trainCtr(early, train, validation, { ...config.training, seed, onStep: options.onStep, onEpoch: options.onEpoch });
  const { probabilities: earlyProbabilities, ...earlyTest } = evaluate(early, test);

  // The validation tail chose the epoch count; the published model is retrained on train ∪ validation for that many epochs.
  let model = early;
  let published = { test, probabilities: earlyProbabilities, metrics: earlyTest };
  let retrained: RetrainSummary | null = null;
  if (config.training.retrain) {
    const all = [...splits.train, ...splits.validation];
    const encoder = FeatureEncoder.fit(spec, all);
    const allData = encoder.encode(all);
    model = createCtrModel(encoder, { ...config.model, seed });
    if (model.config.mbaLambda > 0) model.fitRowCounts([allData]);
    options.onRetrain?.(result.bestEpoch, all.length);
    const run = trainFixedEpochs(model, allData, result.bestEpoch, { batchSize: config.training.batchSize, seed, onStep: options.onStep });
    const retest = encoder.encode(splits.test);
    const { probabilities, ...metrics } = evaluate(model, retest);
    published = { test: retest, probabilities, metrics };
    retrained = { epochs: result.bestEpoch, examples: all.length, trainLoss: run.epochs.at(-1)?.trainLoss ?? Number.NaN, test: metrics };
    early.dispose();
  }
  const testMetrics = published.metrics;

  const { dir, manifest } = await saveCtrModel(model, {
    registry: options.registry,
    name: config.name,
    metrics: { ...prefixed('validation', result.best), ...prefixed('test', testMetrics), ...(retrained ? prefixed('early_stopped_test', earlyTest) : {}) },
    trainedUntil: trainedUntil(splits),
    extra: { bestEpoch: result.bestEpoch, source: config.source, retrained: retrained !== null },
    training: { ...trainingRecord(config.source, seed, config.training, result), split, ...(retrained ? { retrained: { epochs: retrained.epochs, examples: retrained.examples } } : {}) },
  });
  // int8's cost is measured on the saved model's tables, after the artifact is written.
  CtrScorer.fromModel(model, 'int8');
  const { probabilities: _q, ...testInt8 } = evaluate(model, published.test);

  const reportFile = path.join(dir, '..', `report-v${manifest.version}.html`);
  await mkdir(path.dirname(reportFile), { recursive: true });
  await writeFile(reportFile, trainingReport({
    name: `${config.name} v${manifest.version}`, artifactDir: dir, epochs: result.epochs, bestEpoch: result.bestEpoch,
    test: testMetrics, calibration: calibration(published.test.labels, published.probabilities),
  }));
  const parameters = model.parameterCount();
  model.dispose();
  return { artifactDir: dir, version: manifest.version, reportFile, train: result, test: testMetrics, earlyStoppedTest: earlyTest, retrained, testInt8, parameters, split };
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
