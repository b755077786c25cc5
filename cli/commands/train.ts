import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { loadTrainConfig, type TrainConfig } from '../../pipelines/training/train-config.js';
import { runOfflineTraining, type OfflineTrainingResult } from '../../pipelines/training/offline-training.js';
import { formatTable } from '../format-table.js';
import { integer, positiveInt } from '../options.js';
import { trainingProgress } from '../training-progress.js';

export interface TrainFlags {
  config: string;
  seed?: number;
  registry: string;
  epochs?: number;
  batchSize?: number;
  json?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a CTR model from a config file, evaluate it on the test split, publish it to the registry')
    .requiredOption('--config <file>', 'training config (JSON: source, features, model, training); e.g. configs/models/ml100k-din.json')
    .option('--seed <n>', 'random seed (overrides model.seed; same seed, same model)', integer('seed'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--epochs <n>', 'maximum epochs (overrides training.epochs)', positiveInt('epochs'))
    .option('--batch-size <n>', 'mini-batch size (overrides training.batchSize)', positiveInt('batch-size'))
    .option('--json', 'print the result as one JSON line as well')
    .action(async (flags: TrainFlags) => {
      const config = withOverrides(loadTrainConfig(flags.config), flags);
      const result = await trainWithProgress(config, flags.registry, flags.seed);
      printTrainingResult(config.name, result);
      if (flags.json) console.log(JSON.stringify(trainingSummary(config.name, result)));
    });
}

function withOverrides(config: TrainConfig, flags: TrainFlags): TrainConfig {
  return {
    ...config,
    training: { ...config.training, ...(flags.epochs ? { epochs: flags.epochs } : {}), ...(flags.batchSize ? { batchSize: flags.batchSize } : {}) },
  };
}

export async function trainWithProgress(config: TrainConfig, registry: string, seed?: number): Promise<OfflineTrainingResult> {
  const progress = trainingProgress(config.name, config.training.epochs);
  try {
    return await runOfflineTraining(config, { registry, seed, onStep: progress.onStep, onEpoch: progress.onEpoch });
  } finally {
    progress.stop();
  }
}

export function printTrainingResult(name: string, r: OfflineTrainingResult): void {
  const best = r.train.best;
  console.log(formatTable(['model', 'split', 'AUC', 'GAUC', 'logloss', 'ECE', 'examples'], [
    [name, `validation (epoch ${r.train.bestEpoch})`, best.auc, best.gauc, best.logloss, best.ece, best.examples],
    [name, 'test', r.test.auc, r.test.gauc, r.test.logloss, r.test.ece, r.test.examples],
    [name, 'test, int8 tables', r.testInt8.auc, r.testInt8.gauc, r.testInt8.logloss, r.testInt8.ece, r.testInt8.examples],
  ]));
  console.log(`parameters: ${r.parameters.embedding} embedding + ${r.parameters.dense} dense; ${Math.round(r.train.examplesPerSecond)} training examples/s`);
  console.log(`artifact: ${r.artifactDir}`);
  console.log(`report:   ${r.reportFile}`);
}

export function trainingSummary(name: string, r: OfflineTrainingResult): Record<string, unknown> {
  return {
    model: name, version: r.version, artifact: r.artifactDir, report: r.reportFile, bestEpoch: r.train.bestEpoch,
    validation: r.train.best, test: r.test, testInt8: r.testInt8, parameters: r.parameters, examplesPerSecond: r.train.examplesPerSecond,
  };
}
