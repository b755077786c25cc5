import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { ValidationError } from '../../infra/errors.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../../models/graph/graph-config.js';
import { CfSourceSchema, cfConfigFile, loadCfConfig, type CfConfig, type CfSource } from '../../pipelines/training/cf-config.js';
import { nonNegative, oneOf, positiveInt, timestamp } from '../options.js';
import { registerTrainCfSchedule } from './train-cf-schedule.js';

const SOURCES = ['movielens', 'jsonl', 'interactions', 'clickhouse'] as const;

interface TrainCfFlags {
  model?: GraphModelType;
  seed?: number;
  epochs?: number;
  batch?: number;
  retrain?: boolean;
  registry: string;
  config?: string;
  name?: string;
  source?: (typeof SOURCES)[number];
  file?: string;
  from?: number;
  to?: number;
  minRating?: number;
  minWeight?: number;
  production?: boolean;
  dataDir?: string;
  progress: boolean;
}

export function registerTrainCf(program: Command): void {
  const trainCf = program
    .command('train-cf')
    .description('train a retrieval graph model (MF-BPR, LightGCN, sheaf GNN) on interactions (MovieLens-100K, an events or interactions file, or the offline store) and publish its user/item embeddings')
    .option('--model <type>', `model (required): ${GRAPH_MODEL_TYPES.join(' | ')}`, oneOf('model', GRAPH_MODEL_TYPES))
    .option('--seed <n>', 'model seed (default: the config\'s)', positiveInt('seed'))
    .option('--epochs <n>', 'maximum epochs (default: the config\'s); early stopping on validation NDCG@20 may stop sooner', positiveInt('epochs'))
    .option('--no-retrain', 'evaluation runs: publish and test the early-stopped model instead of the one retrained on train ∪ validation for the chosen epoch count (config training.retrain)')
    .option('--batch <n>', 'BPR triples per training step (default: the config\'s training.batchSize); the learning rate stays the config\'s', positiveInt('batch'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--config <file>', 'training config (default: configs/models/ml100k-<model>.json)')
    .option('--name <name>', 'registry model name (default: the config\'s, e.g. ml100k-lightgcn)')
    .option('--source <kind>', `replace the config's source: ${SOURCES.join(', ')} (the offline store that \`recsys ingest\` fills)`, oneOf('source', SOURCES))
    .option('--file <path>', 'events JSONL (--source jsonl) or a CSV/TSV with the header user_id,item_id[,timestamp][,weight] (--source interactions)')
    .option('--from <time>', 'window start, epoch ms or ISO date (--source clickhouse; default: the first event)', timestamp('from'))
    .option('--to <time>', 'window end, exclusive (--source clickhouse; default: now)', timestamp('to'))
    .option('--min-rating <x>', 'rating events (and MovieLens ratings) with value ≥ x are positives (default 4); clicks and clicked impressions always are', nonNegative('min-rating'))
    .option('--min-weight <x>', 'interactions-file rows with weight ≥ x are positives (default 1)', nonNegative('min-weight'))
    .option('--production', 'train on everything up to the cut-off (epoch count chosen on a validation tail, then retrained on all positives); no test metrics')
    .option('--data-dir <dir>', 'MovieLens-100K folder (default: env ML100K_DIR or ../shared/data/ml-100k)')
    .option('--no-progress', 'no progress bar')
    .addHelpText('after', `
Examples:
  recsys train-cf --model lightgcn                                        MovieLens-100K, evaluated on a test split
  recsys train-cf --model lightgcn --source clickhouse --production --name stream-lightgcn
  recsys train-cf --model mf-bpr --source interactions --file clicks.csv --name shop-mf
  recsys train-cf --model lightgcn --name stream-lightgcn schedule --every 6h --window 30d --promote`)
    .action(async (flags: TrainCfFlags) => {
      if (!flags.model) throw new ValidationError(`train-cf needs --model (${GRAPH_MODEL_TYPES.join(', ')})`);
      const source = sourceFromFlags(flags);
      // Loaded on use, so TensorFlow loads only for commands that need it.
      const { cfTrainingWithProgress, printCfResult, cfSummary } = await import('../runs/cf-run.js');
      const result = await cfTrainingWithProgress({
        model: flags.model,
        registry: flags.registry,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
        ...configFlags(flags),
        ...(flags.name ? { name: flags.name } : {}),
        ...(source ? { source } : {}),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        ...(flags.production ? { production: true } : {}),
      }, flags.progress);
      printCfResult(result);
      console.log(JSON.stringify(cfSummary(flags.model, result)));
    });
  registerTrainCfSchedule(trainCf);
}

/** --config, or with --batch / --no-retrain the config object with those training settings replaced (runCfTraining takes either). */
export function configFlags(flags: Pick<TrainCfFlags, 'model' | 'config' | 'batch' | 'retrain'>): { configFile?: string; config?: CfConfig } {
  if (flags.batch === undefined && flags.retrain !== false) return flags.config ? { configFile: flags.config } : {};
  const base = loadCfConfig(flags.config ?? cfConfigFile(flags.model!));
  return { config: { ...base, training: { ...base.training, ...(flags.batch !== undefined ? { batchSize: flags.batch } : {}), ...(flags.retrain === false ? { retrain: false } : {}) } } };
}

/** The source the flags describe, checked with the config's schema; undefined keeps the config's. */
export function sourceFromFlags(flags: Pick<TrainCfFlags, 'source' | 'file' | 'from' | 'to' | 'minRating' | 'minWeight' | 'dataDir'>): CfSource | undefined {
  const need = (flag: string, ok: boolean, kinds: string) => {
    if (!ok) throw new ValidationError(`${flag} needs --source ${kinds}`);
  };
  need('--from/--to', (flags.from === undefined && flags.to === undefined) || flags.source === 'clickhouse', 'clickhouse');
  need('--file', flags.file === undefined || flags.source === 'jsonl' || flags.source === 'interactions', 'jsonl or interactions');
  need('--min-weight', flags.minWeight === undefined || flags.source === 'interactions', 'interactions');
  need('--min-rating', flags.minRating === undefined || (flags.source !== undefined && flags.source !== 'interactions'), 'movielens, jsonl or clickhouse');
  const positives = flags.minRating !== undefined ? { minRating: flags.minRating } : {};
  const raw = (() => {
    switch (flags.source) {
      case undefined: return undefined;
      case 'movielens': return { kind: 'movielens', ...(flags.dataDir ? { dir: flags.dataDir } : {}), ...positives };
      case 'jsonl':
        if (!flags.file) throw new ValidationError('--source jsonl needs --file <events.jsonl>');
        return { kind: 'jsonl', file: flags.file, positives };
      case 'interactions':
        if (!flags.file) throw new ValidationError('--source interactions needs --file <interactions.csv>');
        return { kind: 'interactions', file: flags.file, ...(flags.minWeight !== undefined ? { minWeight: flags.minWeight } : {}) };
      case 'clickhouse': return { kind: 'clickhouse', ...(flags.from !== undefined ? { from: flags.from } : {}), ...(flags.to !== undefined ? { to: flags.to } : {}), positives };
    }
  })();
  if (raw === undefined) return undefined;
  const parsed = CfSourceSchema.safeParse(raw);
  if (!parsed.success) throw new ValidationError('invalid source flags', parsed.error.issues.map((i) => `${i.path.join('.') || 'source'}: ${i.message}`));
  return parsed.data;
}
