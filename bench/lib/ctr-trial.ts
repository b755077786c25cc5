import type { EncodedBatch } from '../../features/spec/feature-encoder.js';
import { createCtrModel } from '../../models/create-model.js';
import type { CtrModelConfigInput } from '../../models/ctr/ctr-config.js';
import type { FeatureEncoder } from '../../features/spec/feature-encoder.js';
import type { CtrMetrics } from '../../models/metrics/classification.js';
import { evaluate } from '../../models/train/evaluate.js';
import { trainCtr, trainFixedEpochs } from '../../models/train/train-ctr.js';

export interface TrialSplits {
  encoder: FeatureEncoder;
  train: EncodedBatch;
  validation: EncodedBatch;
  test: EncodedBatch;
}

/** What the retrain after early stopping trains and tests on: train ∪ validation, encoded with an encoder fitted on both. */
export interface RetrainSplits {
  encoder: FeatureEncoder;
  trainValidation: EncodedBatch;
  test: EncodedBatch;
}

export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  patience: number;
}

export interface TrialResult {
  test: CtrMetrics;
  validation: CtrMetrics;
  bestEpoch: number;
  epochs: number;
  secondsPerEpoch: number;
  seconds: number;
  parameters: { dense: number; embedding: number };
  /** Test metrics of a fresh model trained on train ∪ validation for bestEpoch epochs (when asked). */
  retrainedTest?: CtrMetrics;
  /** The trained model's memory: its embedding tables (weights + optimizer state, TableMemory) and the process RSS then. */
  memory?: TrialMemory;
}

export interface TrialMemory {
  embeddingWeightBytes: number;
  embeddingTotalBytes: number;
  rssBytes: number;
}

/** Measured on a trained model, before it is disposed. */
export function trialMemory(model: { layout: { tables: readonly { memory(): { weightBytes: number; totalBytes: number } }[] } }): TrialMemory {
  const tables = model.layout.tables.map((t) => t.memory());
  return { embeddingWeightBytes: tables.reduce((n, t) => n + t.weightBytes, 0), embeddingTotalBytes: tables.reduce((n, t) => n + t.totalBytes, 0), rssBytes: process.memoryUsage().rss };
}

/** Trains one CTR configuration with early stopping on validation and measures it on test: one cell of a results table. */
export function runCtrTrial(label: string, splits: TrialSplits, model: CtrModelConfigInput, training: TrainingSettings, seed: number, retrain?: RetrainSplits): TrialResult {
  const started = performance.now();
  const m = createCtrModel(splits.encoder, { ...model, seed });
  try {
    if (m.config.mbaLambda > 0) m.fitRowCounts([splits.train]);
    const t = trainCtr(m, splits.train, splits.validation, {
      ...training, seed,
      onEpoch: (e) => console.log(`  ${label} seed ${seed} epoch ${e.epoch}: train ${e.trainLoss.toFixed(4)} validation AUC ${e.validation.auc.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
    });
    const { probabilities: _p, ...test } = evaluate(m, splits.test);
    return {
      test, validation: t.best, bestEpoch: t.bestEpoch, epochs: t.epochs.length,
      secondsPerEpoch: t.epochs.reduce((a, e) => a + e.seconds, 0) / t.epochs.length,
      seconds: (performance.now() - started) / 1000,
      parameters: m.parameterCount(),
      memory: trialMemory(m),
      ...(retrain ? { retrainedTest: retrainedTest(retrain, model, training, seed, t.bestEpoch) } : {}),
    };
  } finally {
    m.dispose();
  }
}

function retrainedTest(splits: RetrainSplits, model: CtrModelConfigInput, training: TrainingSettings, seed: number, epochs: number): CtrMetrics {
  const m = createCtrModel(splits.encoder, { ...model, seed });
  try {
    if (m.config.mbaLambda > 0) m.fitRowCounts([splits.trainValidation]);
    trainFixedEpochs(m, splits.trainValidation, epochs, { batchSize: training.batchSize, seed });
    const { probabilities: _p, ...test } = evaluate(m, splits.test);
    return test;
  } finally {
    m.dispose();
  }
}
