// Training speed of the retrieval graph models (MF-BPR, LightGCN, sheaf
// scalar, sheaf d×d) with their shipped configs (configs/models/ml100k-*.json):
//  - MovieLens-100K CF protocol: seconds per epoch (one pass over the
//    training edges, validation excluded), timed after warm-up steps;
//  - a synthetic bipartite graph of 1M interactions: seconds per training
//    step at each --batch (every step propagates over the whole graph, so an
//    epoch costs ~edges/batch full propagations: batch 1024 is ~1,000 of
//    them, 32,768 ~31; the tuned ML-100K LightGCN and sheaf configs take
//    10 steps per epoch: 39k training edges at batch 4096), the epoch time
//    extrapolated from it, and the process's peak RSS;
//  - on the same synthetic graph, batch and step count, the PyTorch peer
//    (bench/peers/graph_train.py: LightGCN with torch.sparse.mm and Adam,
//    MF-BPR with SparseAdam, or Adam with --peer-emb dense), once per
//    --peer-threads count, and the ratio fastest peer s/epoch ÷ our s/epoch
//    (> 1: ours is faster). Our MF-BPR steps with a lazy Adam (only the
//    batch's rows), which is what SparseAdam does; our LightGCN and the
//    peer's use dense Adam (every row gets a gradient).
//  - the sheaf (scalar maps) epoch as a multiple of LightGCN's on the same
//    graph and batch (issue 20: ≤ 2×), and whether the native kernels it
//    needs loaded (models/graph/native-spmm.ts).
//  - with --learn-epochs N (synthetic graph only): N whole epochs, timed, with
//    validation NDCG@20 after each on one held-out interaction of each of
//    --val-users users (full ranking over all items): issue 20's "trains an
//    epoch of 10M interactions in ≤ 15 min, ≤ 8 GB, and learns". The graph
//    has communities (a user draws 60% of its items from its community's
//    Zipf list), so there is more to learn than popularity.
//  - --lr X replaces the config's learning rate (Adam) on the synthetic graph:
//    the configs' rates were chosen on ML-100K at batch 4096 (ten steps an
//    epoch), where a 10M-interaction epoch at batch 262,144 is 39 steps.
// Each (model, graph) runs in a child process of its own so RSS is that run's
// alone; the synthetic interactions are drawn once and handed to our workers
// and the peer as a file of int32 (user, item) pairs, so all train on one graph.
//
//   npm run bench -- graph-train [--models mf-bpr,lightgcn,sheaf-scalar,sheaf-matrix] [--paper]
//                                [--interactions 1000000] [--users 60000] [--items 30000] [--steps 5] [--warmup 2]
//                                [--batch 1024,32768] [--no-peer] [--peer-threads 1,2] [--peer-sparse csr|coo]
//                                [--peer-emb sparse|dense] [--no-ml100k] [--learn-epochs N] [--val-users 1000] [--lr X]
//   10M interactions: --models lightgcn --no-ml100k --no-peer --interactions 10000000 --users 1000000
//                     --items 1000000 --batch 262144 --learn-epochs 4 [--lr X]
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRng, cumulative, sampleCumulative } from '../features/math/rng.js';
import { loadMovieLens } from '../features/datasets/movielens.js';
import { movieLensCf } from '../features/datasets/movielens-cf.js';
import { buildBipartiteGraph, type BipartiteGraph } from '../models/graph/bipartite-graph.js';
import { createGraphModel } from '../models/graph/create-graph-model.js';
import { GRAPH_MODEL_TYPES, type GraphModelType } from '../models/graph/graph-config.js';
import { sampleEpochTriples } from '../models/graph/negative-sampling.js';
import { nativeKernelStatus } from '../models/graph/native-spmm.js';
import { createOptimizers, trainGraphModel, trainStep } from '../models/graph/train-graph.js';
import type { CfInteractions } from '../features/datasets/movielens-cf.js';
import { cfConfigFile, loadCfConfig } from '../pipelines/training/cf-config.js';
import { PEER_MISSING, peerPython, quantile, round, runJsonChild, spawnWorker, withLoad } from './lib/harness.js';

const { values: flags } = parseArgs({
  options: {
    models: { type: 'string', default: GRAPH_MODEL_TYPES.join(',') },
    paper: { type: 'boolean', default: false },
    interactions: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '60000' },
    items: { type: 'string', default: '30000' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    /** Synthetic graph only, comma-separated: each batch size is a run of its own (ML-100K uses the config's). */
    batch: { type: 'string', default: '1024,32768' },
    worker: { type: 'boolean', default: false },
    graph: { type: 'string', default: 'ml100k' },
    config: { type: 'string' },
    model: { type: 'string' },
    'graph-file': { type: 'string' },
    'no-peer': { type: 'boolean', default: false },
    /** Comma-separated; the peer runs once per count and the ratio is against its fastest run (on the loaded 2-core machine, OpenMP's 2 threads often lose to 1). */
    'peer-threads': { type: 'string', default: '1,2' },
    'peer-sparse': { type: 'string', default: 'csr' },
    /** The peer's MF-BPR optimizer: SparseAdam (sparse, like our lazy Adam) or Adam over the whole table (dense). */
    'peer-emb': { type: 'string', default: 'sparse' },
    'no-ml100k': { type: 'boolean', default: false },
    'learn-epochs': { type: 'string', default: '0' },
    'val-users': { type: 'string', default: '1000' },
    /** Synthetic graph only: the learning rate instead of the config's (also the peer's). */
    lr: { type: 'string' },
  },
});

/** The models the PyTorch peer implements. */
const PEER_MODELS: readonly GraphModelType[] = ['mf-bpr', 'lightgcn'];

interface WorkerResult {
  model: string;
  config: string;
  graph: string;
  nodes: number;
  edges: number;
  layers: number;
  batch: number;
  steps_per_epoch: number;
  seconds_per_step: number;
  /** Median step: on the shared machine a co-tenant's burst moves the mean far more than the median. */
  seconds_per_step_p50: number;
  seconds_per_epoch: number;
  /** true when the epoch time is steps × measured step time rather than a timed epoch. */
  extrapolated: boolean;
  rss_peak_mb: number;
  /** Adam's learning rate (the config's, or --lr). */
  learning_rate: number;
  /** --learn-epochs: each epoch's measured time, loss and validation NDCG@20. */
  learning?: { epoch: number; seconds: number; train_loss: number; ndcg20: number; recall20: number }[];
  validation_users?: number;
}

const COMMUNITIES = 50;
const IN_COMMUNITY = 0.6;

/**
 * Users drawn uniformly; items Zipf(0.8)-popular, 60% of the draws from the
 * user's community (user mod 50: items whose popularity rank is that modulo
 * 50, Zipf within) and the rest from all items; distinct pairs until
 * `interactions`, as int32 (user, item) pairs.
 */
function syntheticInteractions(users: number, items: number, interactions: number): Int32Array {
  const rng = createRng(42);
  const cdf = cumulative(Float64Array.from({ length: items }, (_, r) => 1 / (r + 1) ** 0.8));
  const perCommunity = Math.ceil(items / COMMUNITIES);
  const communityCdf = cumulative(Float64Array.from({ length: perCommunity }, (_, r) => 1 / (r + 1) ** 0.8));
  const seen = new Set<number>();
  const us = new Int32Array(interactions);
  const is = new Int32Array(interactions);
  let n = 0;
  while (n < interactions) {
    const u = rng.int(users);
    const i = rng.next() < IN_COMMUNITY ? sampleCumulative(communityCdf, rng.next()) * COMMUNITIES + (u % COMMUNITIES) : sampleCumulative(cdf, rng.next());
    if (i >= items) continue;
    const key = u * items + i;
    if (seen.has(key)) continue;
    seen.add(key);
    us[n] = u; is[n] = i; n++;
  }
  const pairs = new Int32Array(2 * interactions);
  for (let k = 0; k < interactions; k++) { pairs[2 * k] = us[k]!; pairs[2 * k + 1] = is[k]!; }
  return pairs;
}

/** The interactions file as a graph, less one interaction of each of `holdOut` random users with ≥ 2 (the validation set). */
function readInteractions(file: string, users: number, items: number, holdOut = 0): { graph: BipartiteGraph; validation: CfInteractions } {
  const bytes = readFileSync(file);
  const pairs = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const n = pairs.length / 2;
  const count = new Int32Array(users);
  for (let k = 0; k < n; k++) count[pairs[2 * k]!]!++;
  const rng = createRng(7);
  const chosen = new Uint8Array(users);
  let wanted = Math.min(holdOut, count.reduce((c, x) => c + (x >= 2 ? 1 : 0), 0));
  while (wanted > 0) {
    const u = rng.int(users);
    if (count[u]! >= 2 && !chosen[u]) { chosen[u] = 1; wanted--; }
  }
  const us = new Int32Array(n);
  const is = new Int32Array(n);
  const valUsers: number[] = [];
  const valItems: number[] = [];
  let m = 0;
  for (let k = 0; k < n; k++) {
    const u = pairs[2 * k]!, i = pairs[2 * k + 1]!;
    // The user's first interaction in the file is held out (the file's order is the draw's: random).
    if (chosen[u] === 1) { chosen[u] = 2; valUsers.push(u); valItems.push(i); continue; }
    us[m] = u; is[m] = i; m++;
  }
  return { graph: buildBipartiteGraph(users, items, us.subarray(0, m), is.subarray(0, m)), validation: { users: Int32Array.from(valUsers), items: Int32Array.from(valItems) } };
}

/** The model config, with --lr's learning rate on the synthetic graph. */
function benchConfig(file: string, graph: string): ReturnType<typeof loadCfConfig> {
  const config = loadCfConfig(file);
  return flags.lr === undefined || graph === 'ml100k' ? config : { ...config, training: { ...config.training, learningRate: Number(flags.lr) } };
}

async function worker(): Promise<WorkerResult> {
  const type = flags.model as GraphModelType;
  const config = benchConfig(flags.config!, flags.graph!);
  const batch = flags.graph === 'ml100k' ? config.training.batchSize : Number(flags.batch);
  // Before the timed steps' graph is read: learn() reads its own (with the held-out interactions), and a second copy would count in its peak RSS.
  if (Number(flags['learn-epochs']) > 0 && flags.graph !== 'ml100k') return learn(type, config, batch);
  let graph: BipartiteGraph;
  if (flags.graph === 'ml100k') {
    const split = movieLensCf(await loadMovieLens());
    graph = buildBipartiteGraph(split.userIds.length, split.itemIds.length, split.train.users, split.train.items);
  } else {
    graph = readInteractions(flags['graph-file']!, Number(flags.users), Number(flags.items)).graph;
  }
  const model = createGraphModel({ ...config.model, type }, graph);
  const optimizer = createOptimizers(config.training.learningRate, config.training.layerLearningRate);
  const triples = sampleEpochTriples(graph, createRng(1));
  const stepsPerEpoch = Math.ceil(graph.numEdges / batch);
  const step = (k: number) => {
    const start = (k % stepsPerEpoch) * batch;
    const end = Math.min(graph.numEdges, start + batch);
    const loss = trainStep(model, optimizer, triples.users.subarray(start, end), triples.positives.subarray(start, end), triples.negatives.subarray(start, end), config.training.decay);
    loss.dataSync();
    loss.dispose();
  };
  const warmup = Number(flags.warmup);
  for (let k = 0; k < warmup; k++) step(k);
  // On ML-100K a whole epoch is timed; on the big graph a few steps, extrapolated.
  const timed = flags.graph === 'ml100k' ? stepsPerEpoch : Number(flags.steps);
  const stepSeconds: number[] = [];
  for (let k = 0; k < timed; k++) {
    const t0 = performance.now();
    step(warmup + k);
    stepSeconds.push((performance.now() - t0) / 1000);
  }
  const secondsPerStep = stepSeconds.reduce((a, b) => a + b, 0) / timed;
  const result: WorkerResult = {
    model: type, config: flags.config!.split('/').pop()!, graph: flags.graph!, nodes: graph.numNodes, edges: graph.numEdges,
    layers: type === 'mf-bpr' ? 0 : config.model.layers, batch, steps_per_epoch: stepsPerEpoch,
    seconds_per_step: secondsPerStep, seconds_per_step_p50: quantile(stepSeconds.sort((a, b) => a - b), 0.5), seconds_per_epoch: secondsPerStep * stepsPerEpoch,
    extrapolated: timed < stepsPerEpoch, rss_peak_mb: process.resourceUsage().maxRSS / 1024, learning_rate: config.training.learningRate,
  };
  model.dispose();
  optimizer.embedding.dispose();
  optimizer.layers?.dispose();
  return result;
}

/** --learn-epochs: whole epochs on the synthetic graph, validation NDCG@20 after each (trainGraphModel, as `recsys train-cf` trains). */
function learn(type: GraphModelType, config: ReturnType<typeof loadCfConfig>, batch: number): WorkerResult {
  const { graph, validation } = readInteractions(flags['graph-file']!, Number(flags.users), Number(flags.items), Number(flags['val-users']));
  const model = createGraphModel({ ...config.model, type }, graph);
  const epochs = Number(flags['learn-epochs']);
  const result = trainGraphModel(model, graph, validation, {
    ...config.training, epochs, batchSize: batch, evalEvery: 1, patience: epochs, minEpochs: 1, k: 20,
    onEpoch: (e) => console.error(`  ${type} epoch ${e.epoch}: ${e.seconds.toFixed(1)} s, loss ${e.trainLoss.toFixed(4)}, validation NDCG@20 ${e.validation?.['ndcg@20']?.toFixed(4)}, RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB`),
  });
  model.dispose();
  const seconds = result.epochs.reduce((a, e) => a + e.seconds, 0) / result.epochs.length;
  const stepsPerEpoch = Math.ceil(graph.numEdges / batch);
  return {
    model: type, config: flags.config!.split('/').pop()!, graph: flags.graph!, nodes: graph.numNodes, edges: graph.numEdges,
    layers: type === 'mf-bpr' ? 0 : config.model.layers, batch, steps_per_epoch: stepsPerEpoch,
    seconds_per_step: seconds / stepsPerEpoch, seconds_per_step_p50: seconds / stepsPerEpoch, seconds_per_epoch: seconds, extrapolated: false,
    rss_peak_mb: process.resourceUsage().maxRSS / 1024, learning_rate: config.training.learningRate, validation_users: validation.users.length,
    learning: result.epochs.map((e) => ({ epoch: e.epoch, seconds: round(e.seconds, 1), train_loss: round(e.trainLoss, 5), ndcg20: round(e.validation?.['ndcg@20'] ?? NaN, 5), recall20: round(e.validation?.['recall@20'] ?? NaN, 5) })),
  };
}

interface PeerResult {
  model: string;
  /** The peer's embedding optimizer: dense (Adam) or sparse (SparseAdam). */
  emb: string;
  torch: string;
  threads: number;
  batch: number;
  edges: number;
  steps_per_epoch: number;
  seconds_per_step: number;
  seconds_per_epoch: number;
  ms_per_step_p50: number;
  rss_peak_mb: number;
  loss_first: number;
  loss_last: number;
}

/** The PyTorch peer on the same interactions file, batch and step counts, with the model config's hyper-parameters. */
function runPeer(model: GraphModelType, configFile: string, graphFile: string, batch: number, threads: string): PeerResult | null {
  const { model: m, training } = benchConfig(configFile, 'synthetic');
  const runner = fileURLToPath(new URL('./peers/run.sh', import.meta.url));
  const args = [runner, 'graph_train.py', '--model', model, '--graph-file', graphFile, '--users', flags.users, '--items', flags.items,
    '--batch', String(batch), '--dim', String(m.dim), '--layers', String(m.layers), '--init-std', String(m.initStd),
    '--lr', String(training.learningRate), '--decay', String(training.decay),
    '--steps', flags.steps, '--warmup', flags.warmup, '--threads', threads, '--sparse', flags['peer-sparse'],
    ...(model === 'mf-bpr' ? ['--emb', flags['peer-emb']] : [])];
  return runJsonChild<PeerResult>('bash', args, `peer (${model}); \`bash bench/peers/install.sh\` installs it`);
}

if (flags.worker) {
  console.log(JSON.stringify(await worker()));
} else {
  const runs: { model: GraphModelType; file: string }[] = [];
  for (const model of flags.models.split(',') as GraphModelType[]) {
    runs.push({ model, file: cfConfigFile(model) });
    if (flags.paper && existsSync(cfConfigFile(model, 'paper'))) runs.push({ model, file: cfConfigFile(model, 'paper') });
  }
  const users = Number(flags.users);
  const items = Number(flags.items);
  const scratch = mkdtempSync(path.join(tmpdir(), 'graph-train-'));
  const graphFile = path.join(scratch, 'interactions.i32');
  writeFileSync(graphFile, syntheticInteractions(users, items, Number(flags.interactions)));
  // Without the native kernels the sheaf (scalar maps) falls back to TensorFlow ops, several times slower: say so up front.
  const native = nativeKernelStatus();
  console.log(`native sparse kernels (sheaf, scalar maps): ${native.available ? 'loaded' : `unavailable (${native.reason}); the sheaf runs on TensorFlow ops`}`);
  const withPeer = !flags['no-peer'] && (peerPython() !== null || (console.log(PEER_MISSING), false));
  if (flags.lr !== undefined && !(Number(flags.lr) > 0)) throw new Error(`--lr takes a positive number, got ${flags.lr}`);
  const results: (WorkerResult & { load: [number, number]; peer?: PeerResult & { load: [number, number] }; ratio?: number; ratio_p50?: number; peer_runs?: (PeerResult & { load: [number, number] })[] })[] = [];
  try {
    if (!['sparse', 'dense'].includes(flags['peer-emb'])) throw new Error(`--peer-emb takes sparse or dense, got ${flags['peer-emb']}`);
    const batches = flags.batch.split(',').map(Number);
    if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batch takes positive integers, got ${flags.batch}`);
    const plan = [
      ...(flags['no-ml100k'] ? [] : runs.map((run) => ({ graph: 'ml100k', run, batch: 0 }))),
      ...batches.flatMap((batch) => runs.map((run) => ({ graph: 'synthetic', run, batch }))),
    ];
    for (const { graph, run, batch } of plan) {
      const args = ['--graph', graph, '--model', run.model, '--config', run.file, '--graph-file', graphFile,
        '--interactions', flags.interactions, '--users', flags.users, '--items', flags.items, '--steps', flags.steps, '--warmup', flags.warmup, '--batch', String(batch),
        '--learn-epochs', flags['learn-epochs'], '--val-users', flags['val-users'], ...(flags.lr !== undefined ? ['--lr', flags.lr] : [])];
      const r = withLoad(() => spawnWorker<WorkerResult>(import.meta.url, args, `${run.model} on ${graph}`));
      if (!r) continue;
      console.log(`${graph.padEnd(9)} ${r.config.padEnd(28)} ${String(r.nodes).padStart(7)} nodes ${String(r.edges).padStart(8)} edges  batch ${r.batch}  lr ${r.learning_rate}  ${(r.seconds_per_step * 1000).toFixed(1)} ms/step  ${r.seconds_per_epoch.toFixed(2)} s/epoch${r.extrapolated ? ' (extrapolated)' : ''}  RSS peak ${r.rss_peak_mb.toFixed(0)} MB  load ${r.load.join('→')}`);
      if (r.learning) console.log(`${''.padEnd(9)} validation NDCG@20 by epoch (${r.validation_users} users): ${r.learning.map((e) => e.ndcg20).join(' → ')}`);
      const peerRuns = graph === 'synthetic' && withPeer && PEER_MODELS.includes(run.model) && Number(flags['learn-epochs']) === 0
        ? flags['peer-threads'].split(',').map((threads) => withLoad(() => runPeer(run.model, run.file, graphFile, batch, threads))).filter((p) => p !== null)
        : [];
      for (const p of peerRuns) {
        console.log(`${''.padEnd(9)} ${`torch peer (${p.emb}, ${p.threads} thr)`.padEnd(28)} ${''.padStart(7)}       ${String(p.edges).padStart(8)} edges  batch ${p.batch}  ${(p.seconds_per_step * 1000).toFixed(1)} ms/step  ${p.seconds_per_epoch.toFixed(2)} s/epoch (extrapolated)  RSS peak ${p.rss_peak_mb.toFixed(0)} MB  load ${p.load.join('→')}`);
      }
      const peer = peerRuns.reduce<(typeof peerRuns)[number] | null>((best, p) => (!best || p.seconds_per_epoch < best.seconds_per_epoch ? p : best), null);
      if (peer) {
        const ratio = round(peer.seconds_per_epoch / r.seconds_per_epoch, 2);
        const ratioP50 = round(peer.ms_per_step_p50 / 1000 / r.seconds_per_step_p50, 2);
        console.log(`${''.padEnd(9)} ours ${ratio}× the fastest peer (${peer.threads} threads), ${ratioP50}× by median step`);
        results.push({ ...r, peer, ratio, ratio_p50: ratioP50, peer_runs: peerRuns });
      } else {
        results.push(r);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  // Issue 20's sheaf target is relative to LightGCN on the same graph and batch: the two runs' ratio.
  const sheafVsLightGcn: { graph: string; batch: number; ratio: number }[] = [];
  for (const r of results) {
    const lightGcn = r.model === 'sheaf-scalar' && results.find((l) => l.model === 'lightgcn' && l.graph === r.graph && l.batch === r.batch && l.config === 'ml100k-lightgcn.json');
    if (!lightGcn || !r.config.startsWith('ml100k-sheaf-scalar.json')) continue;
    const ratio = round(r.seconds_per_epoch / lightGcn.seconds_per_epoch, 2);
    sheafVsLightGcn.push({ graph: r.graph, batch: r.batch, ratio });
    console.log(`${r.graph.padEnd(9)} sheaf (scalar) = ${ratio}× LightGCN's epoch at batch ${r.batch} (${round(r.seconds_per_step_p50 / lightGcn.seconds_per_step_p50, 2)}× by median step)`);
  }
  console.log(JSON.stringify({ bench: 'graph-train', results, sheaf_vs_lightgcn: sheafVsLightGcn }));
}
