import type { TrainConfig } from '../../pipelines/training/train-config.js';
import { runOfflineTraining, type OfflineTrainingOptions, type OfflineTrainingResult } from '../../pipelines/training/offline-training.js';
import { formatTable } from '../output/format-table.js';
import { trainingProgress } from '../output/training-progress.js';

/** Offline training with a progress bar, and its terminal summary (shared by `train` and `start`). */
export async function trainWithProgress(config: TrainConfig, registry: string, seed?: number, checks: Pick<OfflineTrainingOptions, 'strict' | 'maxMissingShare'> = {}): Promise<OfflineTrainingResult> {
  const progress = trainingProgress(config.name, config.training.epochs);
  try {
    return await runOfflineTraining(config, {
      registry, seed, onStep: progress.onStep, onEpoch: progress.onEpoch, ...checks,
      onSplit: (s) => console.error(`${config.name}: ${s.description}: ${s.train} train, ${s.validation} validation, ${s.test} test examples`),
      onRetrain: (epochs, examples) => console.error(`${config.name}: retraining on train ∪ validation (${examples} examples) for the ${epochs} epoch${epochs === 1 ? '' : 's'} early stopping chose`),
    });
  } finally {
    progress.stop();
  }
}

export function printTrainingResult(name: string, r: OfflineTrainingResult): void {
  const best = r.train.best;
  console.log(formatTable(['model', 'split', 'AUC', 'GAUC', 'logloss', 'ECE', 'examples'], [
    [name, `validation (epoch ${r.train.bestEpoch})`, best.auc, best.gauc, best.logloss, best.ece, best.examples],
    ...(r.retrained ? [[name, `test, early-stopped (train only)`, r.earlyStoppedTest.auc, r.earlyStoppedTest.gauc, r.earlyStoppedTest.logloss, r.earlyStoppedTest.ece, r.earlyStoppedTest.examples]] : []),
    [name, r.retrained ? `test (retrained, ${r.retrained.epochs} epochs)` : 'test', r.test.auc, r.test.gauc, r.test.logloss, r.test.ece, r.test.examples],
    [name, 'test, int8 tables', r.testInt8.auc, r.testInt8.gauc, r.testInt8.logloss, r.testInt8.ece, r.testInt8.examples],
  ]));
  console.log(`parameters: ${r.parameters.embedding} embedding + ${r.parameters.dense} dense; ${Math.round(r.train.examplesPerSecond)} training examples/s`);
  console.log(`artifact: ${r.artifactDir}`);
  console.log(`report:   ${r.reportFile}`);
}

export function trainingSummary(name: string, r: OfflineTrainingResult): Record<string, unknown> {
  return {
    model: name, version: r.version, artifact: r.artifactDir, report: r.reportFile, split: r.split, bestEpoch: r.train.bestEpoch,
    validation: r.train.best, test: r.test, earlyStoppedTest: r.earlyStoppedTest, retrained: r.retrained ? { epochs: r.retrained.epochs, examples: r.retrained.examples } : null, testInt8: r.testInt8, parameters: r.parameters, examplesPerSecond: r.train.examplesPerSecond,
  };
}
