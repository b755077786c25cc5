import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { defaultRegistryDir } from '../../infra/config.js';
import { logger } from '../../infra/logger.js';
import { loadTrainConfig, type TrainConfig } from '../../pipelines/training/train-config.js';
import { formatTable } from '../output/format-table.js';
import { spawnCfTraining } from '../runs/cf-child.js';
import { integer, nonNegative, positiveInt } from '../options.js';

const log = logger('main-job');
const config = (name: string) => fileURLToPath(new URL(`../../configs/models/${name}.json`, import.meta.url));

interface StartFlags {
  registry: string;
  dataDir: string;
  download: boolean;
  seed?: number;
  epochs?: number;
  generations: number;
  population: number;
  cfEpochs: number;
  serve: boolean;
  port?: number;
  decisionsFile: string;
}

/**
 * The main job on embedded defaults, no services needed: MovieLens-100K (or
 * the synthetic stream when it is absent and cannot be fetched) → DIN →
 * evaluation (float and int8 tables) → metrics table and artifact path; then,
 * on MovieLens, an OptEmbed-pruned Unified Embedding DIN (small search) beside
 * it, and the sheaf GNN's retrieval embeddings with Recall/NDCG (trained in a
 * child process from the start, overlapping the CTR steps). Then,
 * unless --no-serve, it serves the DIN (ranker) and the sheaf GNN (retrieval)
 * on a local port with no services until SIGINT/SIGTERM (cli/main-job-serve.ts).
 */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('the main job: load MovieLens-100K (synthetic data if unavailable), train DIN, evaluate, publish the artifact; then serve it on a local port (no services needed) until SIGINT/SIGTERM')
    .option('--registry <dir>', 'model registry folder (env RECSYS_REGISTRY)', defaultRegistryDir())
    .option('--data-dir <dir>', 'MovieLens-100K folder (env ML100K_DIR)', defaultMovieLensDir())
    .option('--no-download', 'do not fetch MovieLens when missing (use the synthetic stream instead)')
    .option('--seed <n>', 'random seed', integer('seed'))
    .option('--epochs <n>', 'maximum epochs of the CTR models', positiveInt('epochs'))
    .option('--population <n>', 'OptEmbed search: first-generation candidates', positiveInt('population'), 6)
    .option('--generations <n>', 'OptEmbed search: generations', positiveInt('generations'), 3)
    .option('--cf-epochs <n>', 'maximum epochs of the sheaf GNN', positiveInt('cf-epochs'), 60)
    .option('--no-serve', 'exit after training instead of serving the models')
    .option('--port <port>', 'port to serve on (env RECSYS_SERVE_PORT, default 8080; 0 = any free port)', nonNegative('port'))
    .option('--decisions-file <file>', 'where decision records are appended (env RECSYS_DECISIONS_FILE)', process.env.RECSYS_DECISIONS_FILE || 'var/decisions.jsonl')
    .action(async (flags: StartFlags) => {
      const started = performance.now();
      const din = await chooseDataset(flags);
      const withEpochs = (c: TrainConfig): TrainConfig => (flags.epochs ? { ...c, training: { ...c.training, epochs: flags.epochs } } : c);
      const trainConfig = withEpochs(din);
      // The sheaf GNN needs nothing the CTR steps make: it trains in a process
      // of its own meanwhile (one training process leaves much of the second
      // core idle), and its output is shown in its place below.
      const sheafChild = din.source.kind === 'movielens' ? spawnCfTraining([
        '--model', 'sheaf-scalar', '--registry', flags.registry, '--epochs', String(flags.cfEpochs),
        ...(din.source.dir ? ['--data-dir', din.source.dir] : []), ...(flags.seed !== undefined ? ['--seed', String(flags.seed)] : []),
      ]) : null;
      const stopSheaf = () => sheafChild?.kill();
      process.once('exit', stopSheaf);
      if (sheafChild) console.log(`main job: the sheaf GNN (retrieval embeddings, at most ${flags.cfEpochs} epochs) trains in the background (pid ${sheafChild.pid})`);
      console.log(`main job: training ${trainConfig.name} on ${describeSource(trainConfig)}`);
      const { printTrainingResult, trainingSummary, trainWithProgress } = await import('../runs/training-run.js');
      const result = await trainWithProgress(trainConfig, flags.registry, flags.seed);
      printTrainingResult(trainConfig.name, result);
      const summary: Record<string, unknown> = trainingSummary(trainConfig.name, result);
      let retrieval: { name: string; version: number } | null = null;

      if (din.source.kind === 'movielens') {
        const ue = withEpochs({ ...loadTrainConfig(config('ml100k-din-unified')), source: din.source });
        console.log(`\nmain job: OptEmbed on ${ue.name} (search: ${flags.population} candidates, ${flags.generations} generations)`);
        const { optembedWithProgress, printOptEmbedResult, optembedSummary } = await import('../runs/optembed-run.js');
        const pruned = await optembedWithProgress(ue, flags.registry, flags.seed, {
          search: { population: flags.population, generations: flags.generations, topK: Math.max(1, Math.ceil(flags.population / 2)), mutations: flags.population, crossovers: flags.population },
        });
        printOptEmbedResult(pruned);
        console.log(formatTable(['model', 'embedding parameters', 'dense parameters', 'test AUC'], [
          [`${trainConfig.name} (per-field tables)`, result.parameters.embedding, result.parameters.dense, result.test.auc],
          [`${ue.name} (Unified Embedding, unpruned)`, pruned.parameters.unpruned, '', ''],
          [`${pruned.name} (pruned)`, pruned.parameters.pruned, pruned.parameters.dense, pruned.test.auc],
        ]));
        summary.optembed = optembedSummary(pruned);

        console.log(`\nmain job: sheaf GNN retrieval embeddings (MovieLens-100K CF protocol, at most ${flags.cfEpochs} epochs)`);
        const sheaf = await sheafChild!.done;
        for (const line of sheaf.lines) console.log(line);
        console.log(`(trained alongside the steps above in ${sheaf.seconds.toFixed(1)} s)`);
        summary.sheaf = sheaf.summary;
        retrieval = { name: sheaf.summary.name, version: sheaf.summary.version };
      } else {
        console.log('OptEmbed and the sheaf GNN steps need MovieLens-100K: skipped on the synthetic stream');
      }
      process.off('exit', stopSheaf);
      const seconds = (performance.now() - started) / 1000;
      console.log(`main job finished in ${seconds.toFixed(1)} s`);
      console.log(JSON.stringify({ mainJob: { seconds, ...summary } }));
      if (!flags.serve) return;
      const { serveMainJob } = await import('../runs/main-job-serve.js');
      await serveMainJob({
        registry: flags.registry, ranker: { name: trainConfig.name, version: result.version }, retrieval,
        source: trainConfig.source, features: trainConfig.features, decisionsFile: flags.decisionsFile,
        ...(flags.port !== undefined ? { port: flags.port } : {}),
      });
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
    case 'table': return c.source.file ?? c.source.files!.train;
  }
}
