import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { loadTrainConfig, type TrainConfig } from '../../pipelines/training/train-config.js';
import { ValidationError } from '../../infra/errors.js';
import { fraction, integer, oneOf, positiveInt, timestamp } from '../options.js';

export interface TrainFlags {
  config: string;
  seed?: number;
  registry: string;
  epochs?: number;
  batchSize?: number;
  json?: boolean;
  source?: 'movielens' | 'jsonl' | 'synthetic' | 'clickhouse';
  file?: string;
  dir?: string;
  from?: number;
  to?: number;
  historyFrom?: number;
  strict?: boolean;
  maxMissing: number;
  retrain: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a CTR model from a config file, evaluate it on the test split, publish it to the registry; the split used is printed first (a "table" source trains on your own CSV/TSV, JSON-lines or libFM files: docs/guides/your-own-data.md)')
    .requiredOption('--config <file>', 'training config (JSON: source, features, model, training); e.g. configs/models/ml100k-din.json')
    .option('--seed <n>', 'random seed (overrides model.seed; same seed, same model)', integer('seed'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--epochs <n>', 'maximum epochs (overrides training.epochs)', positiveInt('epochs'))
    .option('--batch-size <n>', 'mini-batch size (overrides training.batchSize)', positiveInt('batch-size'))
    .option('--source <kind>', "replace the config's source: movielens, jsonl, synthetic or clickhouse (the offline store)", oneOf('source', ['movielens', 'jsonl', 'synthetic', 'clickhouse'] as const))
    .option('--dir <path>', 'MovieLens folder (--source movielens)')
    .option('--file <path>', 'JSONL events file (--source jsonl)')
    .option('--from <time>', 'first event time of the examples, epoch ms or ISO date (--source clickhouse)', timestamp('from'))
    .option('--to <time>', 'end of the examples, exclusive (--source clickhouse)', timestamp('to'))
    .option('--history-from <time>', 'earlier events that only fill histories (--source clickhouse)', timestamp('history-from'))
    .option('--strict', 'refuse to train when a field has an empty vocabulary or is missing in more than --max-missing of training rows (default: a warning naming the field and its source)')
    .option('--max-missing <share>', 'share of training rows a field may miss before it is reported', fraction('max-missing'), 0.5)
    .option('--no-retrain', 'publish the early-stopped model (trained on train only) instead of retraining on train ∪ validation for the chosen epoch count (config training.retrain)')
    .option('--json', 'print the result as one JSON line as well')
    .action(async (flags: TrainFlags) => {
      const config = withOverrides(loadTrainConfig(flags.config), flags);
      // Loaded on use: TensorFlow loads only for commands that need it, so `doctor` can report a broken install.
      const { trainWithProgress, printTrainingResult, trainingSummary } = await import('../runs/training-run.js');
      const result = await trainWithProgress(config, flags.registry, flags.seed, { strict: flags.strict ?? false, maxMissingShare: flags.maxMissing });
      printTrainingResult(config.name, result);
      if (flags.json) console.log(JSON.stringify(trainingSummary(config.name, result)));
    });
}

function withOverrides(config: TrainConfig, flags: TrainFlags): TrainConfig {
  return {
    ...config,
    source: sourceFromFlags(flags) ?? config.source,
    training: { ...config.training, ...(flags.epochs ? { epochs: flags.epochs } : {}), ...(flags.batchSize ? { batchSize: flags.batchSize } : {}), ...(flags.retrain === false ? { retrain: false } : {}) },
  };
}

function sourceFromFlags(flags: TrainFlags): TrainConfig['source'] | undefined {
  const rangeFlags = flags.from !== undefined || flags.to !== undefined || flags.historyFrom !== undefined;
  if (rangeFlags && flags.source !== 'clickhouse') throw new ValidationError('--from, --to and --history-from need --source clickhouse');
  switch (flags.source) {
    case undefined: return undefined;
    case 'movielens': return { kind: 'movielens', ...(flags.dir ? { dir: flags.dir } : {}) };
    case 'jsonl':
      if (!flags.file) throw new ValidationError('--source jsonl needs --file <path>');
      return { kind: 'jsonl', file: flags.file };
    case 'synthetic': return { kind: 'synthetic', events: 200_000, users: 2000, items: 5000, seed: 42 };
    case 'clickhouse': return { kind: 'clickhouse', from: flags.from, to: flags.to, historyFrom: flags.historyFrom };
  }
}
