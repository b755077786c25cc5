import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { defaultMovieLensDir, loadMovieLens } from '../../features/datasets/movielens.js';
import { defaultRegistryDir } from '../../infra/config.js';
import { logger } from '../../infra/logger.js';
import { processCpu } from '../../infra/process-cpu.js';
import { readArtifact } from '../../models/artifact/read-artifact.js';
import { setTfThreads } from '../../infra/tf-threads.js';
import { loadTrainConfig, type TrainConfig } from '../../pipelines/training/train-config.js';
import { formatTable } from '../output/format-table.js';
import { spawnRecsys } from '../runs/recsys-child.js';
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
 * evaluation (float and int8 tables) → metrics table and artifact path; on
 * MovieLens, an OptEmbed-pruned Unified Embedding DIN (small search) and the
 * sheaf GNN's retrieval embeddings with Recall/NDCG train beside it, each in a
 * child process from the start. Then, unless --no-serve, it serves the DIN
 * (ranker) and the sheaf GNN (retrieval) on a local port with no services
 * until SIGINT/SIGTERM (cli/runs/main-job-serve.ts).
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
      const started = Date.now();
      const now = () => (Date.now() - started) / 1000;
      // A child's end is read from its artifact: this process's event loop is
      // busy training while it runs, so its exit is noticed late.
      const publishedAt = async (artifact: string) => (Date.parse((await readArtifact(artifact)).manifest.createdAt) - started) / 1000;
      // Three training processes share the machine: one TensorFlow thread each
      // (the children inherit it) beats two apiece fighting for two cores, and
      // at DIN's batch of 256 a second thread buys a process only ~10%.
      if (!process.env.TF_NUM_INTRAOP_THREADS) setTfThreads(1);
      const din = await chooseDataset(flags);
      const withEpochs = (c: TrainConfig): TrainConfig => (flags.epochs ? { ...c, training: { ...c.training, epochs: flags.epochs } } : c);
      const trainConfig = withEpochs(din);
      // OptEmbed and the sheaf GNN need nothing the DIN step makes: each runs in
      // a process of its own meanwhile (one training process keeps about one
      // core busy), and its report is printed in its place below.
      const side = din.source.kind === 'movielens' ? startSideSteps(flags, din.source.dir ?? flags.dataDir, now()) : null;
      const stopSide = () => { side?.optembed.kill(); side?.sheaf.kill(); };
      process.once('exit', stopSide);
      if (side) {
        console.log(`main job: OptEmbed on ml100k-din-unified (search: ${flags.population} candidates, ${flags.generations} generations) trains in the background (pid ${side.optembed.pid})`);
        console.log(`main job: the sheaf GNN (retrieval embeddings, at most ${flags.cfEpochs} epochs) trains in the background (pid ${side.sheaf.pid})`);
      }
      console.log(`main job: training ${trainConfig.name} on ${describeSource(trainConfig)}`);
      const dinFrom = now();
      const { printTrainingResult, trainingSummary, trainWithProgress } = await import('../runs/training-run.js');
      const result = await trainWithProgress(trainConfig, flags.registry, flags.seed);
      const steps: Record<string, StepSpan> = { din: { from: dinFrom, to: now() } };
      printTrainingResult(trainConfig.name, result);
      const summary: Record<string, unknown> = trainingSummary(trainConfig.name, result);
      let retrieval: { name: string; version: number } | null = null;

      if (side) {
        console.log(`\nmain job: OptEmbed on ml100k-din-unified (search: ${flags.population} candidates, ${flags.generations} generations)`);
        const pruned = await side.optembed.done;
        for (const line of pruned.lines) console.log(line);
        steps.optembed = { from: side.from, to: await publishedAt(pruned.summary.artifact) };
        console.log(`(trained alongside DIN, published ${steps.optembed.to.toFixed(1)} s into the job)`);
        const p = pruned.summary;
        console.log(formatTable(['model', 'embedding parameters', 'dense parameters', 'test AUC'], [
          [`${trainConfig.name} (per-field tables)`, result.parameters.embedding, result.parameters.dense, result.test.auc],
          ['ml100k-din-unified (Unified Embedding, unpruned)', p.parameters.unpruned, '', ''],
          [`${p.model} (pruned)`, p.parameters.pruned, p.parameters.dense, p.test.auc],
        ]));
        summary.optembed = p;

        console.log(`\nmain job: sheaf GNN retrieval embeddings (MovieLens-100K CF protocol, at most ${flags.cfEpochs} epochs)`);
        const sheaf = await side.sheaf.done;
        for (const line of sheaf.lines) console.log(line);
        steps.sheaf = { from: side.from, to: await publishedAt(sheaf.summary.artifact) };
        console.log(`(trained alongside the steps above, published ${steps.sheaf.to.toFixed(1)} s into the job)`);
        summary.sheaf = sheaf.summary;
        retrieval = { name: sheaf.summary.name, version: sheaf.summary.version };
      } else {
        console.log('OptEmbed and the sheaf GNN steps need MovieLens-100K: skipped on the synthetic stream');
      }
      process.off('exit', stopSide);
      const seconds = now();
      // The job's floor on this machine is its CPU time spread over every core: printed so a run shows how far it is from it.
      const cpu = processCpu();
      const cpuSeconds = cpu ? { own: round1(cpu.own), children: round1(cpu.children), total: round1(cpu.own + cpu.children) } : null;
      console.log(`main job finished in ${seconds.toFixed(1)} s${cpuSeconds ? ` (CPU ${cpuSeconds.total} s: this process ${cpuSeconds.own} s, OptEmbed and the sheaf GNN ${cpuSeconds.children} s)` : ''}`);
      console.log(JSON.stringify({ mainJob: { startedAt: new Date(started).toISOString(), seconds, cpuSeconds, steps, ...summary } }));
      if (!flags.serve) return;
      const { serveMainJob } = await import('../runs/main-job-serve.js');
      await serveMainJob({
        registry: flags.registry, ranker: { name: trainConfig.name, version: result.version }, retrieval,
        source: trainConfig.source, features: trainConfig.features, decisionsFile: flags.decisionsFile,
        ...(flags.port !== undefined ? { port: flags.port } : {}),
      });
    });
}

/**
 * Niceness of the sheaf GNN's child: it needs a fifth of the CPU time DIN or
 * OptEmbed need, so it yields to them and all three end together (a step left
 * alone at the end runs on one of the two cores).
 */
const SHEAF_NICENESS = 5;

/** When a step ran, in seconds from the job's start. */
interface StepSpan { from: number; to: number }

interface OptEmbedChildSummary {
  model: string;
  artifact: string;
  version: number;
  test: { auc: number };
  parameters: { unpruned: number; pruned: number; dense: number };
}

/**
 * The steps that need only MovieLens: OptEmbed on the Unified Embedding DIN
 * (its search scaled to --population) and the sheaf GNN, each a `recsys`
 * child reading the folder the DIN step read.
 */
function startSideSteps(flags: StartFlags, dataDir: string, from: number) {
  const shared = [...(flags.seed !== undefined ? ['--seed', String(flags.seed)] : [])];
  const optembed = spawnRecsys<OptEmbedChildSummary>('optembed', [
    '--config', config('ml100k-din-unified'), '--registry', flags.registry, '--json',
    '--population', String(flags.population), '--generations', String(flags.generations),
    '--top-k', String(Math.max(1, Math.ceil(flags.population / 2))), '--mutations', String(flags.population), '--crossovers', String(flags.population),
    ...(flags.epochs ? ['--epochs', String(flags.epochs)] : []), ...shared,
  ], { env: { ML100K_DIR: dataDir } });
  const sheaf = spawnRecsys<{ name: string; version: number; artifact: string }>('train-cf', [
    '--model', 'sheaf-scalar', '--registry', flags.registry, '--epochs', String(flags.cfEpochs), '--data-dir', dataDir, '--no-progress', ...shared,
  ], { priority: SHEAF_NICENESS });
  return { optembed, sheaf, from };
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

const round1 = (x: number) => Math.round(x * 10) / 10;

function describeSource(c: TrainConfig): string {
  switch (c.source.kind) {
    case 'movielens': return `MovieLens-100K (${c.source.dir ?? defaultMovieLensDir()})`;
    case 'jsonl': return c.source.file;
    case 'synthetic': return `the synthetic click stream (${c.source.events} impressions, seed ${c.source.seed})`;
    case 'clickhouse': return 'the ClickHouse offline store';
    case 'table': return c.source.file ?? c.source.files!.train;
  }
}
