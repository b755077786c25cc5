import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { defaultRegistryDir } from '../../infra/config.js';
import { logger } from '../../infra/logger.js';
import { loadTrainConfig, type TrainConfig } from '../../pipelines/training/train-config.js';
import { integer, positiveInt } from '../options.js';

const log = logger('main-job');
const config = (name: string) => fileURLToPath(new URL(`../../configs/models/${name}.json`, import.meta.url));

interface StartFlags {
  registry: string;
  dataDir: string;
  download: boolean;
  seed?: number;
  epochs?: number;
}

/**
 * The main job on embedded defaults, no services needed: MovieLens-100K (or
 * the synthetic stream when it is absent and cannot be fetched) → DIN →
 * evaluation (float and int8 tables) → metrics table and artifact path.
 */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the main job: load MovieLens-100K (synthetic data if unavailable), train DIN, evaluate, publish the artifact')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--data-dir <dir>', 'MovieLens-100K folder (env ML100K_DIR)', defaultMovieLensDir())
    .option('--no-download', 'do not fetch MovieLens when missing (use the synthetic stream instead)')
    .option('--seed <n>', 'random seed', integer('seed'))
    .option('--epochs <n>', 'maximum epochs', positiveInt('epochs'))
    .action(async (flags: StartFlags) => {
      const started = performance.now();
      const din = await chooseDataset(flags);
      const trainConfig: TrainConfig = flags.epochs ? { ...din, training: { ...din.training, epochs: flags.epochs } } : din;
      console.log(`main job: training ${trainConfig.name} on ${describeSource(trainConfig)}`);
      const { printTrainingResult, trainingSummary, trainWithProgress } = await import('../training-run.js');
      const result = await trainWithProgress(trainConfig, flags.registry, flags.seed);
      printTrainingResult(trainConfig.name, result);
      const seconds = (performance.now() - started) / 1000;
      console.log(`main job finished in ${seconds.toFixed(1)} s`);
      console.log(JSON.stringify({ mainJob: { seconds, ...trainingSummary(trainConfig.name, result) } }));
    });
}

async function chooseDataset(flags: StartFlags): Promise<TrainConfig> {
  try {
    await loadMovieLens(flags.dataDir, { download: flags.download });
    const ml = loadTrainConfig(config('ml100k-din'));
    return { ...ml, source: { kind: 'movielens', dir: flags.dataDir } };
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'MovieLens-100K unavailable: falling back to the synthetic click stream');
    console.log(`MovieLens-100K unavailable (${(error as Error).message}); using the synthetic click stream`);
    return loadTrainConfig(config('synthetic-din'));
  }
}

function describeSource(c: TrainConfig): string {
  switch (c.source.kind) {
    case 'movielens': return `MovieLens-100K (${c.source.dir ?? defaultMovieLensDir()})`;
    case 'jsonl': return c.source.file;
    case 'synthetic': return `the synthetic click stream (${c.source.events} impressions, seed ${c.source.seed})`;
    case 'clickhouse': return 'the ClickHouse offline store';
  }
}
