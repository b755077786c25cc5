import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import path from 'node:path';
import { ValidationError } from '../../infra/errors.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../../models/graph/graph-config.js';

const positiveInt = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};
const modelType = (value: string): GraphModelType => {
  if (!(GRAPH_MODEL_TYPES as readonly string[]).includes(value)) throw new ValidationError(`--model must be one of ${GRAPH_MODEL_TYPES.join(', ')}, got ${JSON.stringify(value)}`);
  return value as GraphModelType;
};

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
    .requiredOption('--model <type>', `model: ${GRAPH_MODEL_TYPES.join(' | ')}`, modelType)
    .option('--seed <n>', 'model seed (default: the config\'s)', positiveInt('seed'))
    .option('--epochs <n>', 'maximum epochs (default: the config\'s); early stopping on validation NDCG@20 may stop sooner', positiveInt('epochs'))
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', process.env.RECSYS_REGISTRY ?? path.join('var', 'registry'))
    .option('--config <file>', 'training config (default: configs/models/ml100k-<model>.json)')
    .option('--data-dir <dir>', 'MovieLens-100K folder (default: env ML100K_DIR or ../shared/data/ml-100k)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: TrainCfFlags) => {
      const bar = new SingleBar({ format: `${flags.model} [{bar}] epoch {value}/{total} | loss {loss} | val NDCG@20 {ndcg} | {sec}s/epoch`, hideCursor: true }, Presets.shades_classic);
      let started = false;
      // Loaded on use, so TensorFlow loads only for commands that need it.
      const { runCfTraining } = await import('../../pipelines/training/cf-training.js');
      const result = await runCfTraining({
        model: flags.model,
        registry: flags.registry,
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
        ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
        ...(flags.config ? { configFile: flags.config } : {}),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
        onEpoch: (e, total) => {
          if (!flags.progress) return;
          const values = { loss: e.trainLoss.toFixed(4), ndcg: e.validation ? (e.validation['ndcg@20'] ?? NaN).toFixed(4) : '-', sec: e.seconds.toFixed(2) };
          if (!started) { bar.start(total, 0, values); started = true; }
          bar.update(e.epoch, values);
        },
      }).finally(() => { if (started) bar.stop(); });
      const t = result.test;
      const f = (k: string) => (t[k] ?? NaN).toFixed(4);
      console.log(`${result.config.name}: best epoch ${result.bestEpoch} of ${result.epochsRun}, ${result.secondsPerEpoch.toFixed(2)} s/epoch`);
      console.log(`test (${t.users} users): Recall@10 ${f('recall@10')}  Recall@20 ${f('recall@20')}  NDCG@10 ${f('ndcg@10')}  NDCG@20 ${f('ndcg@20')}  P@10 ${f('precision@10')}  F1@10 ${f('f1@10')}`);
      console.log(`artifact: ${result.artifactDir}`);
      console.log(JSON.stringify({ model: flags.model, name: result.config.name, version: result.version, artifact: result.artifactDir, best_epoch: result.bestEpoch, seconds_per_epoch: result.secondsPerEpoch, test: t }));
    });
}
