import type { Command } from 'commander';
import { defaultRegistryDir } from '../../infra/config.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../../models/graph/graph-config.js';
import { oneOf, positiveInt } from '../options.js';

interface TrainCfFlags {
  model: GraphModelType;
  seed?: number;
  epochs?: number;
  registry: string;
  config?: string;
  dataDir?: string;
  progress: boolean;
}

export function registerTrainCf(program: Command): void {
  program
    .command('train-cf')
    .description('train a retrieval graph model (MF-BPR, LightGCN, sheaf GNN) on the MovieLens-100K CF protocol and publish its user/item embeddings')
    .requiredOption('--model <type>', `model: ${GRAPH_MODEL_TYPES.join(' | ')}`, oneOf('model', GRAPH_MODEL_TYPES))
    .option('--seed <n>', 'model seed (default: the config\'s)', positiveInt('seed'))
    .option('--epochs <n>', 'maximum epochs (default: the config\'s); early stopping on validation NDCG@20 may stop sooner', positiveInt('epochs'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--config <file>', 'training config (default: configs/models/ml100k-<model>.json)')
    .option('--data-dir <dir>', 'MovieLens-100K folder (default: env ML100K_DIR or ../shared/data/ml-100k)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: TrainCfFlags) => {
      // Loaded on use, so TensorFlow loads only for commands that need it.
      const { cfTrainingWithProgress, printCfResult, cfSummary } = await import('../runs/cf-run.js');
      const result = await cfTrainingWithProgress({
        model: flags.model,
        registry: flags.registry,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
        ...(flags.config ? { configFile: flags.config } : {}),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      }, flags.progress);
      printCfResult(result);
      console.log(JSON.stringify(cfSummary(flags.model, result)));
    });
}
